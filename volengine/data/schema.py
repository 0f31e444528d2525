"""Canonical table schemas: every column name, dtype and unit is spelled here, and only here.

Each table has a polars schema constant, its key columns, and one validation function used by every writer
(importers, the synthetic market, provider adapters). Validation casts safe dtype differences (e.g. Int64 to
Float64, String to Categorical), then checks the domain; on failure it raises
:class:`~volengine.errors.DataError` naming the source, column, first bad row and value, and how many rows
fail the same rule.

Units: prices and strikes in dollars per share (points); rates and yields continuously compounded decimals
per year; IVs decimals (0.20 = 20 %); dates are US/Eastern exchange dates; timestamps are
``Datetime("ns", "America/New_York")``. Vendor IVs and Greeks are kept under ``vendor_*`` names and never
trusted over our own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from volengine.errors import DataError, SchemaError

ET = "America/New_York"
Right = pl.Enum(["C", "P"])
ExerciseStyle = pl.Enum(["american", "european"])
SettlementTime = pl.Enum(["AM", "PM"])
OpenInterestAsOf = pl.Enum(["prev_night", "start_of_day", "eod"])
EventKind = pl.Enum(["earnings", "FOMC", "CPI", "NFP", "GDP", "other"])
EventTiming = pl.Enum(["before_open", "during", "after_close", "unknown"])
#: the ``underlying`` value of market-wide events (FOMC, CPI, ...)
MARKET_WIDE = "ALL"

OPTION_QUOTES: dict[str, Any] = {
    "date": pl.Date,  # quote (trade) date, ET
    "quote_time": pl.Datetime("ns", ET),  # snapshot time the quote refers to (nullable)
    "underlying": pl.Categorical,  # symbol without vendor prefixes (^SPX -> SPX)
    "root": pl.Categorical,  # trading class / OSI root (SPX vs SPXW)
    "expiration": pl.Date,
    "strike": pl.Float64,  # dollars
    "right": Right,
    "style": ExerciseStyle,
    "settlement": SettlementTime,
    "multiplier": pl.Int32,  # shares per contract
    "occ_symbol": pl.String,  # normalised unpadded OSI: ROOT + YYMMDD + C/P + strike*1000 (8 digits)
    "bid": pl.Float64,
    "ask": pl.Float64,
    "last": pl.Float64,  # nullable
    "bid_size": pl.Int64,  # contracts, nullable
    "ask_size": pl.Int64,
    "volume": pl.Int64,  # contracts traded that day, nullable
    "open_interest": pl.Int64,  # contracts, null when the source has none (never 0-filled)
    "oi_asof": OpenInterestAsOf,  # nullable
    "underlying_price": pl.Float64,  # at quote_time, nullable
    "vendor_iv": pl.Float64,
    "vendor_delta": pl.Float64,
    "vendor_gamma": pl.Float64,
    "vendor_theta": pl.Float64,
    "vendor_vega": pl.Float64,
    "vendor_rho": pl.Float64,
    "nonstandard": pl.Boolean,  # non-standard deliverable (exclude from gamma work)
    "snapshot": pl.Categorical,  # eod_1600, cboe_1545, cboe_eod, near_eod, day_agg, live, synthetic
    "source": pl.Categorical,  # adapter id
}

BARS: dict[str, Any] = {
    "date": pl.Date,
    "underlying": pl.Categorical,
    "open": pl.Float64,  # unadjusted
    "high": pl.Float64,
    "low": pl.Float64,
    "close": pl.Float64,
    "volume": pl.Float64,  # shares (float: vendors deliver fractional / very large values)
    "adj_close": pl.Float64,  # split/dividend adjusted close, for returns
}

VOL_INDEX: dict[str, Any] = {
    "date": pl.Date,
    "symbol": pl.Categorical,  # VIX, VXN, RVX, or a per-underlying synthetic index
    "open": pl.Float64,  # index points (vol percent), nullable
    "high": pl.Float64,
    "low": pl.Float64,
    "close": pl.Float64,
}

EVENTS: dict[str, Any] = {
    "date": pl.Date,  # event date (ET)
    "underlying": pl.Categorical,  # symbol, or MARKET_WIDE
    "kind": EventKind,
    "timing": EventTiming,
    "description": pl.String,
}

RATES: dict[str, Any] = {
    "date": pl.Date,
    "tenor_days": pl.Int32,  # calendar days
    "rate": pl.Float64,  # continuously compounded, decimal per year
}

DIVIDENDS: dict[str, Any] = {
    "ex_date": pl.Date,
    "underlying": pl.Categorical,
    "amount": pl.Float64,  # dollars per share, discrete cash dividend
}


QUARANTINE: dict[str, Any] = {
    **OPTION_QUOTES,
    "reject_reason": pl.String,  # the first rule the row broke
    "source_file": pl.String,  # file (or adapter) the row came from
    "source_row": pl.Int64,  # 1-based line in that file (header = line 1; JSON: position in the results list)
}


@dataclass(frozen=True)
class TableSpec:
    """A canonical table: its schema, key, required (non-null) columns and partitioning date column."""

    name: str
    schema: Mapping[str, Any]
    key: tuple[str, ...]
    required: tuple[str, ...]
    date_column: str


TABLES: dict[str, TableSpec] = {
    "option_quotes": TableSpec(
        "option_quotes",
        OPTION_QUOTES,
        key=("date", "underlying", "root", "expiration", "strike", "right", "snapshot"),
        required=("date", "underlying", "root", "expiration", "strike", "right", "style", "settlement"),
        date_column="date",
    ),
    "bars": TableSpec("bars", BARS, ("date", "underlying"), ("date", "underlying", "close"), "date"),
    "vol_index": TableSpec("vol_index", VOL_INDEX, ("date", "symbol"), ("date", "symbol", "close"), "date"),
    "events": TableSpec(
        "events", EVENTS, ("date", "underlying", "kind"), ("date", "underlying", "kind", "timing"), "date"
    ),
    "rates": TableSpec("rates", RATES, ("date", "tenor_days"), ("date", "tenor_days", "rate"), "date"),
    "quarantine": TableSpec(
        "quarantine",
        QUARANTINE,
        key=("source_file", "source_row", "right", "snapshot"),  # a wide vendor line yields a call and a put
        required=("reject_reason", "source_file", "source_row"),
        date_column="date",
    ),
    "dividends": TableSpec(
        "dividends", DIVIDENDS, ("ex_date", "underlying"), ("ex_date", "underlying", "amount"), "ex_date"
    ),
}


def empty(table: str) -> pl.DataFrame:
    """An empty frame with the canonical schema of ``table``."""
    return pl.DataFrame(schema=spec(table).schema)


def spec(table: str) -> TableSpec:
    """The :class:`TableSpec` of a canonical table; unknown names raise :class:`SchemaError`."""
    try:
        return TABLES[table]
    except KeyError:
        msg = f"unknown table '{table}'; known tables: {', '.join(TABLES)}"
        raise SchemaError(msg) from None


def conform(frame: pl.DataFrame, table: str, *, source: str = "<frame>") -> pl.DataFrame:
    """Select and cast ``frame`` to the canonical schema of ``table`` (missing nullable columns become null).

    Raises
    ------
    SchemaError
        A required column is missing, or a column cannot be cast to its canonical dtype.
    """
    ts = spec(table)
    missing = [c for c in ts.required if c not in frame.columns]
    if missing:
        msg = f"{source}: table '{table}' needs column(s) {', '.join(missing)}; got {', '.join(frame.columns)}"
        raise SchemaError(msg, path=source, column=missing[0])
    exprs = []
    for name, dtype in ts.schema.items():
        if name not in frame.columns:
            exprs.append(pl.lit(None, dtype=dtype).alias(name))
        elif frame.schema[name] == dtype:
            exprs.append(pl.col(name))
        elif (
            isinstance(dtype, pl.Datetime)
            and isinstance(frame.schema[name], pl.Datetime)
            and frame.schema[name].time_zone is None
        ):
            # a naive timestamp is exchange wall-clock time: attach ET, don't convert as if it were UTC
            exprs.append(pl.col(name).dt.cast_time_unit(dtype.time_unit).dt.replace_time_zone(dtype.time_zone))
        else:
            exprs.append(pl.col(name).cast(dtype, strict=True))
    try:
        return frame.select(exprs)
    except (pl.exceptions.InvalidOperationError, pl.exceptions.ComputeError) as exc:
        bad = _first_uncastable(frame, ts)
        msg = f"{source}: column '{bad[0]}' cannot be read as {ts.schema[bad[0]]}; got {bad[2]!r} at row {bad[1]}"
        raise SchemaError(msg, path=source, column=bad[0], row=bad[1], value=bad[2]) from exc


def _first_uncastable(frame: pl.DataFrame, ts: TableSpec) -> tuple[str, int | None, Any]:
    for name, dtype in ts.schema.items():
        if name not in frame.columns or frame.schema[name] == dtype:
            continue
        cast = frame.select(pl.col(name).cast(dtype, strict=False)).to_series()
        bad = frame[name].is_not_null() & cast.is_null()
        if bad.any():
            row = int(bad.arg_true()[0])
            return name, row, frame[name][row]
    return next(iter(ts.schema)), None, None


def _domain_rules(table: str) -> list[tuple[str, str, pl.Expr]]:
    """(column, constraint text, expression true on BAD rows) for the domain checks of a table."""
    c = pl.col
    price_cols = {"option_quotes": ("bid", "ask", "last"), "bars": ("open", "high", "low", "close")}
    rules: list[tuple[str, str, pl.Expr]] = []
    for col in price_cols.get(table, ()):
        rules.append((col, "must be >= 0 and finite", (c(col) < 0) | c(col).is_infinite() | c(col).is_nan()))
    if table == "option_quotes":
        rules += [
            ("strike", "must be > 0 and finite", (c("strike") <= 0) | ~c("strike").is_finite()),
            ("ask", "must be >= 'bid' (crossed quote)", c("ask") < c("bid")),
            ("expiration", "must be on or after 'date'", c("expiration") < c("date")),
            ("multiplier", "must be > 0", c("multiplier") <= 0),
            ("underlying_price", "must be > 0", c("underlying_price") <= 0),
            ("open_interest", "must be >= 0", c("open_interest") < 0),
            ("volume", "must be >= 0", c("volume") < 0),
        ]
    elif table == "bars":
        rules += [
            ("high", "must be >= max(open, close, low)", c("high") < pl.max_horizontal("open", "close", "low")),
            ("low", "must be <= min(open, close)", c("low") > pl.min_horizontal("open", "close")),
            ("close", "must be > 0", c("close") <= 0),
        ]
    elif table == "vol_index":
        rules.append(("close", "must be > 0", c("close") <= 0))
    elif table == "rates":
        rules.append(("rate", "must be finite and within [-0.2, 1.0]", ~c("rate").is_between(-0.2, 1.0)))
    elif table == "dividends":
        rules.append(("amount", "must be >= 0", c("amount") < 0))
    return rules


def validate(frame: pl.DataFrame, table: str, *, source: str = "<frame>") -> pl.DataFrame:
    """Conform ``frame`` to ``table``'s schema and check its domain; return the conformed frame.

    Checks: required columns non-null, prices non-negative and finite, strike > 0, bid <= ask,
    expiration >= date, bars consistent (low <= open, close <= high), positive closes, unique keys.

    Raises
    ------
    SchemaError
        Missing or uncastable columns.
    DataError
        A domain rule fails; the message names the source, column, first bad row, its value and the count.
    """
    out = conform(frame, table, source=source)
    ts = spec(table)
    for col in ts.required:
        nulls = out[col].is_null()
        if nulls.any():
            _raise(out, source, col, f"column '{col}' must not be null", nulls, table)
    for col, text, bad_expr in _domain_rules(table):
        bad = out.select(bad_expr.fill_null(False)).to_series()
        if bad.any():
            _raise(out, source, col, f"column '{col}' {text}", bad, table)
    dup = out.select(pl.struct(list(ts.key)).is_duplicated()).to_series()
    if dup.any():
        _raise(out, source, ts.key[0], f"key ({', '.join(ts.key)}) must be unique", dup, table)
    return out


def _raise(out: pl.DataFrame, source: str, col: str, text: str, bad: pl.Series, table: str) -> None:
    row = int(bad.arg_true()[0])
    value = out[col][row]
    context = _row_context(out, row, table)
    msg = f"{source}: {text}; got {value!r} at row {row}{context} ({int(bad.sum())} row(s) fail this rule)"
    raise DataError(msg, path=source, column=col, row=row, value=value)


def _row_context(out: pl.DataFrame, row: int, table: str) -> str:
    if table != "option_quotes":
        return ""
    r = out.row(row, named=True)
    return f" ({r['underlying']} {r['date']} exp {r['expiration']} {r['strike']:g} {r['right']})"


def split_invalid(frame: pl.DataFrame, table: str, *, source: str = "<frame>") -> tuple[pl.DataFrame, pl.DataFrame]:
    """Conform ``frame`` and separate the rows that break a domain rule instead of raising.

    Returns ``(valid, rejected)``: ``rejected`` has the canonical columns plus ``reject_reason`` (the first
    rule a row breaks, e.g. "column 'ask' must be >= 'bid' (crossed quote)") and ``source_row`` (0-based row
    in ``frame``). Structural problems (missing or uncastable columns) still raise :class:`SchemaError`;
    rows are never dropped silently. Duplicate keys keep their first occurrence.
    """
    out = conform(frame, table, source=source).with_row_index("source_row")
    ts = spec(table)
    reason = pl.lit(None, dtype=pl.String)
    checks = [(col, f"column '{col}' must not be null", pl.col(col).is_null()) for col in ts.required]
    checks += [(col, f"column '{col}' {text}", bad.fill_null(False)) for col, text, bad in _domain_rules(table)]
    checks.append((ts.key[0], f"key ({', '.join(ts.key)}) is a duplicate", _later_duplicates(out, ts.key)))
    for _, text, bad in reversed(checks):
        reason = pl.when(bad).then(pl.lit(text)).otherwise(reason)
    tagged = out.with_columns(reason.alias("reject_reason"))
    valid = tagged.filter(pl.col("reject_reason").is_null()).drop("reject_reason", "source_row")
    rejected = tagged.filter(pl.col("reject_reason").is_not_null())
    return valid, rejected


def _later_duplicates(frame: pl.DataFrame, key: tuple[str, ...]) -> pl.Expr:
    """True on every row whose key appeared on an earlier row.

    Equal keys have equal 64-bit hashes (one per column, seeded by position, xor-ed), so when the sorted hashes
    hold no repeat there is no duplicate; the exact (row-encoded) comparison runs only when two rows share a
    hash, i.e. when the batch really holds a duplicate (or, rarely, a collision). ~6x cheaper than the exact
    check on a clean batch.
    """
    if frame.height < 2:
        return pl.lit(False)
    h = pl.col(key[0]).hash(seed=0)
    for i, name in enumerate(key[1:], start=1):
        h = h ^ pl.col(name).hash(seed=i)
    hashes = frame.select(h.sort().alias("h"))
    if not hashes.select((pl.col("h") == pl.col("h").shift(1)).any()).item():
        return pl.lit(False)
    return pl.struct(list(key)).is_first_distinct().not_()
