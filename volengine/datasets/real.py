"""Real S&P 500 and VIX history, read at run time from the datasets the ``arch`` package ships.

``arch``'s code is NCSA-licensed but its bundled data (Yahoo-style S&P 500 daily bars 1999-01-04 → 2018-12-31,
Cboe VIX closes 2014-01-03 → 2019-01-03) carries no stated licence, so VolEngine never copies it: these loaders
read the installed package each time (``pip install 'volengine[real]'``). pandas appears only at this boundary;
the frames returned are canonical polars tables checked by :func:`volengine.data.schema.validate`.
"""

from __future__ import annotations

import importlib
from typing import Any

import polars as pl

from volengine.data.schema import validate
from volengine.errors import VolEngineError

INSTALL_HINT = "pip install 'volengine[real]'"
SP500_UNDERLYING = "SPX"
VIX_SYMBOL = "VIX"


def _arch_dataset(name: str, caller: str) -> Any:
    """``arch.data.<name>.load()`` as a pandas DataFrame, or a clear error when ``arch`` is missing."""
    try:
        module = importlib.import_module(f"arch.data.{name}")
    except ImportError as exc:
        msg = f"{caller}() reads the data shipped with the 'arch' package, which is not installed; {INSTALL_HINT}"
        raise VolEngineError(msg) from exc
    return module.load()


def load_sp500() -> pl.DataFrame:
    """Daily S&P 500 bars (1999-01-04 → 2018-12-31, 5031 sessions) in the canonical ``bars`` schema.

    ``underlying`` is ``"SPX"``; ``open/high/low/close`` are index points, ``adj_close`` is arch's
    ``Adj Close`` and ``volume`` is in shares.

    Raises
    ------
    VolEngineError
        ``arch`` is not installed (the message says ``pip install 'volengine[real]'``).

    Examples
    --------
    >>> bars = load_sp500()  # doctest: +SKIP
    >>> bars.height, bars["date"].min(), bars["date"].max()  # doctest: +SKIP
    (5031, datetime.date(1999, 1, 4), datetime.date(2018, 12, 31))
    """
    raw = pl.from_pandas(_arch_dataset("sp500", "load_sp500").reset_index())
    frame = raw.select(
        pl.col("Date").cast(pl.Date).alias("date"),
        pl.lit(SP500_UNDERLYING).alias("underlying"),
        pl.col("Open").alias("open"),
        pl.col("High").alias("high"),
        pl.col("Low").alias("low"),
        pl.col("Close").alias("close"),
        pl.col("Volume").cast(pl.Float64).alias("volume"),
        pl.col("Adj Close").alias("adj_close"),
    ).sort("date")
    return validate(frame, "bars", source="arch.data.sp500")


def load_vix() -> pl.DataFrame:
    """Daily Cboe VIX closes (2014-01-03 → 2019-01-03) in the canonical ``vol_index`` schema.

    ``symbol`` is ``"VIX"``; ``close`` is in index points (vol percent). arch ships closes only, so
    ``open/high/low`` are null; its NaN rows (exchange holidays) are dropped.

    Raises
    ------
    VolEngineError
        ``arch`` is not installed (the message says ``pip install 'volengine[real]'``).
    """
    raw = pl.from_pandas(_arch_dataset("vix", "load_vix").reset_index())
    frame = (
        raw.select(pl.col("Date").cast(pl.Date).alias("date"), pl.col("vix").alias("close"))
        .filter(pl.col("close").is_not_null() & pl.col("close").is_not_nan())
        .with_columns(pl.lit(VIX_SYMBOL).alias("symbol"))
        .sort("date")
    )
    return validate(frame, "vol_index", source="arch.data.vix")
