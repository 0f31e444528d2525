"""Benchmark of the backtester (``volengine bench backtest``): daily iron condors over 10 years of full chains.

Protocol:

1. the embedded synthetic market (seed, years, SPY, full daily chains) through the pipeline with the
   per-contract frame kept ("data loaded": not timed);
2. **one backtest**: one iron condor request per non-WARMUP day, built on its day's chain
   (:func:`volengine.structures.build_structures`), its quote paths (:func:`volengine.backtest.paths.build_paths`
   with the stress grid) and the simulator for one parameter set; ``repeat`` runs, the best counts;
3. **a batch of 100 parameter sets** (take profit x stop loss x time stop x per-trade risk) through the same
   structures and paths in one simulator call: the parameter axis;
4. **peer**, measured when a peer interpreter is given (``peer_python``; optopsy 2.3 needs Python 3.12, so it
   runs in its own interpreter): the first ``peer_years`` years of the same contracts (rows with a delta and a
   bid and ask) go to a CSV, ``benchmarks/peers/optopsy_grid.py`` times optopsy's iron condor on a 24-point
   grid (short |delta| x wing |delta| x exit DTE x take profit), and VolEngine times the matched grid on the
   same rows: 3 short deltas x 2 wing widths (VolEngine places wings by width, not delta) = 6 structure builds
   and candidate preparations, each simulated for 4 parameter sets (time stop x take profit). A VolEngine point
   also sizes a portfolio, applies the risk limits and the stress grid; optopsy's iron condor does not.
   Without a peer interpreter, or when it fails, the ratio is against a **recorded** figure (3.46 s per point on
   1.51 M quote rows, research/domain-notes.md §2.2) scaled per quote row, and the result says so.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, NamedTuple

import polars as pl

TARGETS = {"one_s": 5.0, "batch100_s": 30.0}
#: optopsy 2.3.0 iron-condor grid point on 1.51 M quote rows (domain notes §2.2), seconds
OPTOPSY_S_PER_POINT = 3.46
OPTOPSY_ROWS = 1_512_000
#: environment variable naming the peer interpreter when ``--peer-python`` is not given
PEER_PYTHON_ENV = "VOLENGINE_OPTOPSY_PYTHON"
#: the optopsy side of the peer measurement (in a source checkout; not shipped in the wheel)
PEER_SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "peers" / "optopsy_grid.py"
#: columns of the optopsy CSV, in order (optopsy.csv_data maps columns by index; the script reads the header)
OPTOPSY_CSV_COLUMNS = ("underlying_symbol", "underlying_price", "option_type", "expiration", "quote_date",
                       "strike", "bid", "ask", "delta", "volume", "open_interest")  # fmt: skip
#: VolEngine's side of the matched grid: short |delta| x wing width (points), 4 parameter sets each
PEER_SHORT_DELTAS = (0.16, 0.20, 0.25)
PEER_WING_WIDTHS_POINTS = (5.0, 10.0)
PEER_PARAM_SETS = [{"time_stop_dte_days": d, "take_profit_pct": tp} for d in (21, 14) for tp in (50.0, 75.0)]
#: optopsy's max_entry_dte, used as VolEngine's latest expiry in the matched grid
PEER_MAX_ENTRY_DTE = 45


class PeerError(RuntimeError):
    """The peer interpreter could not produce a measurement; the message says why."""


class BenchInputs(NamedTuple):
    """What one timed backtest needs: chains, requests, settlement bars, the day axis."""

    contracts: pl.DataFrame
    requests: pl.DataFrame
    bars: pl.DataFrame
    dividends: pl.DataFrame | None
    days: pl.Series
    day_regime: Any
    week: Any


def _grid(n: int) -> list[dict[str, float]]:
    axes = {"take_profit_pct": [25, 35, 50, 65, 80], "stop_loss_credit_multiple": [0.5, 1.0, 1.5, 2.0, 3.0],
            "time_stop_dte_days": [7, 14, 21, 28], "per_trade_risk_pct": [0.5, 1.0]}  # fmt: skip
    sets = [dict(zip(axes, v, strict=True)) for v in itertools.product(*axes.values())]
    return sets[:n]


def _timed_backtest(inp: BenchInputs, s: Any, params: Any) -> tuple[dict[str, float], Any]:
    """Structures, candidate preparation (paths and stress) and the simulator, each timed."""
    from volengine.backtest.engine import prepare_candidates
    from volengine.backtest.simulate import simulate
    from volengine.structures import build_structures

    t: dict[str, float] = {}
    t0 = time.perf_counter()
    st, legs = build_structures(inp.contracts, inp.requests, s)
    t["structures"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    prep = prepare_candidates(st, legs, inp.requests, inp.contracts, inp.bars, inp.dividends, inp.days, s)
    t["paths"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = simulate(inp.days.len(), inp.day_regime, inp.week, prep.candidates, prep.arrays, params, s.account.equity_usd)
    t["simulate"] = time.perf_counter() - t0
    t["total"] = sum(t.values())
    return t, res


def peer_window(contracts: pl.DataFrame, years: int, *, start: dt.date | None = None) -> pl.DataFrame:
    """``years`` years of ``contracts`` from ``start`` (default: its first date), rows with a null delta, bid or
    ask dropped.

    A NaN delta (no implied vol: mostly zero-bid far wings and deep in-the-money quotes) stays: optopsy never
    enters on it, but it needs the quote to price an exit, and VolEngine to mark a path.
    """
    first: dt.date = contracts["date"].min() if start is None else start  # type: ignore[assignment]
    try:
        cutoff = first.replace(year=first.year + years)
    except ValueError:  # 29 February
        cutoff = dt.date(first.year + years, 3, 1)
    return contracts.filter(
        pl.col("date").is_between(first, cutoff, closed="left"),
        *(pl.col(c).is_not_null() for c in ("delta", "bid", "ask")),
    )


def write_optopsy_csv(contracts: pl.DataFrame, path: Path) -> int:
    """Write ``contracts`` as the CSV optopsy.csv_data reads; return the rows written.

    Columns :data:`OPTOPSY_CSV_COLUMNS`: option_type is "call" / "put" (optopsy keeps rows by the first letter),
    dates are ISO ``YYYY-MM-DD`` (pandas.to_datetime), prices and delta float64, volume and open interest int64.

    Raises
    ------
    SchemaError
        ``contracts`` lacks a column, or ``right`` holds a value other than C or P.
    """
    from volengine.errors import SchemaError

    need = ("underlying", "underlying_price", "right", "expiration", "date", "strike", "bid", "ask", "delta",
            "volume", "open_interest")  # fmt: skip
    missing = [c for c in need if c not in contracts.columns]
    if missing:
        msg = f"contracts frame for the optopsy CSV {path} lacks column(s) {', '.join(missing)}"
        raise SchemaError(msg, path=str(path), column=missing[0])
    right = contracts["right"].cast(pl.String)
    bad = right.filter(~right.is_in(["C", "P"]) | right.is_null())
    if bad.len():
        msg = f"column 'right' of the contracts frame for {path} must be C or P; got {bad[0]!r}"
        raise SchemaError(msg, path=str(path), column="right", value=bad[0])
    frame = contracts.select(
        pl.col("underlying").cast(pl.String).alias("underlying_symbol"),
        pl.col("underlying_price").cast(pl.Float64),
        pl.col("right").cast(pl.String).replace_strict({"C": "call", "P": "put"}).alias("option_type"),
        pl.col("expiration").cast(pl.Date),
        pl.col("date").cast(pl.Date).alias("quote_date"),
        *(pl.col(c).cast(pl.Float64) for c in ("strike", "bid", "ask", "delta")),
        *(pl.col(c).cast(pl.Int64) for c in ("volume", "open_interest")),
    )
    frame.write_csv(path)
    return frame.height


def run_optopsy_peer(
    peer_python: str, csv_path: Path, *, timeout_s: float = 3600.0, n_points: int | None = None,
    script: Path = PEER_SCRIPT,
) -> dict[str, Any]:  # fmt: skip
    """Run ``script`` on ``csv_path`` with the interpreter ``peer_python`` and return its JSON.

    Raises
    ------
    PeerError
        The script or interpreter is missing, the run failed or timed out, or it wrote no JSON; the message
        names the interpreter and quotes the last line of its stderr.
    """
    if not script.is_file():
        msg = f"peer script {script} not found (the peer runs from a source checkout)"
        raise PeerError(msg)
    out = csv_path.with_suffix(".optopsy.json")
    # -I: neither PYTHONPATH nor the script's directory (or the cwd) may shadow the peer's packages
    cmd = [peer_python, "-I", str(script), "--csv", str(csv_path), "--json", str(out)]
    if n_points:
        cmd += ["--points", str(n_points)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
    except FileNotFoundError as exc:
        msg = f"peer interpreter {peer_python} not found ({exc.strerror})"
        raise PeerError(msg) from exc
    except PermissionError as exc:
        msg = f"peer interpreter {peer_python} is not executable ({exc.strerror})"
        raise PeerError(msg) from exc
    except subprocess.TimeoutExpired as exc:
        msg = f"peer {peer_python} {script.name} timed out after {timeout_s:g} s"
        raise PeerError(msg) from exc
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines()
        why = lines[-1] if lines else "no stderr"
        msg = f"peer {peer_python} {script.name} exited with status {proc.returncode}: {why}"
        raise PeerError(msg)
    try:
        result: dict[str, Any] = json.loads(out.read_text())
    except (OSError, ValueError) as exc:
        msg = f"peer {peer_python} {script.name} wrote no readable JSON at {out}: {exc}"
        raise PeerError(msg) from exc
    return result


def recorded_peer(quote_rows: int, note: str) -> dict[str, Any]:
    """The recorded optopsy figure scaled to ``quote_rows``, labelled as recorded, with why it is used."""
    return {"status": "recorded", "note": note, "per_point_s": OPTOPSY_S_PER_POINT * quote_rows / OPTOPSY_ROWS,
            "recorded_s_per_point": OPTOPSY_S_PER_POINT, "recorded_rows": OPTOPSY_ROWS,
            "quote_rows": quote_rows}  # fmt: skip


def measure_optopsy(
    peer_python: str, window: pl.DataFrame, *, timeout_s: float = 3600.0, n_points: int | None = None,
    script: Path = PEER_SCRIPT, log: Any = print,
) -> dict[str, Any]:  # fmt: skip
    """Write ``window`` as optopsy's CSV in a temporary directory and time the grid there.

    Returns ``{"status": "measured", ...}`` with the script's numbers, or the :func:`recorded_peer` figure with a
    note saying why the measurement failed (the benchmark never stops on a peer failure).
    """
    with tempfile.TemporaryDirectory(prefix="volengine-optopsy-") as tmp:
        csv_path = Path(tmp) / "chains.csv"
        t0 = time.perf_counter()
        rows = write_optopsy_csv(window, csv_path)
        write_s = time.perf_counter() - t0
        log(f"peer: optopsy on {rows:,} quote rows with {peer_python} (CSV written in {write_s:.1f} s)")
        try:
            result = run_optopsy_peer(peer_python, csv_path, timeout_s=timeout_s, n_points=n_points, script=script)
        except PeerError as exc:
            log(f"peer failed: {exc}; using the recorded figure")
            return recorded_peer(rows, f"{exc}; ratio against the recorded figure")
    if result.get("quote_rows") != rows:
        log(f"peer: optopsy loaded {result.get('quote_rows')} of the {rows:,} rows written")
    return {**result, "status": "measured", "csv_rows": rows, "csv_write_s": write_s}


def _window_inputs(inp: BenchInputs, window: pl.DataFrame, feats: pl.DataFrame) -> BenchInputs:
    from volengine.backtest.engine import day_axis

    inside = pl.col("date").is_between(window["date"].min(), window["date"].max())
    days = pl.DataFrame({"date": inp.days}).filter(inside)["date"]
    day_regime, week = day_axis(feats.filter(inside), days)
    return BenchInputs(window, inp.requests.filter(inside), inp.bars.filter(inside), inp.dividends, days, day_regime,
                       week)  # fmt: skip


def matched_grid(inp: BenchInputs, s: Any, log: Any = print) -> dict[str, Any]:
    """VolEngine's side of the peer grid on ``inp``: 6 structure builds x 4 parameter sets, every stage timed."""
    from volengine.backtest.simulate import param_matrix
    from volengine.config import with_overrides

    builds, trades_per_point = [], []
    for delta, width in itertools.product(PEER_SHORT_DELTAS, PEER_WING_WIDTHS_POINTS):
        sv = with_overrides(s, {"structures": {
            "strikes": {"strike_mode": "delta", "iron_condor_short_delta_abs": delta,
                        "iron_condor_wing_width_points": width},
            "expiry": {"max_dte_days": PEER_MAX_ENTRY_DTE}}})  # fmt: skip
        t, res = _timed_backtest(inp, sv, param_matrix(sv, PEER_PARAM_SETS))
        taken = res.trades.filter(pl.col("contracts") > 0).group_by("param_set").len()
        counts = dict(zip(taken["param_set"].to_list(), taken["len"].to_list(), strict=True))
        per_set = [int(counts.get(i, 0)) for i in range(len(PEER_PARAM_SETS))]
        trades_per_point += per_set
        builds.append({"short_delta": delta, "wing_width_points": width, **t, "trades": per_set})
        log(f"VolEngine matched grid: short delta {delta}, wings {width:g} points: {t['total']:.2f} s")
    total = sum(b["total"] for b in builds)
    n_points = len(builds) * len(PEER_PARAM_SETS)
    return {"quote_rows": inp.contracts.height, "requests": inp.requests.height, "n_points": n_points,
            "grid_s": total, "per_point_s": total / n_points, "trades_per_point_mean": sum(trades_per_point) / n_points,
            "param_sets": PEER_PARAM_SETS, "max_dte_days": PEER_MAX_ENTRY_DTE, "builds": builds}  # fmt: skip


