"""The backtest end to end: pipeline → candidates from edges → structures → quote paths → simulator → run dir.

:func:`run_backtest` is the one call behind ``volengine backtest`` and the demo. Its stages reuse the
pipeline (:func:`volengine.pipeline.run_pipeline`, the same code as the daily signal), turn every fired edge
of the strategy book into a structure request on its signal day (the edge → structure map of the day's
regime; WARMUP days and ``none`` choices trade nothing), build them on that day's chain
(:func:`volengine.structures.build_structures`), lay out their quote paths
(:func:`volengine.backtest.paths.build_paths`) and simulate every parameter set at once.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from volengine.backtest.paths import build_paths, candidate_stress
from volengine.backtest.simulate import REGIME_CODES, SimResult, param_matrix, simulate
from volengine.config import Settings, Universe, load_universe, settings_fingerprint
from volengine.config.enums import Regime, StructureChoice

#: columns of a structure request frame (see :func:`candidate_requests`)
REQUEST_COLUMNS = {"request_id": pl.Int64, "underlying": pl.String, "date": pl.Date, "edge": pl.String,
                   "signal": pl.String, "strength": pl.Float64, "regime": pl.String, "choice": pl.String}  # fmt: skip
#: edge prefixes of the detectors whose signals the default book trades
DEFAULT_BOOK = ("vrp", "term", "skew", "event", "gamma")


@dataclass
class BacktestRun:
    """Frames of one backtest over one or more parameter sets (param_set 0 is the settings as given)."""

    equity: pl.DataFrame
    trades: pl.DataFrame
    features: pl.DataFrame
    legs: pl.DataFrame
    requests: pl.DataFrame
    structures: pl.DataFrame
    sim: SimResult
    params: np.ndarray[Any, Any]
    settings: Settings
    timings: dict[str, float] = field(default_factory=dict)
    run_dir: Path | None = None


def candidate_requests(
    features: pl.DataFrame, settings: Settings, book: Sequence[str] = DEFAULT_BOOK, universe: Universe | None = None
) -> pl.DataFrame:
    """One structure request per fired edge of ``book`` on each (underlying, day), by the regime's edge map.

    Only signals of ``backtest.signals`` trade, and fallback edges (history_mode 0) only when the universe's
    ``execution.allow_fallback_edges`` says so: what the daily run would mark REVIEW is not traded. With a
    universe, a choice whose structure family is not in the symbol's ``structures_allowed`` is not requested
    (symbols the universe does not list use its defaults).

    Returns
    -------
    polars.DataFrame
        request_id, underlying, date, edge, signal, strength, regime, choice; sorted by date, then strength
        (descending), then edge: the order in which the simulator sizes them.
    """
    emap = settings.structures.edge_map
    table = pl.DataFrame(
        [(str(r), str(k), str(c)) for r, row in emap.items() for k, c in row.items()],
        schema=["regime", "signal", "choice"],
        orient="row",
    )
    parts = []
    for p in book:
        if f"{p}_fired" not in features.columns:
            continue
        parts.append(
            features.filter(pl.col(f"{p}_fired"))
            .select(
                pl.col("underlying").cast(pl.String), "date", pl.lit(p).alias("edge"),
                pl.col(f"{p}_signal").cast(pl.String).alias("signal"),
                pl.col(f"{p}_strength").cast(pl.Float64).alias("strength"),
                pl.col(f"{p}_history_mode").cast(pl.Int8).alias("history_mode"),
                pl.col("regime").cast(pl.String),
            )
        )  # fmt: skip
    if not parts:
        return pl.DataFrame(schema=REQUEST_COLUMNS)
    fallback_ok = universe.execution.allow_fallback_edges if universe is not None else False
    req = (
        pl.concat(parts)
        .filter(pl.col("regime").is_in([str(r) for r in Regime]))
        .filter(pl.col("signal").is_in([str(k) for k in settings.backtest.signals]))
        .filter(pl.lit(fallback_ok) | (pl.col("history_mode") >= 1))
        .join(table, on=["regime", "signal"], how="left")
        .filter(pl.col("choice").is_not_null() & (pl.col("choice") != str(StructureChoice.NONE)))
        .filter(_allowed_family(universe))
        .sort(["date", "strength", "edge"], descending=[False, True, False])
        .with_row_index("request_id")
        .with_columns(pl.col("request_id").cast(pl.Int64))
    )
    return req.select(list(REQUEST_COLUMNS))


def _allowed_family(universe: Universe | None) -> pl.Expr:
    """True where the request's structure family is allowed on its underlying (all, without a universe)."""
    if universe is None:
        return pl.lit(True)
    family = pl.col("choice").replace_strict({str(c): str(c.structure_type) for c in StructureChoice},
                                             return_dtype=pl.String)  # fmt: skip
    per_symbol = {sym: [str(t) for t in universe.symbol(sym).structures_allowed] for sym in universe.symbols}
    default = pl.lit([str(t) for t in universe.defaults.structures_allowed], dtype=pl.List(pl.String))
    allowed = pl.col("underlying").replace_strict(per_symbol, default=default, return_dtype=pl.List(pl.String))
    return allowed.list.contains(family)


