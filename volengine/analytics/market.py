"""Underlying-bar features over whole histories: spot, returns, every realized-vol estimator and window.

Bars are adjusted for returns (the adjusted close over the close scales the day's open, high and low, so a
dividend or split never shows as a return), while ``spot`` stays the unadjusted close that strikes are
compared with (seed-spec §2.3). All windows run per underlying (segments) and look backwards only.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from volengine.config import Settings
from volengine.kernels import realized_vol

DAY_KEY = ("underlying", "date")


def bars_from_quotes(quotes: pl.DataFrame) -> pl.DataFrame:
    """Close-only bars from the quotes' underlying prices (median per day) when no bars were imported."""
    return (
        quotes.group_by("underlying", "date")
        .agg(pl.col("underlying_price").median().alias("close"))
        .with_columns(
            pl.lit(None, pl.Float64).alias("open"),
            pl.lit(None, pl.Float64).alias("high"),
            pl.lit(None, pl.Float64).alias("low"),
            pl.lit(None, pl.Float64).alias("volume"),
            pl.lit(None, pl.Float64).alias("adj_close"),
        )
        .sort(*DAY_KEY)
    )


def rv_column(estimator_short: str, window: int) -> str:
    """Name of a realized-vol column, e.g. ``rv_yz_20d``."""
    return f"rv_{estimator_short}_{window}d"


def market_features(bars: pl.DataFrame, settings: Settings | None = None) -> pl.DataFrame:
    """Per (underlying, date): ``spot``, ``log_return``, ``rv_<est>_<w>d`` for every configured estimator and
    window, and ``vrp_rv`` (close-to-close, ddof 1, over ``edges.vrp.rv_window_days``).

    Parameters
    ----------
    bars : polars.DataFrame
        Canonical bars (date, underlying, close; open/high/low/adj_close optional or null).
    settings : Settings, optional

    Returns
    -------
    polars.DataFrame
        Sorted by (underlying, date). Range estimators are NaN (null) where a bar lacks open/high/low.
    """
    s = settings or Settings()
    b = bars.sort(*DAY_KEY)
    for col in ("open", "high", "low", "adj_close"):
        if col not in b.columns:
            b = b.with_columns(pl.lit(None, pl.Float64).alias(col))
    factor = (pl.col("adj_close") / pl.col("close")).fill_null(1.0).fill_nan(1.0)
    b = b.with_columns(
        pl.col("close").alias("spot"),
        *[(pl.col(c) * factor).alias(f"_{c}") for c in ("open", "high", "low", "close")],
    )
    seg = b["underlying"].to_physical().to_numpy()
    o, h, lo, c = (b[f"_{x}"].fill_null(np.nan).to_numpy() for x in ("open", "high", "low", "close"))
    cols: dict[str, np.ndarray] = {}
    for est in s.analytics.rv_estimators:
        for w in s.analytics.rv_windows_days:
            cols[rv_column(est.short, w)] = realized_vol(o, h, lo, c, w, method=str(est), segment=seg)
    cols["vrp_rv"] = realized_vol(None, None, None, c, s.edges.vrp.rv_window_days, method="close_to_close",
                                  segment=seg)  # fmt: skip
    log_ret = pl.col("_close").log().diff().over("underlying")
    return b.select(*DAY_KEY, "spot", log_ret.alias("log_return")).with_columns(
        *[pl.Series(k, v).fill_nan(None) for k, v in cols.items()]
    )
