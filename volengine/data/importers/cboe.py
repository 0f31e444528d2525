"""Cboe DataShop "Option EOD Summary" (End-of-Day Option Quotes, with or without Calcs), ``.zip`` or ``.csv``.

One row per contract and day with two quote snapshots (data-formats §3.2). Mapping:

======================  ===================================================================================
canonical               Cboe
======================  ===================================================================================
date, expiration        ``quote_date``, ``expiration`` (``yyyy-mm-dd``)
underlying              ``underlying_symbol`` without the index caret (``^SPX`` -> ``SPX``)
root                    ``root`` as delivered (``SPX`` vs ``SPXW``)
strike, right           ``strike``, ``option_type`` (``C``/``P``)
snapshot, quote_time    ``cboe_1545``: 15:45 ET, 12:45 on early closes from 2020-02-05 (calendar); with
                        ``--cboe-eod`` a second row ``cboe_eod`` at the session close (16:00, 13:00 half days)
bid, ask, sizes         ``bid_1545``, ``ask_1545``, ``bid_size_1545``, ``ask_size_1545`` (``_eod`` for the
                        second row)
last                    ``close``, 0 (no trade) -> null; ``open``/``high``/``low``/``vwap`` have no canonical
                        column (checked present, not stored)
volume                  ``trade_volume``
open_interest, oi_asof  ``open_interest``, ``start_of_day``
vendor_iv, Greeks       ``implied_volatility_1545``, ``delta_1545`` ... ``rho_1545`` (Calcs only; null on the
                        ``cboe_eod`` row, as Cboe computes them at 15:45)
underlying_price        mid of ``underlying_bid/ask`` of the snapshot, else ``active_underlying_price_1545``
                        (0 -> null; ``implied_underlying_price_1545`` is a forward, not stored)
nonstandard             non-empty ``delivery_code``
style, settlement       from the root: SPX/NDX/RUT AM European, SPXW/NDXP/RUTW/XSP PM European, else American PM
======================  ===================================================================================
"""

from __future__ import annotations

from collections.abc import Iterator

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
    csv_batches,
    finish,
    mid,
    occ_symbol,
    problem,
    read_header,
    require_columns,
    settlement_expr,
    style_expr,
    whole,
    with_quote_time,
    zero_to_null,
)
from volengine.errors import DataError

NAME = "cboe"
BASE = (
    "underlying_symbol quote_date root expiration strike option_type open high low close trade_volume "
    "bid_size_1545 bid_1545 ask_size_1545 ask_1545 underlying_bid_1545 underlying_ask_1545 "
    "bid_size_eod bid_eod ask_size_eod ask_eod underlying_bid_eod underlying_ask_eod vwap open_interest"
).split()
CALCS = (
    "implied_underlying_price_1545 active_underlying_price_1545 implied_volatility_1545 delta_1545 gamma_1545 "
    "theta_1545 vega_1545 rho_1545"
).split()
OPTIONAL = (*CALCS, "delivery_code")
_TEXT = ("underlying_symbol", "root", "option_type", "delivery_code")
_DATES = ("quote_date", "expiration")
_INTS = ("trade_volume", "open_interest", "bid_size_1545", "ask_size_1545", "bid_size_eod", "ask_size_eod")
_GREEKS = {"implied_volatility_1545": "vendor_iv", "delta_1545": "vendor_delta", "gamma_1545": "vendor_gamma"}
_GREEKS |= {"theta_1545": "vendor_theta", "vega_1545": "vendor_vega", "rho_1545": "vendor_rho"}


def _fields(header: list[str]) -> dict[str, Field]:
    out: dict[str, Field] = {}
    for name in (*BASE, *OPTIONAL):
        if name not in header:
            continue
        if name in _TEXT:
            out[name] = Field(pl.String)
        elif name in _DATES:
            out[name] = Field(pl.Date, is_required=True)
        else:
            out[name] = Field(pl.Float64, is_required=name == "strike")
    return out