def _trades_frame(run: SimResult, structures: pl.DataFrame, days: pl.Series, legs_model: pl.DataFrame,
                  execution: str) -> pl.DataFrame:  # fmt: skip
    """One row per trade taken; ``fills`` says how entries and non-expiry exits filled (``next_close`` at the
    quotes, ``next_open`` at the modelled open)."""
    day_dates = pl.DataFrame({"day": np.arange(days.len()), "date": days})
    t = run.trades.filter(pl.col("contracts") > 0).join(
        structures.select("candidate", "underlying", "choice", "edge", "signal", "regime", "max_loss_points"),
        on="candidate",
        how="left",
    )
    return (
        t.join(day_dates.rename({"day": "entry_day", "date": "entry_date"}), on="entry_day", how="left")
        .join(day_dates.rename({"day": "exit_day", "date": "exit_date"}), on="exit_day", how="left")
        .join(legs_model, on="candidate", how="left")
        .with_columns(pl.col("model_marked").fill_null(False), pl.col("assignment_risk").fill_null(False))
        .select(
            pl.col("param_set"), pl.col("candidate").alias("trade_id"), "underlying",
            pl.col("choice").alias("structure"), "edge", "signal", pl.col("regime").alias("regime_at_entry"),
            "entry_date", "exit_date", pl.col("contracts").cast(pl.Int32),
            pl.col("entry_cf").alias("entry_cashflow_points"), pl.col("exit_cf").alias("exit_cashflow_points"),
            "pnl_usd", (pl.col("max_loss_points") * 100 * pl.col("contracts")).alias("max_loss_usd"),
            pl.col("status").alias("exit_reason"), pl.lit(execution).alias("fills"), "model_marked", "assignment_risk",
        )
        .sort("param_set", "entry_date", "trade_id")
    )  # fmt: skip


def _equity_frame(run: SimResult, days: pl.Series, features: pl.DataFrame, equity0: float) -> pl.DataFrame:
    reg = features.group_by("date").agg(pl.col("regime").cast(pl.String).first())
    day_dates = pl.DataFrame({"day": np.arange(days.len()), "date": days})
    return (
        run.daily.join(day_dates, on="day", how="left")
        .join(reg, on="date", how="left")
        .with_columns(
            pl.col("equity").diff().over("param_set").fill_null(pl.col("equity") - equity0).alias("daily_pnl")
        )
        .select("param_set", "date", "equity", "open_max_loss_usd", pl.col("n_open").cast(pl.Int32), "blocked",
                "daily_pnl", "regime")
    )  # fmt: skip


def portfolio_greeks(run: SimResult, legs: pl.DataFrame, contracts: pl.DataFrame, days: pl.Series) -> pl.DataFrame:
    """Book Greeks per (param_set, date) in desk units: delta and gamma per $1 of spot, vega per vol point,
    theta per calendar day; dollars (x 100 per contract, signed by leg quantity and contracts held).

    A position counts from its entry day to the day before its exit (or the last day when still open); a leg
    without a quote or a solved IV that day contributes nothing (its Greek is unknown).
    """
    held = run.trades.filter(pl.col("contracts") > 0).select(
        "param_set", "candidate", "contracts", "entry_day",
        pl.when(pl.col("exit_day") >= 0).then(pl.col("exit_day") - 1).otherwise(days.len() - 1).alias("last"),
    )  # fmt: skip
    if held.height == 0:
        return pl.DataFrame(schema={"param_set": pl.Int64, "date": pl.Date, **dict.fromkeys(GREEK_COLS, pl.Float64)})
    day_dates = pl.DataFrame({"day": np.arange(days.len()), "date": days})
    rows = (
        held.with_columns(pl.int_ranges("entry_day", pl.col("last") + 1).alias("day"))
        .explode("day")
        .drop_nulls("day")
        .join(day_dates, on="day", how="left")
        .join(legs.select("candidate", "expiration", "strike", pl.col("right").cast(pl.String), "qty"), on="candidate")
    )
    key = ["date", "expiration", "strike", "right"]
    g = contracts.select(*key[:3], pl.col("right").cast(pl.String), "delta", "gamma", "vega", "theta").join(
        rows.select(key).unique(), on=key, how="semi"
    )
    scale = {"delta": 1.0, "gamma": 1.0, "vega": 0.01, "theta": 1.0 / 365.0}
    return (
        rows.join(g, on=key, how="left")
        .group_by("param_set", "date")
        .agg([_greek_sum(k, v) for k, v in scale.items()])
        .sort("param_set", "date")
    )


