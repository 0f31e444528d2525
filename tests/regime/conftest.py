"""Bars with calm, trending and crashing stretches, for the regime tests."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

#: (days, daily drift, annualized vol) of the stretches of :func:`make_bars`
STRETCHES = ((300, 0.0004, 0.08), (60, 0.0015, 0.12), (40, -0.006, 0.55), (80, 0.0, 0.2), (100, 0.001, 0.1))


def business_days(n: int, start: dt.date = dt.date(2015, 1, 2)) -> list[dt.date]:
    """``n`` consecutive weekdays from ``start``."""
    days = np.busday_offset(np.datetime64(start), np.arange(n), roll="forward")
    return [d.item() for d in days]


def make_bars(
    rng: np.random.Generator,
    n: int | None = None,
    *,
    underlying: str | None = None,
    with_adj: bool = True,
) -> pl.DataFrame:
    """Daily bars through the :data:`STRETCHES` (cut or repeated to ``n`` days), with an adj_close factor."""
    drift = np.concatenate([np.full(k, mu) for k, mu, _ in STRETCHES])
    vol = np.concatenate([np.full(k, s) for k, _, s in STRETCHES])
    size = drift.size if n is None else n
    drift, vol = np.resize(drift, size), np.resize(vol, size)
    r = drift + vol / np.sqrt(252.0) * rng.standard_normal(size)
    close = 100.0 * np.exp(np.cumsum(r))
    data: dict[str, object] = {"date": business_days(size), "close": close}
    if with_adj:
        # dividends every ~63 days lower the adjustment factor of the earlier bars
        steps = (np.arange(size)[::-1] // 63).astype(float)
        data["adj_close"] = close * 0.996**steps
    frame = pl.DataFrame(data)
    if underlying is not None:
        frame = frame.with_columns(pl.lit(underlying).cast(pl.Categorical).alias("underlying"))
    return frame


def vix_like(bars: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """A vol index: 100 x 1.2 x a noisy 20-day realized vol, per date of ``bars``."""
    lr = np.diff(np.log(bars["close"].to_numpy()), prepend=np.log(bars["close"][0]))
    rv = pl.Series(lr).rolling_std(20, min_samples=5).fill_null(0.01).to_numpy() * np.sqrt(252.0)
    level = 100.0 * 1.2 * rv * np.exp(0.05 * rng.standard_normal(rv.size)) + 9.0
    return pl.DataFrame({"date": bars["date"], "symbol": "VIX", "close": level})
