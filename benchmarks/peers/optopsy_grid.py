"""The optopsy side of ``volengine bench backtest --peer-python``: a 24-point iron-condor grid on one CSV.

Run by the peer interpreter (optopsy 2.3 needs Python >= 3.12), so it imports only the standard library,
pandas and optopsy, never volengine::

    .venv-optopsy/bin/python benchmarks/peers/optopsy_grid.py --csv chains.csv --json out.json [--points N]

Protocol:

1. ``optopsy.csv_data`` loads the CSV written by ``volengine.bench.backtest.write_optopsy_csv`` (its columns are
   mapped by index, read here from the header); the load is timed on its own;
2. ``optopsy.iron_condor(data, raw=True, ...)`` runs once per grid point: short |delta| {0.16, 0.20, 0.25}
   (legs 2 and 3) x wing |delta| {0.05, 0.10} (legs 1 and 4), each a ``TargetRange`` of +-0.04 around the
   target, x exit DTE {21, 14} x take profit {0.50, 0.75} of the entry credit; fixed: ``max_entry_dte`` 45,
   ``slippage`` "per_leg", ``commission`` 0.65 per contract, ``stop_loss`` -1.0 (a loss of the whole credit;
   optopsy wants a negative fraction of the entry cost);
3. each point is timed with ``time.perf_counter``; ``raw=True`` returns one row per simulated trade (the
   default returns summary statistics grouped by DTE and delta bucket), so the row count is the trade count.

The JSON holds every point (seconds, trades, exit types, median return), the load time, the peak RSS and the
versions. Exit status 2 when optopsy is missing or the CSV lacks a column, 1 on any other failure.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import platform
import resource
import statistics
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

SHORT_DELTAS = (0.16, 0.20, 0.25)
WING_DELTAS = (0.05, 0.10)
EXIT_DTE_DAYS = (21, 14)
TAKE_PROFITS = (0.50, 0.75)
#: half-width of each leg's |delta| window around its target
DELTA_HALF_RANGE = 0.04
FIXED: dict[str, Any] = {
    "max_entry_dte": 45,
    "slippage": "per_leg",
    "commission": 0.65,
    "stop_loss": -1.0,
    "raw": True,
}
#: CSV columns, each passed to optopsy.csv_data as its index in the header
COLUMNS = (
    "underlying_symbol",
    "underlying_price",
    "option_type",
    "expiration",
    "quote_date",
    "strike",
    "bid",
    "ask",
    "delta",
    "volume",
    "open_interest",
)


def grid() -> list[dict[str, float]]:
    """The 24 grid points, short delta outermost, take profit innermost."""
    axes = itertools.product(SHORT_DELTAS, WING_DELTAS, EXIT_DTE_DAYS, TAKE_PROFITS)
    return [{"short_delta": s, "wing_delta": w, "exit_dte": d, "take_profit": tp} for s, w, d, tp in axes]


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def _column_indices(path: Path) -> dict[str, int]:
    with path.open(newline="") as f:
        header = next(csv.reader(f), [])
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        msg = f"CSV {path} lacks column(s) {', '.join(missing)}; header: {', '.join(header) or '(empty)'}"
        raise KeyError(msg)
    return {c: header.index(c) for c in COLUMNS}


def _point_kwargs(optopsy: Any, point: dict[str, float]) -> dict[str, Any]:
    def window(target: float) -> Any:
        lo = max(round(target - DELTA_HALF_RANGE, 4), 0.01)  # TargetRange wants 0 < min <= target
        return optopsy.TargetRange(target=target, min=lo, max=round(target + DELTA_HALF_RANGE, 4))

    short, wing = window(point["short_delta"]), window(point["wing_delta"])
    return {**FIXED, "leg1_delta": wing, "leg2_delta": short, "leg3_delta": short, "leg4_delta": wing,
            "exit_dte": int(point["exit_dte"]), "take_profit": float(point["take_profit"])}  # fmt: skip


def run(csv_path: Path, n_points: int | None) -> dict[str, Any]:
    """Load ``csv_path`` with optopsy and time the grid (its first ``n_points`` points when given)."""
    import optopsy
    import pandas as pd

    idx = _column_indices(csv_path)
    t0 = time.perf_counter()
    data = optopsy.csv_data(str(csv_path), **idx)
    load_s = time.perf_counter() - t0
    points = grid()[:n_points] if n_points else grid()
    out = []
    for point in points:
        t0 = time.perf_counter()
        trades = optopsy.iron_condor(data, **_point_kwargs(optopsy, point))
        seconds = time.perf_counter() - t0
        exits = trades["exit_type"].value_counts().to_dict() if "exit_type" in trades.columns else {}
        pct = trades["pct_change"].dropna() if "pct_change" in trades.columns else pd.Series(dtype=float)
        out.append({**point, "seconds": seconds, "rows": len(trades),
                    "exit_types": {str(k): int(v) for k, v in exits.items()},
                    "median_pct_change": float(pct.median()) if len(pct) else None,
                    "peak_rss_mib": _peak_rss_mib()})  # fmt: skip
    grid_s = sum(p["seconds"] for p in out)
    return {
        "peer": "optopsy",
        "optopsy_version": metadata.version("optopsy"),
        "optopsy_dunder_version": getattr(optopsy, "__version__", None),
        "pandas_version": pd.__version__,
        "python_version": platform.python_version(),
        "python": sys.executable,
        "csv": str(csv_path),
        "quote_rows": len(data),
        "quote_days": int(data["quote_date"].nunique()),
        "load_s": load_s,
        "output": "raw=True: one row per trade",
        "fixed": FIXED,
        "delta_half_range": DELTA_HALF_RANGE,
        "n_points": len(out),
        "grid_s": grid_s,
        "per_point_s": grid_s / len(out) if out else None,
        "trades_per_point_mean": statistics.fmean(p["rows"] for p in out) if out else None,
        "peak_rss_mib": _peak_rss_mib(),
        "points": out,
    }


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, run the grid and write the JSON; the exit status says what failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, required=True, help="Chains written by write_optopsy_csv.")
    parser.add_argument("--json", type=Path, required=True, help="Where to write the result.")
    parser.add_argument("--points", type=int, default=None, help="Run only the first N of the 24 grid points.")
    args = parser.parse_args(argv)
    try:
        import optopsy  # noqa: F401
    except ImportError as exc:
        print(f"optopsy is not installed in {sys.executable} (Python {platform.python_version()}): {exc}",
              file=sys.stderr)  # fmt: skip
        return 2
    try:
        result = run(args.csv, args.points)
    except (KeyError, FileNotFoundError) as exc:
        print(f"optopsy_grid: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 2
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
