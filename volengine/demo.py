"""The main job on embedded data, as far as the engine is built.

Today that is the numerical foundation: a seeded option book shaped like one day of an index-ETF chain is
priced, its implied volatilities are solved back from noisy mids, Greeks are aggregated, and the five
realized-volatility estimators run over a seeded daily price history with a known volatility path. The
data layer, analytics, regimes, edges and the backtest are later stages; the demo says so in its output.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from volengine.kernels import bs_greeks, bs_price, implied_vol, realized_vol, warmup

RV_METHODS = ("close_to_close", "parkinson", "garman_klass", "rogers_satchell", "yang_zhang")


@dataclass(frozen=True)
class DemoResult:
    """Numbers the demo prints; every field is computed, none is a placeholder."""

    n_options: int
    n_expiries: int
    iv_solved_share: float
    iv_max_error_vs_true: float
    iv_determined_share: float
    iv_median_error_from_mids: float
    seconds_price_greeks_iv: float
    smile_28d: dict[str, tuple[float, float]]
    rv_error_pct: dict[str, float]
    n_bars: int
    warmup_seconds: float
    not_yet: tuple[str, ...] = field(default=())


def _book(rng: np.random.Generator, spot: float, rate: float, div: float) -> dict[str, np.ndarray]:
    """A full chain: 24 expiries (weeklies then monthlies) x strikes on a $1 grid within +/-30 % of spot."""
    dte = np.array([1, 2, 3, 4, 7, 9, 11, 14, 18, 21, 25, 28, 35, 42, 49, 56, 63, 91, 119, 182, 273, 364, 546, 728])
    strikes = np.arange(np.floor(spot * 0.7), np.ceil(spot * 1.3) + 1.0, 1.0)
    t = np.repeat(dte / 365.0, 2 * strikes.size)
    strike = np.tile(np.repeat(strikes, 2), dte.size)
    is_call = np.tile(np.array([True, False]), dte.size * strikes.size)
    fwd = spot * np.exp((rate - div) * t)
    k = np.log(strike / fwd) / np.sqrt(np.maximum(t, 1 / 365))
    # a skewed smile that flattens with expiry: a stand-in for a fitted surface, not a market model
    vol = np.clip(0.16 - 0.10 * k + 0.08 * k * k + 0.02 * np.exp(-t * 4), 0.05, 1.5)
    return {"t": t, "strike": strike, "is_call": is_call, "vol": vol}


def _bars(rng: np.random.Generator, n: int) -> tuple[np.ndarray, ...]:
    """Daily OHLC of a log-price with a slowly varying, known volatility (78 steps a day).

    Each step's high and low are drawn from the exact Brownian-bridge extremes between its end points,
    ``(a + b +/- sqrt((b - a)^2 - 2 s^2 ln U)) / 2``, so the range estimators are unbiased (a max over the
    discrete points alone would read them ~10 % low).
    """
    steps = 78
    sigma = 0.18 * np.exp(0.35 * np.sin(np.arange(n) * 2 * np.pi / 500.0))
    step_sd = sigma[:, None] / np.sqrt(252 * steps)
    z = rng.standard_normal((n, steps)) * step_sd
    ends = np.cumsum(z.reshape(-1)).reshape(n, steps)
    starts = ends - z
    top = 0.5 * (starts + ends + np.sqrt(z * z - 2 * step_sd**2 * np.log(rng.random((n, steps)))))
    bottom = 0.5 * (starts + ends - np.sqrt(z * z - 2 * step_sd**2 * np.log(rng.random((n, steps)))))
    log_open = starts[:, 0]
    return (
        100.0 * np.exp(log_open),
        100.0 * np.exp(top.max(axis=1)),
        100.0 * np.exp(bottom.min(axis=1)),
        100.0 * np.exp(ends[:, -1]),
        sigma,
    )


def run_demo(seed: int = 0, spot: float = 450.0, rate: float = 0.045, div: float = 0.013) -> DemoResult:
    """Run the demo end to end and return its numbers."""
    rng = np.random.default_rng(seed)
    warm = warmup()
    b = _book(rng, spot, rate, div)
    t0 = time.perf_counter()
    true_price = bs_price(spot, b["strike"], b["t"], rate, div, b["vol"], b["is_call"])
    g = bs_greeks(spot, b["strike"], b["t"], rate, div, b["vol"], b["is_call"])
    iv_true = implied_vol(true_price, spot, b["strike"], b["t"], rate, div, b["is_call"])
    elapsed = time.perf_counter() - t0
    # quotes on a $0.01 tick with a spread of ~1 vol point around the model price
    half = np.maximum(0.005 * g.vega, 0.01)
    bid = np.maximum(np.floor((true_price - half) * 100) / 100, 0.0)
    ask = np.ceil((true_price + half) * 100) / 100
    iv_mid = implied_vol(0.5 * (bid + ask), spot, b["strike"], b["t"], rate, div, b["is_call"])
    solved = np.isfinite(iv_mid)
    # rows whose float64 price pins vol to 1e-8: time value above 1e-12 of the forward and a noise floor
    # 4 eps (price + spot [ITM]) / vega below 1e-8 (deep ITM/OTM one-day options fail it: NaN is right there)
    disc = np.exp(-rate * b["t"])
    fwd = spot * np.exp((rate - div) * b["t"])
    itm = np.where(b["is_call"], fwd > b["strike"], b["strike"] > fwd)
    intrinsic = disc * np.abs(fwd - b["strike"]) * itm
    noise = 4 * np.finfo(float).eps * (true_price + spot * itm) / np.maximum(g.vega, 1e-300)
    determined = (true_price - intrinsic > 1e-12 * fwd * disc) & (noise <= 1e-8)
    # the 28-day slice as a desk reads it: ATM and 25-delta IVs solved from the quoted mids
    month = (np.abs(b["t"] - 28 / 365) < 1e-9) & solved
    put25 = np.argmin(np.where(month & ~b["is_call"], np.abs(g.delta + 0.25), np.inf))
    call25 = np.argmin(np.where(month & b["is_call"], np.abs(g.delta - 0.25), np.inf))
    atm = np.argmin(np.where(month, np.abs(b["strike"] - fwd), np.inf))
    smile = {
        "ATM": (float(b["strike"][atm]), float(iv_mid[atm])),
        "25d put": (float(b["strike"][put25]), float(iv_mid[put25])),
        "25d call": (float(b["strike"][call25]), float(iv_mid[call25])),
    }
    o, h, lo, c, sigma = _bars(rng, 2520)
    window = 21
    target = np.convolve(sigma, np.ones(window) / window, mode="full")[: sigma.size]
    rv_err = {}
    for method in RV_METHODS:
        rv = realized_vol(o, h, lo, c, window, method=method)
        ok = np.isfinite(rv)
        rv_err[method] = float(100 * np.mean(rv[ok] / target[ok] - 1))
    return DemoResult(
        n_options=int(true_price.size),
        n_expiries=int(np.unique(b["t"]).size),
        iv_solved_share=float(solved.mean()),
        iv_max_error_vs_true=float(np.max(np.abs(iv_true - b["vol"])[determined])),
        iv_determined_share=float(determined.mean()),
        iv_median_error_from_mids=float(np.nanmedian(np.abs(iv_mid - b["vol"]))),
        seconds_price_greeks_iv=elapsed,
        smile_28d=smile,
        rv_error_pct=rv_err,
        n_bars=int(c.size),
        warmup_seconds=warm,
        not_yet=(
            "data layer and the seeded synthetic market (store, importers, quality report)",
            "full-history analytics, the regime engine and the 5 edge detectors",
            "defined-risk structures, the risk engine and the vectorized backtester with its tearsheet",
        ),
    )


def as_rows(result: DemoResult) -> list[tuple[str, Any]]:
    """(label, value) pairs in display order."""
    rows: list[tuple[str, Any]] = [
        ("options priced (one chain day)", f"{result.n_options:,} over {result.n_expiries} expiries"),
        ("price + 8 Greeks + IV, seconds", f"{result.seconds_price_greeks_iv:.4f}"),
        ("rows whose price pins vol (float64)", f"{100 * result.iv_determined_share:.1f} %"),
        ("IV round trip on those, max |error|", f"{result.iv_max_error_vs_true:.1e}"),
        ("IV from tick-rounded mids: solved", f"{100 * result.iv_solved_share:.1f} %"),
        ("IV from mids: median |error| (vol pts)", f"{100 * result.iv_median_error_from_mids:.3f}"),
    ]
    rows += [(f"28-day {k} IV from mids (K={kv[0]:g})", f"{100 * kv[1]:.2f} %") for k, kv in result.smile_28d.items()]
    rows += [(f"RV {m} (21d) bias vs true vol", f"{v:+.2f} %") for m, v in result.rv_error_pct.items()]
    return rows
