"""OptionsDX EOD text files (``spy_eod_202301.txt``): wide, ``", "``-delimited, bracketed headers.

Each line holds one quote date x expiry x strike with the call (``C_*``) and put (``P_*``) side by side; it
becomes two canonical rows, the call then the put. Mapping (data-formats §3.1):

=====================  ====================================================================================
canonical              OptionsDX
=====================  ====================================================================================
date, expiration       ``QUOTE_DATE``, ``EXPIRE_DATE``
quote_time             the session close of ``date`` (16:00 ET; 13:00 on early closes), snapshot ``eod_1600``
underlying             ``--underlying``, else the file name (``spy_eod_202301.txt`` -> ``SPY``)
root, style, settle    SPX on a standard monthly expiry -> root ``SPX`` (AM), other expiries ``SPXW`` (PM),
                       both European; ETFs (SPY, QQQ) root = symbol, American, PM
strike                 ``STRIKE``
bid, ask, last         ``C_BID``/``C_ASK``/``C_LAST`` (``P_*`` for the put)
bid_size, ask_size     ``C_SIZE`` text ``"bid x ask"``
volume                 ``C_VOLUME`` written as a float (``195.000000``) or blank -> nullable Int64
open_interest          none in OptionsDX -> null (never 0)
vendor_iv, Greeks      ``C_IV``, ``C_DELTA``, ``C_GAMMA``, ``C_THETA``, ``C_VEGA``, ``C_RHO``; blank -> null
underlying_price       ``UNDERLYING_LAST``
=====================  ====================================================================================

Polars reads single-byte separators, so the file is read with ``,`` and the values keep a leading space: the
polars number and ISO-date parsers accept it, text columns are matched with whitespace-tolerant patterns.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
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
    infer_roots,
    occ_head,
    occ_tail,
    read_header,
    require_columns,
    settlement_expr,
    side_problem,
    sizes,
    style_expr,
    underlying_from_filename,
    whole,
    with_quote_time,
)
from volengine.errors import DataError

NAME = "optionsdx"
SNAPSHOT = "eod_1600"
#: the 33 columns, in file order (names as delivered, brackets and spaces stripped)
COLUMNS = (
    "QUOTE_UNIXTIME QUOTE_READTIME QUOTE_DATE QUOTE_TIME_HOURS UNDERLYING_LAST EXPIRE_DATE EXPIRE_UNIX DTE "
    "C_DELTA C_GAMMA C_VEGA C_THETA C_RHO C_IV C_VOLUME C_LAST C_SIZE C_BID C_ASK STRIKE P_BID P_ASK P_SIZE "
    "P_LAST P_DELTA P_GAMMA P_VEGA P_THETA P_RHO P_IV P_VOLUME STRIKE_DISTANCE STRIKE_DISTANCE_PCT"
).split()
_SIDE = ("BID", "ASK", "LAST", "SIZE", "VOLUME", "IV", "DELTA", "GAMMA", "THETA", "VEGA", "RHO")
_GREEKS = {"IV": "vendor_iv", "DELTA": "vendor_delta", "GAMMA": "vendor_gamma", "THETA": "vendor_theta"}
_GREEKS |= {"VEGA": "vendor_vega", "RHO": "vendor_rho"}
#: the columns the importer reads; the others (unix times, DTE, strike distance) are derivable
USED = ("QUOTE_DATE", "EXPIRE_DATE", "STRIKE", "UNDERLYING_LAST", *(f"{s}_{k}" for s in "CP" for k in _SIDE))


def _fields() -> dict[str, Field]:
    out = {
        "QUOTE_DATE": Field(pl.Date, is_required=True),
        "EXPIRE_DATE": Field(pl.Date, is_required=True),
        "STRIKE": Field(pl.Float64, is_required=True),
        "UNDERLYING_LAST": Field(pl.Float64),
    }
    for side in "CP":
        for key in _SIDE:
            out[f"{side}_{key}"] = Field(pl.String if key == "SIZE" else pl.Float64)
    return out


FIELDS = _fields()


def underlying_for(src: Source, options: ImportOptions) -> str:
    """``--underlying`` if given, else the symbol in the file name; DataError if neither says."""
    if options.underlying:
        return options.underlying.upper()
    found = underlying_from_filename(src)
    if found is None:
        msg = (
            f"{src.name}: OptionsDX files carry no underlying symbol and the file name does not start with one "
            "(like spy_eod_202301.txt): pass --underlying SPY"
        )
        raise DataError(msg, path=src.name)
    return found


def read(src: Source, options: ImportOptions, stats: ReadStats) -> Iterator[pl.DataFrame]:
    """Canonical batches of one OptionsDX file (two rows per line: call, then put)."""
    header = read_header(src)
    require_columns(src, NAME, header, USED, "OptionsDX EOD")
    underlying = underlying_for(src, options)
    # OptionsDX always fills the last column: a line without it was cut short
    complete = "STRIKE_DISTANCE_PCT" if "STRIKE_DISTANCE_PCT" in header else None
    for raw in csv_batches(src, FIELDS, batch_rows=options.batch_rows, stats=stats, complete=complete):
        out = to_canonical(raw, underlying)
        del raw  # peak memory: the wide batch is not needed while the canonical one is written
        yield out


def to_canonical(raw: pl.DataFrame, underlying: str) -> pl.DataFrame:
    """One batch of wide rows -> call rows then put rows with the canonical columns."""
    common = raw.select(
        LINE,
        pl.col("QUOTE_DATE").alias("date"),
        pl.col("EXPIRE_DATE").alias("expiration"),
        pl.col("STRIKE").alias("strike"),
        pl.col("UNDERLYING_LAST").alias("underlying_price"),
        pl.lit(underlying).alias("underlying"),
    )
    common = with_quote_time(infer_roots(common), SNAPSHOT)
    common = common.with_columns(style_expr(), settlement_expr(), occ_head().alias("_head"), occ_tail().alias("_tail"))
    sides = [_side(raw, common, side) for side in "CP"]
    out = pl.concat(sides, how="vertical_relaxed").drop("_head", "_tail")
    # each line's call, then its put: a file sorted by date, expiry and strike (as OptionsDX delivers) then
    # gives batches in store key order, which the store writes straight to the partition file without a sort
    n = raw.height
    out = out.gather(np.arange(2 * n, dtype=np.int64).reshape(2, n).T.ravel())
    return finish(out, source=NAME, snapshot=SNAPSHOT)


def _side(raw: pl.DataFrame, common: pl.DataFrame, side: str) -> pl.DataFrame:
    """The call (``side="C"``) or put rows of one batch."""
    volume, volume_problem = whole(f"{side}_VOLUME")
    other = "P" if side == "C" else "C"
    cols = raw.select(
        side_problem(raw, [f"{other}_{k}" for k in _SIDE]).alias(BAD),
        pl.col(f"{side}_BID").alias("bid"),
        pl.col(f"{side}_ASK").alias("ask"),
        pl.col(f"{side}_LAST").alias("last"),
        volume.alias("volume"),
        *(pl.col(f"{side}_{k}").alias(v) for k, v in _GREEKS.items()),
        volume_problem.alias("_p_volume"),
    )
    frame = pl.concat([common, cols, sizes(raw, f"{side}_SIZE")], how="horizontal").with_columns(
        pl.lit(side).alias("right"), pl.concat_str("_head", pl.lit(side), "_tail").alias("occ_symbol")
    )
    return add_bad(frame, pl.col("_p_size"), pl.col("_p_volume")).drop("_p_size", "_p_volume")


IMPORTER = Importer(
    name=NAME,
    summary="OptionsDX EOD wide text (spy_eod_202301.txt): C_/P_ columns -> two rows, OI null, 16:00 ET",
    layouts={"OptionsDX EOD": frozenset(USED)},
    read=read,
)