def run_backtest_bench(
    years: int = 10, seed: int = 0, repeat: int = 2, n_sets: int = 100, log: Any = print, *,
    peer_python: str | None = None, peer_years: int = 3, peer_timeout_s: float = 3600.0,
) -> dict[str, Any]:  # fmt: skip
    """Run the protocol of the module docstring and return every number.

    ``peer_python`` (default: the ``VOLENGINE_OPTOPSY_PYTHON`` environment variable) is an interpreter with
    optopsy installed; without it the peer figure is the recorded one.
    """
    from volengine.backtest.engine import _bars, day_axis
    from volengine.backtest.simulate import param_matrix
    from volengine.config import Settings
    from volengine.datasets import cached_market_store
    from volengine.kernels import warmup
    from volengine.pipeline import run_pipeline

    warmup()
    s = Settings()
    start = f"{2024 - years + 1}-01-02"
    log(f"embedded market {start}..2024-12-31 and the pipeline with contracts (not timed)")
    path = cached_market_store(seed=seed, start=start, end="2024-12-31", underlyings=("SPY",))
    pipe = run_pipeline(path, s, keep_contracts=True)
    contracts, feats = pipe.contracts, pipe.features.with_columns(pl.col("underlying").cast(pl.String))
    assert contracts is not None
    days = feats["date"].unique().sort()
    tables = pipe.tables
    req = (
        feats.filter(pl.col("regime").cast(pl.String) != "WARMUP")
        .select("underlying", "date", pl.col("regime").cast(pl.String))
        .with_row_index("request_id")
        .with_columns(
            pl.col("request_id").cast(pl.Int64), pl.lit("iron_condor").alias("choice"), pl.lit("bench").alias("edge"),
            pl.lit(None, pl.String).alias("signal"), pl.lit(1.0).alias("strength"),
        )
    )  # fmt: skip
    inp = BenchInputs(contracts, req, _bars(tables, feats), tables.dividends, days, *day_axis(feats, days))

    log(f"one backtest: {req.height:,} iron condor requests")
    one = min((_timed_backtest(inp, s, param_matrix(s))[0] for _ in range(repeat)), key=lambda d: d["total"])
    log(f"a batch of {n_sets} parameter sets")
    batch, res = _timed_backtest(inp, s, param_matrix(s, _grid(n_sets)))
    trades = res.trades.filter(pl.col("contracts") > 0)
    per_point = batch["total"] / n_sets
    optopsy_scaled = OPTOPSY_S_PER_POINT * contracts.height / OPTOPSY_ROWS
    result = {
        "years": years, "quote_rows": contracts.height, "requests": req.height, "one": one, "batch": batch,
        "n_sets": n_sets, "trades_set0": int(trades.filter(pl.col("param_set") == 0).height),
        "trades_per_set_mean": trades.height / n_sets, "per_point_s": per_point,
        "optopsy_per_point_s_scaled": optopsy_scaled, "speedup_vs_optopsy": optopsy_scaled / per_point,
        "targets": TARGETS,
    }  # fmt: skip
    result["peer"] = _peer(inp, feats, s, peer_python or os.environ.get(PEER_PYTHON_ENV) or None, peer_years,
                           peer_timeout_s, log)  # fmt: skip
    return result