GREEK_COLS = ("delta", "gamma", "vega", "theta")


def _greek_sum(name: str, unit: float) -> pl.Expr:
    """Sum of a leg Greek x quantity x contracts x 100 in desk units; unknown (NaN) Greeks count as nothing."""
    return (pl.col(name).fill_nan(None) * pl.col("qty") * pl.col("contracts") * 100.0 * unit).sum().alias(name)


@dataclass(frozen=True)
class Candidates:
    """Valid structures in simulator order with their legs, quote paths and the simulator's input arrays."""

    valid: pl.DataFrame
    legs: pl.DataFrame
    path: pl.DataFrame
    arrays: dict[str, np.ndarray[Any, Any]]
    candidates: dict[str, Any]


def prepare_candidates(
    structures: pl.DataFrame, legs: pl.DataFrame, requests: pl.DataFrame, contracts: pl.DataFrame,
    bars: pl.DataFrame, dividends: pl.DataFrame | None, days: pl.Series, settings: Settings,
) -> Candidates:  # fmt: skip
    """Valid structures ordered by signal day, then strength (the order the simulator sizes them), their legs
    with settlement styles, quote paths with the stress grid, and the candidate arrays of the simulator.

    ``requests`` needs request_id, regime, strength and edge (for the order); see :func:`candidate_requests`.
    """
    valid = (
        structures.filter(pl.col("is_valid"))
        .join(requests.select("request_id", "edge", "signal", "regime", "strength"), on="request_id", how="left")
        .sort(["date", "strength", "edge"], descending=[False, True, False])
        .with_row_index("candidate")
        .with_columns(pl.col("candidate").cast(pl.Int64))
    )
    key = ["underlying", "expiration", "strike", "right"]
    vlegs = legs.join(valid.select("request_id", "candidate"), on="request_id", how="inner").with_columns(
        pl.col("underlying").cast(pl.String), pl.col("right").cast(pl.String)
    )
    settlement = contracts.select(
        pl.col("underlying").cast(pl.String), "expiration", "strike", pl.col("right").cast(pl.String), "settlement"
    ).unique(key)
    vlegs = vlegs.join(settlement, on=key, how="left")
    path, arrays = build_paths(valid, vlegs, contracts, bars, days, settings, dividends)
    day_index = pl.DataFrame({"date": days}).with_row_index("day")
    sig_day = valid.join(day_index, on="date", how="left")["day"].to_numpy().astype(np.int64)
    cands = {
        "signal_day": sig_day,
        "entry_day": sig_day + 1,
        "ml_est": valid["max_loss_points"].to_numpy(),
        "legs": valid["n_legs"].to_numpy(),
        "is_credit": (valid["entry_cashflow_points"] > 0).to_numpy().astype(np.int64),
        "regime": valid["regime"].replace_strict(REGIME_CODES, return_dtype=pl.Int64).to_numpy(),
        "stress": candidate_stress(valid, vlegs, contracts, settings),
    }
    return Candidates(valid, vlegs, path, arrays, cands)


