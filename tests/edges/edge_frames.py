"""Hand-made feature frames for the edge-detector tests (not collected: no ``test_`` prefix)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import polars as pl

from volengine.config import EdgesSettings
from volengine.config.loader import with_overrides
from volengine.edges import REQUIRED_COLUMNS

REGIMES = pl.Enum(["WARMUP", "LOW_VOL_GRIND", "HIGH_VOL_PANIC", "TREND_UP", "TREND_DOWN", "CHOP"])
START = dt.date(2024, 1, 2)


def features(columns: dict[str, Any], *, underlying: str = "SPY", start: dt.date = START) -> pl.DataFrame:
    """One underlying, one row per calendar day from ``start``; unnamed required columns are null."""
    n = len(next(iter(columns.values())))
    data: dict[str, Any] = {c: [None] * n for c in REQUIRED_COLUMNS}
    data.update(underlying=[underlying] * n, date=[start + dt.timedelta(days=i) for i in range(n)], regime=["CHOP"] * n)
    data.update({k: list(v) if not isinstance(v, list) else v for k, v in columns.items()})
    return pl.DataFrame(data).with_columns(pl.col("regime").cast(REGIMES))


def one(**values: Any) -> pl.DataFrame:
    """A one-row frame."""
    return features({k: [v] for k, v in values.items()})


def settings(**sections: dict[str, Any]) -> EdgesSettings:
    """Validated EdgesSettings with section overrides, e.g. ``settings(vrp={"lookback_days": 5})``."""
    return with_overrides(EdgesSettings(), sections)


def naive_percentile(x: list[float], window: int, min_periods: int) -> list[float]:
    """Slow twin of the percentile definition: previous `window` non-NaN values strictly below."""
    out = []
    for i, v in enumerate(x):
        prev = [w for w in x[:i] if not np.isnan(w)][-window:]
        if np.isnan(v) or len(prev) < min_periods or not prev:
            out.append(np.nan)
        else:
            out.append(100.0 * sum(w < v for w in prev) / len(prev))
    return out


def random_features(
    rng: np.random.Generator, *, n_days: int = 40, symbols: tuple[str, ...] = ("IWM", "QQQ", "SPY")
) -> pl.DataFrame:
    """A multi-underlying frame with NaN gaps, PANIC days and events: every rule gets a chance to fire."""
    frames = []
    for sym in symbols:

        def col(lo: float, hi: float, p_nan: float = 0.1) -> np.ndarray:
            v = rng.uniform(lo, hi, n_days)
            v[rng.random(n_days) < p_nan] = np.nan
            return v

        has_event = rng.random(n_days) < 0.4
        cols: dict[str, Any] = {
            "regime": rng.choice(["CHOP", "HIGH_VOL_PANIC", "TREND_UP", "WARMUP"], n_days).tolist(),
            "atm_iv": col(0.05, 0.5),
            "vrp_rv": col(0.0, 0.4),
            "iv_percentile": col(0, 100),
            "ts_front_iv": col(0.1, 0.5),
            "ts_back_iv": col(0.1, 0.5),
            "ts_front_dte": rng.integers(7, 30, n_days).tolist(),
            "ts_back_dte": rng.integers(30, 61, n_days).tolist(),
            "skew_put_iv_25d": col(0.15, 0.45),
            "skew_call_iv_25d": col(0.1, 0.3),
            "event_kind": [rng.choice(["FOMC", "CPI", "other"]) if e else None for e in has_event],
            "event_days": [int(rng.integers(-1, 8)) if e else None for e in has_event],
            "event_iv": [float(rng.uniform(0.2, 0.5)) if e else None for e in has_event],
            "event_baseline_iv": [float(rng.uniform(0.15, 0.3)) if e else None for e in has_event],
            "event_baseline_flag": [bool(rng.random() < 0.3) if e else None for e in has_event],
            "event_premium_pct": [float(rng.uniform(-10, 80)) if e else None for e in has_event],
            "gex_net": col(-3e9, 2e9),
            "gex_max_strike": col(90, 110),
            "gex_price_vs_max_pct": col(-2, 2),
            "gex_in_pin_zone": (rng.random(n_days) < 0.5).tolist(),
        }
        f = features(cols, underlying=sym)
        f = f.with_columns(
            pl.when(pl.col("event_kind").is_not_null())
            .then(pl.col("date") + pl.duration(days=pl.col("event_days")))
            .alias("event_date")
        )
        frames.append(f)
    return pl.concat(frames).with_columns(pl.col("underlying").cast(pl.Categorical))


def short_windows() -> EdgesSettings:
    """Settings whose percentile windows fill inside a 40-day frame, with the reversion gate on."""
    return settings(
        vrp={"lookback_days": 15, "min_history_days": 8},
        skew={
            "lookback_days": 12,
            "min_history_days": 6,
            "steep_percentile": 75.0,
            "flat_percentile": 25.0,
            "use_reversion_gate": True,
            "reversion_min_skew_change": 0.0,
        },
        term_structure={"history_days": 10},
    )
