"""The main job on the embedded default data, as far as the engine is built.

The seeded synthetic market (generated once per seed and cached as a Parquet store) goes through the one
pipeline (:func:`volengine.pipeline.run_pipeline`): implied vols and Greeks for every quote of the whole
history, surface features, realized vol, the regime of every day and the 5 edge detectors. The default
strategy book is then backtested on it (:func:`volengine.backtest.engine.run_backtest`: defined-risk
structures from the regime's edge map, next-session fills, sizing and limits on marked equity) into a run
directory with its quantstats tearsheet. The demo prints desk statistics of the history (the chain's own VIX
against the published one, VIX against ATM IV and forward realized vol), the regime mix, how often each edge
fired, the last day's signal and the backtest's results by regime.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from volengine.kernels import realized_vol, warmup

_NOT_YET = (
    "parameter sweeps with walk-forward, embargo and overfitting statistics",
    "the daily desk report with its hash-chained audit log",
    "live provider adapters and the intraday monitor",
)
EDGE_PREFIXES = ("vrp", "term", "skew", "event", "gamma")
_HEADLINE = ("total_return", "cagr", "sharpe", "sortino", "max_drawdown", "n_trades", "win_rate", "profit_factor",
             "expectancy_usd", "exposure")  # fmt: skip


@dataclass(frozen=True)
class DemoResult:
    """Numbers the demo prints; every field is computed from the data, none is a placeholder."""

    store: str
    seconds_market: float
    n_quotes: int
    n_days: int
    chains_per_day: float
    seconds_pipeline: float
    seconds_iv_greeks: float
    surface_share: float
    vix_mean: float
    chain_vix_minus_vix_pts: float
    vix_minus_atm30_pts: float
    vrp_mean_pts: float
    vrp_positive_share: float
    regime_share: dict[str, float]
    edge_days: dict[str, int]
    last_day: dict[str, Any]
    warmup_seconds: float
    run_dir: str | None = None
    seconds_backtest: float = 0.0
    backtest: dict[str, Any] = field(default_factory=dict)
    by_regime: list[dict[str, Any]] = field(default_factory=list)
    tearsheet: str | None = None
    kill_switch_date: str | None = None
    not_yet: tuple[str, ...] = field(default=_NOT_YET)


def _desk_stats(f: pl.DataFrame, bars: pl.DataFrame, vix: pl.DataFrame) -> dict[str, Any]:
    b = bars.sort("date")
    rv = realized_vol(None, None, None, b["close"].to_numpy(), 21, method="close_to_close")
    fwd_rv = np.full(rv.size, np.nan)
    fwd_rv[:-21] = 100 * rv[21:]  # realized over the next 21 sessions
    joined = (
        f.select("date", (100 * pl.col("atm_iv_30d")).alias("atm30"), (100 * pl.col("mfiv_30d")).alias("chain_vix"))
        .join(vix.select("date", pl.col("close").alias("vix")), on="date")
        .join(pl.DataFrame({"date": b["date"], "fwd_rv": fwd_rv}), on="date")
        .drop_nulls()
        .filter(pl.col("fwd_rv").is_not_nan())
    )
    return {
        "vix_mean": float(joined["vix"].mean()),
        "chain_vix_minus_vix_pts": float((joined["chain_vix"] - joined["vix"]).mean()),
        "vix_minus_atm30_pts": float((joined["vix"] - joined["atm30"]).mean()),
        "vrp_mean_pts": float((joined["vix"] - joined["fwd_rv"]).mean()),
        "vrp_positive_share": float((joined["vix"] > joined["fwd_rv"]).mean()),
    }


def run_demo(
    seed: int = 0,
    start: str = "2015-01-02",
    end: str = "2024-12-31",
    underlying: str = "SPY",
    progress: Callable[[str], None] | None = None,
    settings: Any = None,
    *,
    runs_dir: str | None = None,
    with_tearsheet: bool = True,
) -> DemoResult:
    """Run the demo end to end (generating the cached market on first use) and return its numbers."""
    from volengine.backtest.engine import run_backtest
    from volengine.data.store import Store
    from volengine.datasets import cached_market_store
    from volengine.metrics import breakdown, performance
    from volengine.pipeline import run_pipeline
    from volengine.report.signal import signal_records
    from volengine.report.tearsheet import tearsheet

    say = progress or (lambda _msg: None)
    warm = warmup()
    say("synthetic market (generated once per seed, then read from the cache)")
    t0 = time.perf_counter()
    path = cached_market_store(seed=seed, start=start, end=end, underlyings=(underlying,))
    store = Store(path)
    seconds_market = time.perf_counter() - t0
    n_quotes = sum(e["rows"] for e in store.manifest()["datasets"]["option_quotes"]["partitions"].values())
    say(f"pipeline over {n_quotes:,} quotes: IV, Greeks, surface, regime, edges (chain stage cached per year)")
    t1 = time.perf_counter()
    result = run_pipeline(store, settings, underlyings=[underlying])
    seconds_pipeline = time.perf_counter() - t1
    f = result.features
    say("backtest of the default book: structures, quote paths, simulator")
    t2 = time.perf_counter()
    bt = run_backtest(store, settings, underlyings=[underlying], runs_dir=runs_dir, name="demo")
    seconds_backtest = time.perf_counter() - t2
    tr0 = bt.trades.filter(pl.col("param_set") == 0)
    eq0 = bt.equity.filter(pl.col("param_set") == 0)
    perf = performance(eq0.drop("param_set"), tr0.drop("param_set"), bt.settings)
    by_regime = breakdown(tr0, "regime_at_entry").to_dicts() if tr0.height else []
    peak = pl.col("equity").cum_max()
    tripped = eq0.filter((peak - pl.col("equity")) / peak * 100 >= bt.settings.risk.max_drawdown_pct)["date"]
    kill_date = str(tripped.min()) if tripped.len() else None
    sheet = None
    if with_tearsheet and bt.run_dir is not None and tr0.height:
        say("quantstats tearsheet")
        sheet = str(tearsheet(bt.run_dir)["html"])
    say("desk statistics over the history")
    stats = _desk_stats(f, store.read("bars", underlyings=[underlying]), store.read("vol_index"))
    regimes = f["regime"].cast(pl.String).value_counts(normalize=True, name="share").sort("regime")
    last = signal_records(f.filter(pl.col("date") == f["date"].max()))[0]
    return DemoResult(
        store=str(path),
        seconds_market=seconds_market,
        n_quotes=n_quotes,
        n_days=f.height,
        chains_per_day=result.expiries.height / max(f.height, 1),
        seconds_pipeline=seconds_pipeline,
        seconds_iv_greeks=result.detail.get("iv", 0.0) + result.detail.get("greeks", 0.0),
        surface_share=float(f["atm_iv_30d"].is_not_null().mean()),
        regime_share=dict(zip(regimes["regime"], regimes["share"], strict=True)),
        edge_days={p: int(f[f"{p}_fired"].sum()) for p in EDGE_PREFIXES},
        last_day=last,
        warmup_seconds=warm,
        run_dir=None if bt.run_dir is None else str(bt.run_dir),
        seconds_backtest=seconds_backtest,
        backtest={k: perf.get(k) for k in _HEADLINE},
        by_regime=by_regime,
        tearsheet=sheet,
        kill_switch_date=kill_date,
        **stats,
    )


def as_rows(r: DemoResult) -> list[tuple[str, str]]:
    """(label, value) pairs in display order."""
    iv_note = (
        f"{r.seconds_iv_greeks:.2f} ({r.n_quotes / r.seconds_iv_greeks:,.0f}/s)" if r.seconds_iv_greeks else "cached"
    )
    rows = [
        ("store (cached synthetic market)", r.store),
        ("quotes / sessions / chains per day", f"{r.n_quotes:,} / {r.n_days:,} / {r.chains_per_day:.1f}"),
        ("market ready (generate or read) s", f"{r.seconds_market:.1f}"),
        ("pipeline, whole history, s", f"{r.seconds_pipeline:.1f}"),
        ("IV + 8 Greeks for every quote, s", iv_note),
        ("days with a full surface", f"{100 * r.surface_share:.1f} %"),
        ("VIX mean (Cboe formula on the chain)", f"{r.vix_mean:.2f}"),
        ("our chain 30d model-free - VIX, mean (vol pts)", f"{r.chain_vix_minus_vix_pts:+.3f}"),
        ("VIX - ATM 30d IV, mean (vol pts)", f"{r.vix_minus_atm30_pts:+.2f}"),
        ("VIX - forward 21d RV, mean (vol pts)", f"{r.vrp_mean_pts:+.2f}"),
        ("days with VIX above forward RV", f"{100 * r.vrp_positive_share:.1f} %"),
    ]
    rows += [(f"regime {k}", f"{100 * v:.1f} % of days") for k, v in r.regime_share.items()]
    rows += [(f"edge {k} fired", f"{v:,} days") for k, v in r.edge_days.items()]
    last = r.last_day
    rows.append((f"{last['date']} regime", f"{last['regime']['regime']} ({last['regime']['confidence']:.2f})"))
    for name, e in last["edges"].items():
        if e["fired"]:
            rows.append((f"{last['date']} edge {name}", f"{e['signal']} {e['direction']} {e['strength']:.2f}"))
    rows.append(("backtest (structures, paths, simulator) s", f"{r.seconds_backtest:.1f}"))
    for k, v in r.backtest.items():
        rows.append((f"backtest {k}", "-" if v is None else f"{v:,.4g}" if isinstance(v, float) else str(v)))
    for row in r.by_regime:
        pf = row.get("profit_factor")
        text = f"{row['n']} trades, P&L ${row['pnl_usd']:,.0f}, win {100 * row['win_rate']:.0f} %"
        rows.append((f"backtest {row['regime_at_entry']}", text + ("" if pf is None else f", PF {pf:.2f}")))
    if r.kill_switch_date:
        rows.append(("drawdown kill switch tripped (holds until reset)", r.kill_switch_date))
    if r.run_dir:
        rows.append(("run directory", r.run_dir))
    if r.tearsheet:
        rows.append(("tearsheet", r.tearsheet))
    return rows