def _peer(inp: BenchInputs, feats: pl.DataFrame, s: Any, peer_python: str | None, peer_years: int,
          timeout_s: float, log: Any) -> dict[str, Any]:  # fmt: skip
    # from the first traded (non-WARMUP) day, so that VolEngine has a request on every day optopsy may enter
    start = inp.requests["date"].min() if inp.requests.height else None
    window = peer_window(inp.contracts, peer_years, start=start)  # type: ignore[arg-type]
    span = {"years": peer_years, "first_date": str(window["date"].min()), "last_date": str(window["date"].max())}
    if peer_python is None:
        note = f"no peer interpreter (--peer-python or {PEER_PYTHON_ENV}); ratio against the recorded figure"
        return {**recorded_peer(window.height, note), **span}
    optopsy = measure_optopsy(peer_python, window, timeout_s=timeout_s, log=log)
    if optopsy["status"] != "measured":
        return {**optopsy, **span}
    log(f"VolEngine on the same {window.height:,} quote rows: the matched 24-point grid")
    ours = matched_grid(_window_inputs(inp, window, feats), s, log)
    return {"status": "measured", **span, "quote_rows": window.height, "per_point_s": optopsy["per_point_s"],
            "ratio": optopsy["per_point_s"] / ours["per_point_s"], "optopsy": optopsy, "volengine": ours}  # fmt: skip


