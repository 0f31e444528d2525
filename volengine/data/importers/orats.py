"""ORATS strikes: near-EOD SMV history files (39 columns, ``.zip``/``.csv``) and the Data API strikes layout.

Calls and puts sit side by side; each line becomes a call row and a put row, snapshot ``near_eod`` (data-formats
§3.7). Mapping (SMV file name / API name):

======================  ====================================================================================
canonical               ORATS
======================  ====================================================================================
date                    ``trade_date`` / ``tradeDate`` (``MM/DD/YYYY``; ``YYYY-MM-DD`` also accepted)
quote_time              the session close of ``date`` (calendar convention for ``near_eod``: ORATS snapshots
                        shortly before the close)
underlying              ``ticker``
root                    from ``cOpra``/``pOpra`` (OSI symbols) when present, else the calendar rule
                        (SPX: ``SPX`` on standard monthlies, ``SPXW`` otherwise)
expiration, strike      ``expirDate``, ``strike``
bid, ask                ``cBidPx``/``cAskPx`` (``pBidPx``/``pAskPx``) / ``callBidPrice`` ... ``putAskPrice``
bid_size, ask_size      none in SMV files / ``callBidSize`` ... ``putAskSize``
last                    null (ORATS has no last trade; ``cValue`` is a model value)
volume                  ``cVolu``/``pVolu`` / ``callVolume``/``putVolume``
open_interest, oi_asof  ``cOi``/``pOi`` / ``callOpenInterest``/``putOpenInterest``, ``prev_night`` (OCC)
vendor_iv               ``cMidIv``/``pMidIv`` / ``callMidIv``/``putMidIv``
Greeks                  ``delta, gamma, theta, vega, rho`` are the **call's**: the call row keeps them; the put
                        row gets delta - 1, the same gamma and vega, and null theta and rho (the put's differ
                        by carry terms ORATS does not deliver)
underlying_price        ``stkPx`` / ``stockPrice``
======================  ====================================================================================

The API layout is read from CSV or from a saved JSON response ``{"data": [...]}``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import polars as pl

from volengine.data.importers._common import (
    BAD,
    LINE,
    Field,
    Importer,
    ImportOptions,
    ReadStats,
    Source,
    add_bad,
    check_required_values,
    csv_batches,
    finish,
    infer_roots,
    occ_parts,
    occ_symbol,
    parse_dates,
    read_header,
    require_columns,
    settlement_expr,
    side_problem,
    style_expr,
    whole,
    with_quote_time,
)
from volengine.errors import DataError

NAME = "orats"
SNAPSHOT = "near_eod"
DATE_FORMATS = ("%m/%d/%Y", "%Y-%m-%d")


#: per layout: common columns (date, expiration, strike, underlying price) and per-side columns
_LAYOUTS: dict[str, dict[str, Any]] = {
    "ORATS SMV strikes": {
        "date": "trade_date",
        "price": "stkPx",
        "sides": {
            "C": {"bid": "cBidPx", "ask": "cAskPx", "volume": "cVolu", "oi": "cOi", "iv": "cMidIv", "occ": "cOpra"},
            "P": {"bid": "pBidPx", "ask": "pAskPx", "volume": "pVolu", "oi": "pOi", "iv": "pMidIv", "occ": "pOpra"},
        },
    },
    "ORATS API strikes": {
        "date": "tradeDate",
        "price": "stockPrice",
        "sides": {
            right: {
                "bid": f"{side}BidPrice",
                "ask": f"{side}AskPrice",
                "volume": f"{side}Volume",
                "oi": f"{side}OpenInterest",
                "iv": f"{side}MidIv",
                "bid_size": f"{side}BidSize",
                "ask_size": f"{side}AskSize",
            }
            for right, side in (("C", "call"), ("P", "put"))
        },
    },
}
_GREEKS = ("delta", "gamma", "theta", "vega", "rho")


def _needed(layout: str) -> list[str]:
    spec = _LAYOUTS[layout]
    cols = ["ticker", spec["date"], "expirDate", "strike", spec["price"], *_GREEKS]
    for side in spec["sides"].values():
        cols += [v for k, v in side.items() if k != "occ"]
    return cols


def _fields(layout: str, header: list[str]) -> dict[str, Field]:
    spec = _LAYOUTS[layout]
    out = {"ticker": Field(pl.String), spec["date"]: Field(pl.String), "expirDate": Field(pl.String)}
    out["strike"] = Field(pl.Float64, is_required=True)
    for name in _needed(layout)[4:]:
        out[name] = Field(pl.Float64)
    for side in spec["sides"].values():
        if "occ" in side and side["occ"] in header:
            out[side["occ"]] = Field(pl.String)
    return out


def _layout_of(src: Source, header: list[str]) -> str:
    for layout in _LAYOUTS:
        if _LAYOUTS[layout]["date"] in header:
            require_columns(src, NAME, header, _needed(layout), layout)
            return layout
    require_columns(src, NAME, header, _needed("ORATS SMV strikes"), "ORATS SMV strikes")
    raise AssertionError  # pragma: no cover - require_columns raised


def read(src: Source, options: ImportOptions, stats: ReadStats) -> Iterator[pl.DataFrame]:
    """Canonical batches of one ORATS strikes file: a call row and a put row per line."""
    if src.kind == "json":
        yield from _read_json(src, options, stats)
        return
    header = read_header(src)
    layout = _layout_of(src, header)
    fields = _fields(layout, header)
    complete = _LAYOUTS[layout]["date"]  # trade_date is the last SMV column; tradeDate is always filled
    for raw in csv_batches(src, fields, batch_rows=options.batch_rows, stats=stats, complete=complete):
        out = to_canonical(raw, layout, src)
        del raw
        yield out


def _read_json(src: Source, options: ImportOptions, stats: ReadStats) -> Iterator[pl.DataFrame]:
    try:
        doc = json.loads(src.path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        msg = f"{src.name}: not valid JSON ({exc})"
        raise DataError(msg, path=src.name) from exc
    data = doc.get("data") if isinstance(doc, dict) else doc
    if not isinstance(data, list):
        msg = f"{src.name}: an ORATS API response must hold a 'data' list of strikes"
        raise DataError(msg, path=src.name, column="data")
    layout = "ORATS API strikes"
    header = sorted({k for row in data if isinstance(row, dict) for k in row})
    require_columns(src, NAME, header, _needed(layout), layout)
    fields = _fields(layout, header)
    stats.lines += len(data)
    schema = {n: f.dtype for n, f in fields.items()}
    for start in range(0, len(data), options.batch_rows):
        chunk = data[start : start + options.batch_rows]
        rows = [{n: row.get(n) for n in schema} if isinstance(row, dict) else {} for row in chunk]
        try:
            raw = pl.DataFrame(rows, schema=schema, strict=False)
        except (TypeError, pl.exceptions.PolarsError) as exc:
            msg = f"{src.name}: data {start + 1}..{start + len(rows)} hold values of the wrong type ({exc})"
            raise DataError(msg, path=src.name) from exc
        raw = raw.with_columns(
            pl.int_range(start + 1, start + 1 + raw.height, dtype=pl.Int64).alias(LINE),
            pl.lit(None, dtype=pl.String).alias(BAD),
        )
        yield to_canonical(raw, layout, src)


def to_canonical(raw: pl.DataFrame, layout: str, src: Source) -> pl.DataFrame:
    """One batch of wide ORATS rows -> call rows then put rows."""
    spec = _LAYOUTS[layout]
    date_col = spec["date"]
    parsed = raw.with_columns(
        parse_dates(date_col, DATE_FORMATS).alias("date"), parse_dates("expirDate", DATE_FORMATS).alias("expiration")
    )
    what = "a date (MM/DD/YYYY)"
    check_required_values(
        src,
        parsed,
        {
            date_col: (pl.col(date_col).is_not_null() & pl.col("date").is_null(), what),
            "expirDate": (pl.col("expirDate").is_not_null() & pl.col("expiration").is_null(), what),
        },
    )
    common = parsed.select(
        LINE,
        "date",
        "expiration",
        "strike",
        pl.col("ticker").str.strip_chars().alias("underlying"),
        pl.col(spec["price"]).alias("underlying_price"),
        pl.lit("prev_night").alias("oi_asof"),
    )
    common = with_quote_time(infer_roots(common), SNAPSHOT).with_columns(style_expr())
    sides = [_side(parsed, common, right, spec["sides"]) for right in spec["sides"]]
    out = pl.concat(sides, how="diagonal_relaxed").with_columns(settlement_expr(), occ_symbol())
    return finish(out, source=NAME, snapshot=SNAPSHOT)


def _side(raw: pl.DataFrame, common: pl.DataFrame, right: str, sides: dict[str, dict[str, str]]) -> pl.DataFrame:
    cols = sides[right]
    other = next(v for k, v in sides.items() if k != right)
    volume, p_volume = whole(cols["volume"])
    oi, p_oi = whole(cols["oi"])
    exprs = [
        side_problem(raw, other.values()).alias(BAD),
        pl.col(cols["bid"]).alias("bid"),
        pl.col(cols["ask"]).alias("ask"),
        volume.alias("volume"),
        oi.alias("open_interest"),
        pl.col(cols["iv"]).alias("vendor_iv"),
        (pl.col("delta") - (1.0 if right == "P" else 0.0)).alias("vendor_delta"),
        pl.col("gamma").alias("vendor_gamma"),
        pl.col("vega").alias("vendor_vega"),
        pl.col("theta").alias("vendor_theta") if right == "C" else pl.lit(None, pl.Float64).alias("vendor_theta"),
        pl.col("rho").alias("vendor_rho") if right == "C" else pl.lit(None, pl.Float64).alias("vendor_rho"),
        p_volume.alias("_p1"),
        p_oi.alias("_p2"),
    ]
    problems = [pl.col("_p1"), pl.col("_p2")]
    for size in ("bid_size", "ask_size"):
        if size in cols:
            value, p = whole(cols[size])
            exprs += [value.alias(size), p.alias(f"_p_{size}")]
            problems.append(pl.col(f"_p_{size}"))
    occ = cols.get("occ")
    if occ and occ in raw.columns:
        exprs.append(occ_parts(pl.col(occ))["root"].alias("_occ_root"))
    frame = pl.concat([common, raw.select(exprs)], how="horizontal").with_columns(pl.lit(right).alias("right"))
    if "_occ_root" in frame.columns:
        frame = frame.with_columns(pl.coalesce("_occ_root", "root").alias("root")).drop("_occ_root")
    return add_bad(frame, *problems).drop([c for c in frame.columns if c.startswith("_p")])


IMPORTER = Importer(
    name=NAME,
    summary="ORATS SMV strikes (39 columns) or API strikes (CSV or JSON): call + put rows, OI prev_night",
    layouts={lay: frozenset(_needed(lay)) for lay in _LAYOUTS},
    read=read,
)
