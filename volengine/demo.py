"""The main job on the embedded default data, as far as the engine is built.

Today: the seeded synthetic market (generated once per seed and cached as a Parquet store) is read back,
every quote of the whole history gets an implied volatility from its mid on a put-call-parity forward and
a full set of Greeks in one vectorised pass, and a few desk statistics are computed over the history
(VIX minus ATM 30-day IV, the variance risk premium against forward realized vol, the last day's 30-day
smile). Analytics, regimes, edges and the backtest are later stages; the demo says so in its output.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from volengine.kernels import black_implied_vol, bs_greeks, realized_vol, warmup

_NOT_YET = (
    "full-history analytics (parity forwards, constant-maturity IV, skew, event premia, dealer gamma)",
    "the regime engine and the 5 edge detectors",
    "defined-risk structures, the risk engine and the vectorized backtester with its tearsheet",
)


@dataclass(frozen=True)
class DemoResult:
    """Numbers the demo prints; every field is computed from the data, none is a placeholder."""

    store: str
    seconds_market: float
    n_quotes: int
    n_days: int
    expiries_per_day: float
    iv_solved_share: float
    seconds_iv_greeks: float
    vix_mean: float
    vix_minus_atm30_pts: float
    vrp_mean_pts: float
    vrp_positive_share: float
    last_day: str
    smile_30d: dict[str, tuple[float, float]]
    warmup_seconds: float
    not_yet: tuple[str, ...] = field(default=_NOT_YET)


def _forwards(q: pl.DataFrame) -> pl.DataFrame:
    """Per (date, expiration): the forward from put-call parity at the strike nearest spot with both mids."""
    pairs = (
        q.filter(pl.col("mid").is_not_null())
        .pivot(on="right", index=["date", "expiration", "strike", "underlying_price", "disc"], values="mid")
        .drop_nulls(["C", "P"])
    )
    return (
        pairs.with_columns((pl.col("strike") - pl.col("underlying_price")).abs().alias("dist"))
        .sort("dist")
        .group_by("date", "expiration", maintain_order=True)
        .first()
        .select("date", "expiration", (pl.col("strike") + (pl.col("C") - pl.col("P")) / pl.col("disc")).alias("fwd"))
    )


def _prepare(store: Any, underlying: str) -> pl.DataFrame:
    from volengine.data.calendar import tte_years

    cols = ["date", "expiration", "strike", "right", "bid", "ask", "underlying_price", "settlement"]
    q = store.read("option_quotes", underlyings=[underlying], columns=cols)
    rates = store.read("rates").filter(pl.col("tenor_days") == 30).select("date", "rate")
    q = q.join(rates, on="date", how="left").with_columns(
        tte_years(q["date"], q["expiration"], q["settlement"]).alias("t"),
        pl.when((pl.col("bid") > 0) & (pl.col("ask") >= pl.col("bid")))
        .then(0.5 * (pl.col("bid") + pl.col("ask")))
        .alias("mid"),
    )
    q = q.with_columns((-pl.col("rate").fill_null(0.0) * pl.col("t")).exp().alias("disc"))
    return q.join(_forwards(q), on=["date", "expiration"], how="left")


def _desk_stats(q: pl.DataFrame, bars: pl.DataFrame, vix: pl.DataFrame) -> dict[str, Any]:
    dte = (pl.col("expiration") - pl.col("date")).dt.total_days()
    atm = (
        q.filter(pl.col("iv").is_not_nan(), pl.col("right") == "C")
        .with_columns((dte - 30).abs().alias("gap"), (pl.col("strike") - pl.col("fwd")).abs().alias("dist"))
        .sort("gap", "dist")
        .group_by("date", maintain_order=True)
        .first()
        .select("date", (100 * pl.col("iv")).alias("atm30"))
    )
    b = bars.sort("date")
    rv = realized_vol(None, None, None, b["close"].to_numpy(), 21, method="close_to_close")
    fwd_rv = np.full(rv.size, np.nan)
    fwd_rv[:-21] = 100 * rv[21:]  # realized over the next 21 sessions
    joined = (
        vix.select("date", pl.col("close").alias("vix"))
        .join(atm, on="date")
        .join(pl.DataFrame({"date": b["date"], "fwd_rv": fwd_rv}), on="date")
        .filter(pl.col("fwd_rv").is_not_nan())
    )
    return {
        "vix_mean": float(joined["vix"].mean()),
        "vix_minus_atm30_pts": float((joined["vix"] - joined["atm30"]).mean()),
        "vrp_mean_pts": float((joined["vix"] - joined["fwd_rv"]).mean()),
        "vrp_positive_share": float((joined["vix"] > joined["fwd_rv"]).mean()),
    }


def _smile(q: pl.DataFrame) -> tuple[str, dict[str, tuple[float, float]]]:
    last = q["date"].max()
    day = q.filter(pl.col("date") == last, pl.col("iv").is_not_nan())
    dte = (day["expiration"] - day["date"]).dt.total_days()
    exp = day["expiration"][int((dte - 30).abs().arg_min())]
    s = day.filter(pl.col("expiration") == exp)

    def nearest(frame: pl.DataFrame, col: str, target: float) -> tuple[float, float]:
        row = frame.row(int((frame[col] - target).abs().arg_min()), named=True)
        return float(row["strike"]), float(row["iv"])

    calls = s.filter(pl.col("right") == "C")
    puts = s.filter(pl.col("right") == "P")
    smile = {
        "ATM": nearest(calls.with_columns(pl.col("strike").alias("k")), "k", float(s["fwd"][0])),
        "25d put": nearest(puts, "delta", -0.25),
        "25d call": nearest(calls, "delta", 0.25),
    }
    return f"{last} ({(exp - last).days}d expiry)", smile


def run_demo(
    seed: int = 0,
    start: str = "2015-01-02",
    end: str = "2024-12-31",
    underlying: str = "SPY",
    progress: Callable[[str], None] | None = None,
) -> DemoResult:
    """Run the demo end to end (generating the cached market on first use) and return its numbers."""
    from volengine.data.store import Store
    from volengine.datasets import cached_market_store

    say = progress or (lambda _msg: None)
    warm = warmup()
    say("synthetic market (generated once per seed, then read from the cache)")
    t0 = time.perf_counter()
    path = cached_market_store(seed=seed, start=start, end=end, underlyings=(underlying,))
    store = Store(path)
    q = _prepare(store, underlying)
    seconds_market = time.perf_counter() - t0
    say(f"implied vol and Greeks for {q.height:,} quotes")
    t1 = time.perf_counter()
    is_call = (q["right"] == "C").to_numpy()
    fwd = q["fwd"].fill_null(np.nan).to_numpy()
    t = q["t"].to_numpy()
    disc = q["disc"].to_numpy()
    iv = black_implied_vol(q["mid"].fill_null(np.nan).to_numpy(), fwd, q["strike"].to_numpy(), t, disc, is_call)
    rate = -np.log(disc) / np.where(t > 0, t, 1.0)
    # Black-76 Greeks through BSM: spot = forward and q = r, so S e^{(r - q) t} is the parity forward
    g = bs_greeks(fwd, q["strike"].to_numpy(), t, rate, rate, np.nan_to_num(iv, nan=0.2), is_call)
    seconds_iv = time.perf_counter() - t1
    q = q.with_columns(pl.Series("iv", iv), pl.Series("delta", np.where(np.isnan(iv), np.nan, g.delta)))
    solved = np.isfinite(iv[q["mid"].is_not_null().to_numpy()])
    say("desk statistics over the history")
    bars = store.read("bars", underlyings=[underlying])
    vix = store.read("vol_index")
    stats = _desk_stats(q, bars, vix)
    last_day, smile = _smile(q)
    days = q["date"].n_unique()
    return DemoResult(
        store=str(path),
        seconds_market=seconds_market,
        n_quotes=q.height,
        n_days=days,
        expiries_per_day=q.select(pl.struct("date", "expiration").n_unique()).item() / days,
        iv_solved_share=float(solved.mean()),
        seconds_iv_greeks=seconds_iv,
        last_day=last_day,
        smile_30d=smile,
        warmup_seconds=warm,
        **stats,
    )


def as_rows(r: DemoResult) -> list[tuple[str, str]]:
    """(label, value) pairs in display order."""
    rows = [
        ("store (cached synthetic market)", r.store),
        ("quotes / sessions / expiries per day", f"{r.n_quotes:,} / {r.n_days:,} / {r.expiries_per_day:.1f}"),
        ("market ready (generate or read) s", f"{r.seconds_market:.1f}"),
        ("IV + 8 Greeks for every quote, s", f"{r.seconds_iv_greeks:.2f} ({r.n_quotes / r.seconds_iv_greeks:,.0f}/s)"),
        ("IV solved from valid mids", f"{100 * r.iv_solved_share:.2f} %"),
        ("VIX mean (Cboe formula on the chain)", f"{r.vix_mean:.2f}"),
        ("VIX - ATM 30d IV, mean (vol pts)", f"{r.vix_minus_atm30_pts:+.2f}"),
        ("VIX - forward 21d RV, mean (vol pts)", f"{r.vrp_mean_pts:+.2f}"),
        ("days with VIX above forward RV", f"{100 * r.vrp_positive_share:.1f} %"),
    ]
    rows += [(f"{r.last_day}: {k} IV (K={v[0]:g})", f"{100 * v[1]:.2f} %") for k, v in r.smile_30d.items()]
    return rows