def _years(n: int) -> str:
    return f"{n} year" if n == 1 else f"{n} years"


def render(r: dict[str, Any], console: Any) -> None:
    """Print the result as rich tables."""
    from rich.table import Table

    t = Table(title=f"backtest: {r['years']} years SPY, {r['quote_rows']:,} quote rows, {r['requests']:,} daily "
                    "iron condor requests")  # fmt: skip
    for col in ("stage", "one set (s)", f"{r['n_sets']} sets (s)"):
        t.add_column(col, justify="right" if col != "stage" else "left")
    for k in ("structures", "paths", "simulate", "total"):
        t.add_row(k, f"{r['one'][k]:.2f}", f"{r['batch'][k]:.2f}")
    console.print(t)
    s = Table(title="targets and peer")
    for col in ("measure", "value", "target / peer", "status"):
        s.add_column(col)
    s.add_row("one backtest after data is loaded", f"{r['one']['total']:.2f} s", "<= 5 s",
              "PASS" if r["one"]["total"] <= TARGETS["one_s"] else "MISS")  # fmt: skip
    s.add_row(f"batch of {r['n_sets']} parameter sets", f"{r['batch']['total']:.2f} s", "<= 30 s",
              "PASS" if r["batch"]["total"] <= TARGETS["batch100_s"] else "MISS")  # fmt: skip
    s.add_row("per parameter point (batch)", f"{r['per_point_s'] * 1000:.1f} ms",
              f"optopsy ~{r['optopsy_per_point_s_scaled']:.1f} s (recorded, scaled)",
              f"{r['speedup_vs_optopsy']:,.0f}x faster (recorded)")  # fmt: skip
    peer = r.get("peer")
    if peer is not None and peer["status"] == "measured":
        o, v = peer["optopsy"], peer["volengine"]
        py = ".".join(o["python_version"].split(".")[:2])
        s.add_row(f"per point, {v['n_points']}-point iron condor grid, {_years(peer['years'])} after warm-up",
                  f"{v['per_point_s'] * 1000:.1f} ms",
                  f"optopsy {o['optopsy_version']} (Python {py}, same run, same {peer['quote_rows']:,} rows): "
                  f"{o['per_point_s']:.2f} s/point", f"{peer['ratio']:,.0f}x faster (measured)")  # fmt: skip
    console.print(s)
    console.print(f"trades: {r['trades_set0']:,} in set 0, {r['trades_per_set_mean']:.0f} per set on average")
    if peer is None:
        return
    if peer["status"] != "measured":
        console.print(f"peer: recorded optopsy figure ({OPTOPSY_S_PER_POINT} s/point on {OPTOPSY_ROWS:,} rows, "
                      f"scaled to {peer['quote_rows']:,} rows: {peer['per_point_s']:.1f} s/point); "
                      f"{peer['note']}")  # fmt: skip
        return
    o, v = peer["optopsy"], peer["volengine"]
    console.print(
        f"peer grid ({peer['first_date']}..{peer['last_date']}, {peer['quote_rows']:,} rows): optopsy loads the CSV "
        f"in {o['load_s']:.1f} s, {o['grid_s']:.1f} s for {o['n_points']} points, "
        f"{o['trades_per_point_mean']:,.0f} trades per point (raw=True rows), peak RSS {o['peak_rss_mib']:,.0f} MiB; "
        f"VolEngine {v['grid_s']:.1f} s for {v['n_points']} points, {v['trades_per_point_mean']:,.0f} trades per point "
        "(wings by width, with portfolio sizing, risk limits and the stress grid)"
    )