def read(src: Source, options: ImportOptions, stats: ReadStats) -> Iterator[pl.DataFrame]:
    """Canonical batches of one Cboe EOD Summary CSV: a ``cboe_1545`` row per line (plus ``cboe_eod``)."""
    header = read_header(src)
    if "quote_datetime" in header:
        msg = (
            f"{src.name}: line 1: this is a Cboe DataShop Option Quotes (intraday interval) file, column "
            "'quote_datetime'; only the Option EOD Summary layout (quote_date, bid_1545, ...) is supported"
        )
        raise DataError(msg, path=src.name, column="quote_datetime", row=1)
    require_columns(src, NAME, header, BASE, "DataShop Option EOD Summary")
    fields = _fields(header)
    # DataShop always writes the open interest (0 when none): a line without it was cut short
    batches = csv_batches(src, fields, batch_rows=options.batch_rows, stats=stats, complete="open_interest")
    for raw in batches:
        out = to_canonical(raw, use_eod=options.use_cboe_eod)
        del raw
        yield out


def _common(raw: pl.DataFrame) -> pl.DataFrame:
    right = pl.col("option_type").str.strip_chars().str.to_uppercase()
    ints = {c: whole(c) for c in ("trade_volume", "open_interest")}
    delivery = pl.col("delivery_code").str.strip_chars() if "delivery_code" in raw.columns else pl.lit(None)
    frame = raw.select(
        LINE,
        BAD,
        pl.col("quote_date").alias("date"),
        pl.col("expiration"),
        pl.col("strike"),
        pl.when(right.is_in(["C", "P"])).then(right).alias("right"),
        pl.col("underlying_symbol").str.strip_chars().str.strip_prefix("^").alias("underlying"),
        pl.col("root").str.strip_chars().alias("root"),
        zero_to_null(pl.col("close")).alias("last"),
        ints["trade_volume"][0].alias("volume"),
        ints["open_interest"][0].alias("open_interest"),
        pl.lit("start_of_day").alias("oi_asof"),
        (delivery.fill_null("") != "").alias("nonstandard"),
        problem(
            right.is_not_null() & ~right.is_in(["C", "P"]), "column 'option_type' must be C or P; got ", right
        ).alias("_p_right"),
        ints["trade_volume"][1].alias("_p_vol"),
        ints["open_interest"][1].alias("_p_oi"),
    )
    frame = add_bad(frame, pl.col("_p_right"), pl.col("_p_vol"), pl.col("_p_oi")).drop("_p_right", "_p_vol", "_p_oi")
    return frame.with_columns(style_expr(), settlement_expr(), occ_symbol())


def _snapshot(raw: pl.DataFrame, common: pl.DataFrame, suffix: str) -> pl.DataFrame:
    """The quote columns of one snapshot (``1545`` or ``eod``) beside the shared columns."""
    bid_size, p_bid = whole(f"bid_size_{suffix}")
    ask_size, p_ask = whole(f"ask_size_{suffix}")
    under = mid(pl.col(f"underlying_bid_{suffix}"), pl.col(f"underlying_ask_{suffix}"))
    calcs = []
    if suffix == "1545":
        if "active_underlying_price_1545" in raw.columns:
            under = pl.coalesce(under, zero_to_null(pl.col("active_underlying_price_1545")))
        calcs = [pl.col(src).alias(dst) for src, dst in _GREEKS.items() if src in raw.columns]
    quotes = raw.select(
        pl.col(f"bid_{suffix}").alias("bid"),
        pl.col(f"ask_{suffix}").alias("ask"),
        bid_size.alias("bid_size"),
        ask_size.alias("ask_size"),
        under.alias("underlying_price"),
        *calcs,
        p_bid.alias("_p1"),
        p_ask.alias("_p2"),
    )
    frame = pl.concat([common, quotes], how="horizontal")
    snapshot = f"cboe_{suffix}"
    frame = add_bad(frame, pl.col("_p1"), pl.col("_p2")).drop("_p1", "_p2")
    return with_quote_time(frame, snapshot).with_columns(pl.lit(snapshot).alias("snapshot"))


def to_canonical(raw: pl.DataFrame, *, use_eod: bool) -> pl.DataFrame:
    """One batch of Cboe rows -> ``cboe_1545`` rows (then ``cboe_eod`` rows when asked)."""
    common = _common(raw)
    frames = [_snapshot(raw, common, "1545")]
    if use_eod:
        frames.append(_snapshot(raw, common, "eod"))
    out = frames[0] if len(frames) == 1 else pl.concat(frames, how="diagonal_relaxed")
    return finish(out, source=NAME)


IMPORTER = Importer(
    name=NAME,
    summary="Cboe DataShop Option EOD Summary (.zip/.csv): 15:45 snapshot (12:45 half days), --cboe-eod adds EOD",
    layouts={"DataShop Option EOD Summary": frozenset(BASE)},
    read=read,
)