def day_axis(features: pl.DataFrame, days: pl.Series) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Regime code per day (-1 for WARMUP) and a week id per day, for the simulator."""
    reg = features.group_by("date").agg(pl.col("regime").cast(pl.String).first()).sort("date")
    day_regime = reg["regime"].replace_strict(REGIME_CODES, default=-1, return_dtype=pl.Int64).to_numpy()
    return day_regime, days.dt.truncate("1w").cast(pl.Int64).to_numpy()


def run_backtest(
    source: Any,
    settings: Settings | None = None,
    *,
    param_sets: Sequence[Mapping[str, float]] | None = None,
    underlyings: Sequence[str] | None = None,
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    book: Sequence[str] = DEFAULT_BOOK,
    equity0: float | None = None,
    runs_dir: str | Path | None = None,
    name: str = "backtest",
    universe: Universe | None = None,
) -> BacktestRun:
    """Backtest the strategy book on ``source`` for every parameter set at once (see the module docstring).

    Parameters
    ----------
    source : SyntheticMarket, Store, path or mapping of frames
    settings : Settings, optional
    param_sets : sequence of mapping, optional, keyword-only
        Overrides of :data:`volengine.backtest.simulate.PARAM_COLUMNS` per parameter set (default: one set,
        the settings as given).
    underlyings, start, end
        As for :func:`volengine.pipeline.run_pipeline`; trading happens from ``start`` on.
    book : sequence of str
        Edge prefixes traded.
    equity0 : float, optional
        Starting equity in dollars (default ``account.equity_usd``).
    runs_dir : str or Path, optional
        Write ``<runs_dir>/<name>-<timestamp>/`` (config, trades, legs, equity, metrics) when given.
    """
    from volengine.pipeline import run_pipeline
    from volengine.structures import build_structures

    s = settings or Settings()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    pipe = run_pipeline(source, s, underlyings, start, end, keep_contracts=True, universe=universe)
    timings["pipeline"] = time.perf_counter() - t0
    features = pipe.features.with_columns(pl.col("underlying").cast(pl.String))
    contracts = pipe.contracts if pipe.contracts is not None else pl.DataFrame()
    days = features["date"].unique().sort()
    t0 = time.perf_counter()
    uni = universe or load_universe()
    requests = candidate_requests(features, s, book, uni)
    structures, legs = build_structures(contracts, requests, s)
    timings["structures"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    tables = pipe.tables
    prep = prepare_candidates(structures, legs, requests, contracts, _bars(tables, features), tables.dividends,
                              days, s)  # fmt: skip
    valid, vlegs, path, arrays, cands = prep.valid, prep.legs, prep.path, prep.arrays, prep.candidates
    timings["paths"] = time.perf_counter() - t0
    day_regime, week = day_axis(features, days)
    params = param_matrix(s, param_sets)
    eq0 = equity0 if equity0 is not None else s.account.equity_usd
    t0 = time.perf_counter()
    sim = simulate(days.len(), day_regime, week, cands, arrays, params, eq0)
    timings["simulate"] = time.perf_counter() - t0
    model = path.group_by("candidate").agg(pl.col("model_marked").any(), pl.col("assignment_risk").any())
    run = BacktestRun(
        equity=_equity_frame(sim, days, features, eq0)
        .join(portfolio_greeks(sim, vlegs, contracts, days), on=["param_set", "date"], how="left")
        .with_columns(pl.col(c).fill_null(0.0) for c in GREEK_COLS),
        trades=_trades_frame(sim, valid, days, model, str(s.backtest.execution)),
        features=pipe.features,
        legs=vlegs,
        requests=requests,
        structures=structures,
        sim=sim,
        params=params,
        settings=s,
        timings=timings,
    )
    if runs_dir is not None:
        run.run_dir = write_run(run, Path(runs_dir), name)
    return run


def _bars(tables: Any, features: pl.DataFrame) -> pl.DataFrame:
    """Unadjusted open/close per (underlying, date) for settlement prices (the pipeline's spot otherwise)."""
    bars = tables.bars
    if bars.height:
        return bars.select(pl.col("underlying").cast(pl.String), "date", "open", "close")
    return features.select("underlying", "date", pl.col("spot").alias("open"), pl.col("spot").alias("close"))


def write_run(run: BacktestRun, runs_dir: Path, name: str) -> Path:
    """Write the run directory: config.json, trades/legs/equity Parquet and metrics.json (param_set 0)."""
    from volengine.data.atomic import write_bytes_atomic, write_parquet_atomic
    from volengine.metrics import write_metrics

    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    out = runs_dir / f"{name}-{stamp}"
    out.mkdir(parents=True, exist_ok=False)
    config = {"settings": run.settings.model_dump(mode="json"), "fingerprint": settings_fingerprint(run.settings),
              "params": run.params.tolist(), "timings_s": run.timings}  # fmt: skip
    text = json.dumps(config, indent=1, sort_keys=True, default=str) + "\n"
    write_bytes_atomic(text.encode("utf-8"), out / "config.json")
    write_parquet_atomic(run.trades, out / "trades.parquet")
    write_parquet_atomic(run.legs, out / "legs.parquet")
    write_parquet_atomic(run.equity, out / "equity.parquet")
    eq0 = run.equity.filter(pl.col("param_set") == 0).drop("param_set")
    tr0 = run.trades.filter(pl.col("param_set") == 0).drop("param_set")
    write_metrics(out, eq0, tr0, run.settings)
    return out
