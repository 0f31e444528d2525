"""Benchmark of the whole pipeline (``volengine bench pipeline``): store to feature/regime/edge frame.

Protocol:

1. the embedded synthetic market (seed, years, one underlying, full daily chains) as a Store (generated
   once and cached, not timed);
2. **cold**: :func:`volengine.pipeline.run_pipeline` with the chain-stage cache off: read, parity forwards,
   IV and Greeks of every quote row, smile summaries, dealer gamma, events, realized vol, regime, edges;
   ``repeat`` runs, the best counts; stages and the IV / Greeks kernel seconds reported, with quote rows/s;
3. **warm**: the same run through the chain-stage cache (first filled), and
   :func:`volengine.pipeline.signal` for the last day, in process;
4. **signal CLI**: ``volengine signal --json`` in a fresh interpreter on that store, wall time (imports,
   Numba cache load and the run: what a user waits for);
5. **peer**: the numpy + scipy implied-vol and Greeks baselines of :mod:`volengine.bench.baselines` on a
   slice of the same quote rows (same forwards, rates and times), as ns per row against ours.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

TARGETS = {"cold_s": 20.0, "iv_greeks_s": 1.5, "signal_warm_s": 3.0}


def _best(fn: Any, repeat: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def _peer(store_path: Path, n: int) -> dict[str, float]:
    """ns/row of our IV + Greeks kernels and of the numpy+scipy baselines on the same n quote rows."""
    from volengine.analytics.contracts import contract_analytics
    from volengine.bench.baselines import Book, numpy_greeks, numpy_implied_vol
    from volengine.data.store import Store
    from volengine.kernels import bs_greeks, implied_vol

    st = Store(store_path)
    q = st.scan("option_quotes").head(n).collect()
    c = contract_analytics(q, st.read("rates"))
    c = c.filter(c["mid"].is_not_null() & c["t"].gt(0))
    t = c["t"].to_numpy()
    div = c["rate"].to_numpy() - np.log(c["forward"].to_numpy() / c["underlying_price"].to_numpy()) / t
    book = Book(c["underlying_price"].to_numpy(), c["strike"].to_numpy(), t, c["rate"].to_numpy(), div,
                c["iv"].fill_nan(0.2).to_numpy(), (c["right"] == "C").to_numpy().astype(np.int8))  # fmt: skip
    price = c["mid"].to_numpy()
    call = book.is_call.astype(bool)
    ours_iv, _ = _best(lambda: implied_vol(price, book.spot, book.strike, t, book.rate, div, call), 3)
    ours_g, _ = _best(lambda: bs_greeks(book.spot, book.strike, t, book.rate, div, book.vol, call), 3)
    peer_iv, _ = _best(lambda: numpy_implied_vol(price, book), 1)
    peer_g, _ = _best(lambda: numpy_greeks(book), 1)
    m = book.n
    return {"rows": m, "ours_iv_ns": 1e9 * ours_iv / m, "ours_greeks_ns": 1e9 * ours_g / m,
            "numpy_iv_ns": 1e9 * peer_iv / m, "numpy_greeks_ns": 1e9 * peer_g / m}  # fmt: skip


def run_pipeline_bench(
    years: int = 10, seed: int = 0, repeat: int = 2, peer_rows: int = 500_000, log: Any = print
) -> dict[str, Any]:
    """Run the protocol of the module docstring and return every number."""
    from volengine.datasets import cached_market_store
    from volengine.kernels import warmup
    from volengine.pipeline import run_pipeline, signal

    warmup()
    end_year = 2024
    start = f"{end_year - years + 1}-01-02"
    log(f"embedded market {start}..{end_year}-12-31 (generated once, then cached)")
    path = cached_market_store(seed=seed, start=start, end=f"{end_year}-12-31", underlyings=("SPY",))
    log("cold runs (chain-stage cache off)")
    cold_s, cold = _best(lambda: run_pipeline(path, use_cache=False), repeat)
    log("warm runs (chain-stage cache on)")
    run_pipeline(path)
    warm_s, _ = _best(lambda: run_pipeline(path), repeat)
    sig_s, _ = _best(lambda: signal(path), repeat)
    log("volengine signal --json in a fresh interpreter")
    cli = [sys.executable, "-m", "volengine.cli.app", "signal", "--store", str(path), "--json"]
    t0 = time.perf_counter()
    proc = subprocess.run(cli, capture_output=True, text=True, env=os.environ.copy(), check=False)
    cli_s = time.perf_counter() - t0
    log(f"peer: numpy + scipy on {peer_rows:,} quote rows")
    peer = _peer(path, peer_rows)
    quotes = cold.rows.get("quotes", 0)
    stages = dict(cold.timings)
    return {
        "store": str(path), "years": years, "quotes": quotes, "chains": cold.rows.get("chains", 0),
        "days": cold.rows.get("days", 0), "cold_s": cold_s, "cold_stages_s": stages, "cold_detail_s": cold.detail,
        "rows_per_s": quotes / cold_s if cold_s else float("nan"),
        "iv_greeks_s": cold.detail.get("iv", 0.0) + cold.detail.get("greeks", 0.0),
        "warm_s": warm_s, "signal_warm_s": sig_s, "signal_cli_s": cli_s, "signal_cli_ok": proc.returncode == 0,
        "peer": peer, "targets": TARGETS, "cpus": len(os.sched_getaffinity(0)),
    }  # fmt: skip


def render(result: dict[str, Any], console: Any) -> None:
    """Print the result as rich tables."""
    from rich.table import Table

    cold = result["cold_s"]
    t = Table(title=f"pipeline: {result['years']} years SPY, {result['quotes']:,} quote rows, "
                    f"{result['chains']:,} chains, {result['days']:,} days, {result['cpus']} CPUs")  # fmt: skip
    for col in ("stage", "seconds", "share"):
        t.add_column(col, justify="right" if col != "stage" else "left")
    for k, v in result["cold_stages_s"].items():
        t.add_row(k, f"{v:.2f}", f"{100 * v / cold:.0f} %")
    for k, v in result["cold_detail_s"].items():
        t.add_row(f"  of which {k}", f"{v:.2f}", f"{100 * v / cold:.0f} %")
    t.add_row("[bold]cold total[/bold]", f"{cold:.2f}", f"{result['rows_per_s'] / 1e6:.2f} M rows/s")
    console.print(t)
    s = Table(title="targets")
    for col in ("measure", "value", "target", "status"):
        s.add_column(col)
    checks = [("cold store -> frame", cold, TARGETS["cold_s"]),
              ("IV + Greeks, all rows", result["iv_greeks_s"], TARGETS["iv_greeks_s"]),
              ("signal, warm (in process)", result["signal_warm_s"], TARGETS["signal_warm_s"]),
              ("volengine signal --json (new process)", result["signal_cli_s"], TARGETS["signal_warm_s"])]  # fmt: skip
    for name, v, target in checks:
        s.add_row(name, f"{v:.2f} s", f"<= {target:.1f} s", "PASS" if v <= target else "MISS")
    s.add_row("warm full history (cache)", f"{result['warm_s']:.2f} s", "-", "-")
    console.print(s)
    p = result["peer"]
    r = Table(title=f"peer: numpy + scipy on {p['rows']:,} of the same quote rows (ns/row, one call)")
    for col in ("task", "VolEngine", "numpy+scipy", "ratio"):
        r.add_column(col)
    r.add_row(
        "implied vol", f"{p['ours_iv_ns']:.0f}", f"{p['numpy_iv_ns']:.0f}", f"{p['ours_iv_ns'] / p['numpy_iv_ns']:.2f}x"
    )
    r.add_row("all Greeks", f"{p['ours_greeks_ns']:.0f}", f"{p['numpy_greeks_ns']:.0f}",
              f"{p['ours_greeks_ns'] / p['numpy_greeks_ns']:.2f}x")  # fmt: skip
    console.print(r)
