"""Polygon.io / Massive options: flat-file day aggregates (``.csv.gz``) and the REST chain snapshot (``.json``).

Day aggregates (data-formats §3.4), snapshot ``day_agg``:

=================================  =========================================================================
canonical                          Polygon day aggregate
=================================  =========================================================================
root, expiration, right, strike    parsed from ``ticker`` (``O:SPY230327P00390000``); strike = digits / 1000
underlying                         from the root (``SPXW`` -> ``SPX``, ``GOOG1`` -> ``GOOG``)
date                               ``window_start`` (Unix **ns**) in ET
quote_time                         the session close of ``date`` (calendar convention for ``day_agg``)
last, volume                       ``close`` (a trade, not a quote), ``volume``
bid, ask, sizes, OI, IV, Greeks,   null: day aggregates have none (``open``/``high``/``low``/``transactions``
underlying_price                   have no canonical column)
=================================  =========================================================================

**Bid and ask are null** for day aggregates: the canonical ``bid``/``ask`` are nullable and a trade price must
not pose as a quote; use ``last`` knowingly, or join quotes from ``quotes_v1``.

REST chain snapshot (§3.5), a saved response ``{"results": [...]}`` (or a list of such pages, or a bare list of
results), snapshot ``live``: ``details`` gives ticker, expiration, strike, contract type, exercise style and
``shares_per_contract`` (multiplier); ``last_quote`` bid/ask/sizes and ``last_updated`` (ns: the quote time and
date); ``last_trade.price`` -> last; ``day.volume``; ``implied_volatility``; ``greeks`` (no rho);
``open_interest`` (``prev_night``: OCC's count after the previous session); ``underlying_asset.price``
(``value`` for indices). ``source_row`` is the 1-based position in the results.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import polars as pl

from volengine.data import schema
from volengine.data.importers._common import (
    BAD,
    LINE,
    Field,
    Importer,
    ImportOptions,
    ReadStats,
    Source,
    add_bad,
    csv_batches,
    finish,
    occ_parts,
    occ_symbol,
    problem,
    read_header,
    require_columns,
    settlement_expr,
    style_expr,
    underlying_from_root,
    whole,
    with_quote_time,
)
from volengine.errors import DataError

NAME = "polygon"
DAY_AGGS = ("ticker", "volume", "open", "close", "high", "low", "window_start", "transactions")
_REQUIRED = DAY_AGGS


def read(src: Source, options: ImportOptions, stats: ReadStats) -> Iterator[pl.DataFrame]:
    """Canonical batches of a day-aggregate CSV, or of a saved REST chain snapshot (JSON)."""
    if src.kind == "json":
        yield from _read_snapshot(src, options, stats)
        return
    header = read_header(src)
    require_columns(src, NAME, header, _REQUIRED, "flat-file day aggregates")
    fields = {
        "ticker": Field(pl.String),
        "volume": Field(pl.Float64),
        "close": Field(pl.Float64),
        "window_start": Field(pl.Int64, is_required=True),
    }
    # the last column is always filled: a line without it was cut short
    batches = csv_batches(src, fields, batch_rows=options.batch_rows, stats=stats, complete="transactions")
    stats.notes.append("day aggregates carry trades, not quotes: bid/ask are null, last = the day's close")
    for raw in batches:
        yield day_aggs_to_canonical(raw)


def _from_ticker(frame: pl.DataFrame, ticker: str) -> pl.DataFrame:
    parts = occ_parts(pl.col(ticker))
    frame = frame.with_columns(**parts)
    frame = add_bad(
        frame,
        problem(
            pl.col(ticker).is_not_null() & pl.col("root").is_null(),
            f"column '{ticker}' is not an OCC option symbol; got ",
            pl.col(ticker),
        ),
    )
    return frame.with_columns(underlying_from_root(pl.col("root")).alias("underlying"))


def day_aggs_to_canonical(raw: pl.DataFrame) -> pl.DataFrame:
    """One batch of day aggregates -> canonical ``day_agg`` rows."""
    volume, p_volume = whole("volume")
    ts = pl.from_epoch(pl.col("window_start"), time_unit="ns").dt.replace_time_zone("UTC")
    frame = raw.select(
        LINE,
        BAD,
        "ticker",
        ts.dt.convert_time_zone(schema.ET).dt.date().alias("date"),
        pl.col("close").alias("last"),
        volume.alias("volume"),
        p_volume.alias("_p"),
    )
    frame = _from_ticker(add_bad(frame, pl.col("_p")).drop("_p"), "ticker").drop("ticker")
    frame = with_quote_time(frame, "day_agg").with_columns(style_expr(), settlement_expr(), occ_symbol())
    return finish(frame, source=NAME, snapshot="day_agg")


# ------------------------------------------------------------------------------------------- REST snapshot


def _results(src: Source) -> list[Any]:
    try:
        doc = json.loads(src.path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        msg = f"{src.name}: not valid JSON ({exc})"
        raise DataError(msg, path=src.name) from exc
    pages = doc if isinstance(doc, list) and doc and isinstance(doc[0], dict) and "results" in doc[0] else [doc]
    out: list[Any] = []
    for page in pages:
        if isinstance(page, list):
            out += page
        elif isinstance(page, dict) and isinstance(page.get("results"), list):
            out += page["results"]
        else:
            msg = (
                f"{src.name}: a Polygon chain snapshot must hold a 'results' list (the saved response of "
                "GET /v3/snapshot/options/{underlying})"
            )
            raise DataError(msg, path=src.name, column="results")
    return out


def _get(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _flatten(result: Any) -> dict[str, Any]:
    return {
        "ticker": _get(result, "details", "ticker"),
        "contract_type": _get(result, "details", "contract_type"),
        "exercise_style": _get(result, "details", "exercise_style"),
        "shares_per_contract": _get(result, "details", "shares_per_contract"),
        "bid": _get(result, "last_quote", "bid"),
        "ask": _get(result, "last_quote", "ask"),
        "bid_size": _get(result, "last_quote", "bid_size"),
        "ask_size": _get(result, "last_quote", "ask_size"),
        "quote_ns": _get(result, "last_quote", "last_updated"),
        "day_ns": _get(result, "day", "last_updated"),
        "last": _get(result, "last_trade", "price"),
        "volume": _get(result, "day", "volume"),
        "vendor_iv": _get(result, "implied_volatility"),
        "vendor_delta": _get(result, "greeks", "delta"),
        "vendor_gamma": _get(result, "greeks", "gamma"),
        "vendor_theta": _get(result, "greeks", "theta"),
        "vendor_vega": _get(result, "greeks", "vega"),
        "open_interest": _get(result, "open_interest"),
        "underlying_price": _get(result, "underlying_asset", "price") or _get(result, "underlying_asset", "value"),
        "underlying_ticker": _get(result, "underlying_asset", "ticker"),
    }


_SNAPSHOT_SCHEMA = {
    "ticker": pl.String,
    "contract_type": pl.String,
    "exercise_style": pl.String,
    "shares_per_contract": pl.Float64,
    "bid": pl.Float64,
    "ask": pl.Float64,
    "bid_size": pl.Float64,
    "ask_size": pl.Float64,
    "quote_ns": pl.Int64,
    "day_ns": pl.Int64,
    "last": pl.Float64,
    "volume": pl.Float64,
    "vendor_iv": pl.Float64,
    "vendor_delta": pl.Float64,
    "vendor_gamma": pl.Float64,
    "vendor_theta": pl.Float64,
    "vendor_vega": pl.Float64,
    "open_interest": pl.Float64,
    "underlying_price": pl.Float64,
    "underlying_ticker": pl.String,
}


def _read_snapshot(src: Source, options: ImportOptions, stats: ReadStats) -> Iterator[pl.DataFrame]:
    results = _results(src)
    stats.lines += len(results)
    for start in range(0, len(results), options.batch_rows):
        rows = [_flatten(r) for r in results[start : start + options.batch_rows]]
        try:
            raw = pl.DataFrame(rows, schema=_SNAPSHOT_SCHEMA, strict=False)
        except (TypeError, pl.exceptions.PolarsError) as exc:
            msg = f"{src.name}: results {start + 1}..{start + len(rows)} hold values of the wrong type ({exc})"
            raise DataError(msg, path=src.name) from exc
        raw = raw.with_columns(
            pl.int_range(start + 1, start + 1 + raw.height, dtype=pl.Int64).alias(LINE),
            pl.lit(None, dtype=pl.String).alias(BAD),
        )
        yield snapshot_to_canonical(raw)


def snapshot_to_canonical(raw: pl.DataFrame) -> pl.DataFrame:
    """Flattened REST snapshot results -> canonical ``live`` rows."""
    ns = pl.coalesce("quote_ns", "day_ns")
    quote_time = pl.from_epoch(ns, time_unit="ns").dt.replace_time_zone("UTC").dt.convert_time_zone(schema.ET)
    ints = {c: whole(c) for c in ("bid_size", "ask_size", "volume", "open_interest", "shares_per_contract")}
    style = pl.col("exercise_style").str.to_lowercase()
    frame = raw.with_columns(
        quote_time.alias("quote_time"),
        quote_time.dt.date().alias("date"),
        *(v[0].alias(k) for k, v in ints.items()),
        pl.when(pl.col("open_interest").is_not_null()).then(pl.lit("prev_night")).alias("oi_asof"),
        *(v[1].alias(f"_p_{k}") for k, v in ints.items()),
    )
    frame = add_bad(frame, *(pl.col(f"_p_{k}") for k in ints)).drop(*(f"_p_{k}" for k in ints))
    frame = _from_ticker(frame, "ticker")
    under = pl.col("underlying_ticker").str.strip_prefix("I:")
    frame = frame.with_columns(
        pl.coalesce(under, pl.col("underlying")).alias("underlying"),
        pl.col("shares_per_contract").cast(pl.Int32).alias("multiplier"),
    ).with_columns(
        pl.when(style.is_in(["american", "european"])).then(style).otherwise(style_expr()).alias("style"),
        settlement_expr(),
        occ_symbol(),
    )
    frame = frame.with_columns(pl.coalesce(pl.col("multiplier"), pl.lit(100, dtype=pl.Int32)).alias("multiplier"))
    return finish(frame, source=NAME, snapshot="live")


IMPORTER = Importer(
    name=NAME,
    summary="Polygon/Massive day aggregates .csv.gz (day_agg, bid/ask null) or REST chain snapshot .json (live)",
    layouts={"flat-file day aggregates": frozenset(_REQUIRED)},
    read=read,
)
