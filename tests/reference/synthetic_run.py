"""A synthetic backtest run directory in the backtester's contract, for the metrics and tearsheet tests.

``make_run_dir`` writes ``runs/<name>-<timestamp>/`` with ``equity.parquet``, ``trades.parquet``,
``config.json`` and (optionally) ``benchmark.parquet``. The data are consistent the way a real run is: each
trade's P&L is spread over its holding days, ``daily_pnl`` is the sum of the open trades' daily P&L, ``equity``
is the opening equity plus its running sum, ``n_open`` / ``open_max_loss_usd`` / the Greeks come from the trades
open that day, and ``regime_at_entry`` is the day's regime at the entry date. The first days are flat (no trade
open yet). Short premium: about 70 % winners
of a fraction of the max loss, rarer losers of a larger fraction.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import polars as pl

REGIMES = ("LOW_VOL_GRIND", "HIGH_VOL_PANIC", "TRENDING_UP", "CHOP")
STRUCTURES = ("iron_condor", "put_credit_spread", "calendar")
EDGES = ("vrp", "term", "skew")
EXIT_REASONS = ("take_profit", "stop_loss", "time_stop", "expiry")
OPENING_EQUITY = 100_000.0


def business_days(n: int, start: dt.date = dt.date(2022, 1, 3)) -> np.ndarray:
    """``n`` consecutive weekdays from ``start`` as datetime64[D]."""
    return np.busday_offset(np.datetime64(start), np.arange(n), roll="forward")


def make_frames(
    rng: np.random.Generator, n_days: int = 300, n_trades: int = 60, *, has_greeks: bool = True
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(equity, trades) of a consistent synthetic run of ``n_days`` trading days."""
    days = business_days(n_days)
    regime_idx = np.repeat(rng.integers(0, len(REGIMES), n_days // 20 + 1), 20)[:n_days]
    warmup = min(5, n_days // 4)  # flat days before the first entry, as after a backtest's warm-up
    entry = np.sort(rng.integers(warmup, max(n_days - 25, n_days // 2), n_trades))
    hold = rng.integers(3, 22, n_trades)
    exit_ = np.minimum(entry + hold, n_days - 1)
    contracts = rng.integers(1, 6, n_trades).astype(np.int32)
    max_loss = contracts * rng.uniform(300.0, 700.0, n_trades)
    is_win = rng.random(n_trades) < 0.7
    pnl = np.where(is_win, rng.uniform(0.1, 0.5, n_trades), -rng.uniform(0.3, 1.0, n_trades)) * max_loss
    daily = np.zeros(n_days)
    n_open = np.zeros(n_days, np.int32)
    open_risk = np.zeros(n_days)
    greeks = np.zeros((4, n_days))
    for k in range(n_trades):  # a handful of trades in a test fixture
        span = slice(entry[k], exit_[k] + 1)
        length = exit_[k] - entry[k] + 1
        noise = rng.normal(0.0, 0.05 * max_loss[k], length)
        daily[span] += pnl[k] * rng.dirichlet(np.ones(length)) + noise - noise.mean()
        n_open[entry[k] : exit_[k]] += 1  # closed on the exit day
        open_risk[entry[k] : exit_[k]] += max_loss[k]
        greeks[:, entry[k] : exit_[k]] += (rng.normal(0, 1, (4, 1)) * [[5.0], [0.5], [40.0], [15.0]]) * contracts[k]
    equity = OPENING_EQUITY + np.cumsum(daily)
    frame = {
        "date": pl.Series(days, dtype=pl.Date),
        "equity": equity,
        "cash": equity - 0.3 * open_risk,
        "open_max_loss_usd": open_risk,
        "n_open": pl.Series(n_open, dtype=pl.Int32),
        "daily_pnl": daily,
        "regime": [REGIMES[i] for i in regime_idx],
    }
    if has_greeks:
        frame.update(dict(zip(("delta", "gamma", "vega", "theta"), greeks, strict=True)))
    trades = pl.DataFrame(
        {
            "trade_id": np.arange(1, n_trades + 1, dtype=np.int64),
            "underlying": rng.choice(["SPY", "QQQ"], n_trades),
            "structure": rng.choice(STRUCTURES, n_trades),
            "edge": rng.choice(EDGES, n_trades),
            "regime_at_entry": [REGIMES[i] for i in regime_idx[entry]],
            "entry_date": pl.Series(days[entry], dtype=pl.Date),
            "exit_date": pl.Series(days[exit_], dtype=pl.Date),
            "contracts": pl.Series(contracts, dtype=pl.Int32),
            "entry_cashflow_points": rng.uniform(0.5, 2.5, n_trades),
            "exit_cashflow_points": -rng.uniform(0.0, 2.0, n_trades),
            "pnl_usd": pnl,
            "max_loss_usd": max_loss,
            "exit_reason": rng.choice(EXIT_REASONS, n_trades),
            "model_marked": rng.random(n_trades) < 0.05,
        }
    )
    return pl.DataFrame(frame), trades


def make_run_dir(
    root: Path,
    rng: np.random.Generator,
    *,
    n_days: int = 300,
    n_trades: int = 60,
    has_greeks: bool = True,
    has_benchmark: bool = True,
    name: str = "ic-spy",
) -> Path:
    """Write a run directory under ``root / "runs"``; return its path."""
    equity, trades = make_frames(rng, n_days, n_trades, has_greeks=has_greeks)
    run = root / "runs" / f"{name}-20250102T160000"
    run.mkdir(parents=True)
    equity.write_parquet(run / "equity.parquet")
    trades.write_parquet(run / "trades.parquet")
    metrics = {"annualization_days": 252, "sharpe_risk_free_rate": 0.05}
    config = {"settings": {"metrics": metrics, "account": {"equity_usd": OPENING_EQUITY}}, "fingerprint": "0" * 64}
    (run / "config.json").write_text(json.dumps(config))
    if has_benchmark:
        bench = pl.DataFrame({"date": equity["date"], "ret": rng.normal(0.0004, 0.011, n_days)})
        bench.write_parquet(run / "benchmark.parquet")
    return run
