"""Rich tables of ``volengine bench kernels``: environment, parity, timings, targets."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from volengine.bench.baselines import GREEKS
from volengine.bench.kernels import OWN_IV_TOL, TASK_LABELS, TASKS, iv_ok
from volengine.bench.peers import INSTALL_HINT


def _e(x: float | None) -> str:
    return "-" if x is None else f"{x:.1e}"


def _status(text: str) -> str:
    if text.startswith(("PASS", "ok")):
        return f"[green]{text}[/green]"
    if text.startswith(("MISS", "FAIL")):
        return f"[red]{text}[/red]"
    return f"[yellow]{text}[/yellow]"


def render_environment(env: dict[str, Any], console: Console) -> None:
    """One paragraph: versions, CPU, threads, threading layer and SVML."""
    v = env["versions"]
    svml = "available" if env["svml"].get("operational") else "unavailable"
    console.print(
        f"[bold]Environment[/bold]: Python {env['python']} | numpy {v['numpy']} | scipy {v['scipy']} | "
        f"numba {v['numba']} (llvmlite {v['llvmlite']}, threading layer {env['threading_layer']}, "
        f"SVML {svml}) | "
        f"pyvolr {v['pyvolr']} | iv-engine {v['iv-engine']} | mpmath {v['mpmath']}\n"
        f"CPU {env['cpu']} ({env['llvm_cpu']}), {env['cpus_allowed']} CPUs allowed | VolEngine numba threads "
        f"{','.join(map(str, env['volengine_threads']))} | peers {env['peer_threads']} | "
        "numpy baseline 1 thread"
    )


def render_parity(result: dict[str, Any], console: Console) -> None:
    """Max relative errors of price and Greeks, and implied-vol failures, per library."""
    par = result["parity"]
    table = Table(
        title=f"Parity: max relative error vs mpmath 40 digits ({par['n']:,} options, seed {par['seed']}) "
        "and vs VolEngine (price: rows with price > 1e-6; Greeks floored at 1e-10 max|ref|)"
    )
    table.add_column("library")
    table.add_column("vs")
    for name in GREEKS:
        table.add_column(name, justify="right")
    table.add_column("price max abs", justify="right")
    table.add_column("status")
    labels = {k: k for k in par["greeks"]}
    for key, rep in par["greeks"].items():
        status = "ok" if rep["ok"] else "FAILED parity: " + escape("; ".join(rep["problems"]))
        if key != "volengine" and not rep["ok"]:
            status += " (not a peer)"
        for vs, label in (("vs_mpmath", "mpmath"), ("vs_volengine", "volengine")):
            if key == "volengine" and vs == "vs_volengine":
                continue
            cells = [_e(rep[vs].get(name)) for name in GREEKS]
            tail = [_e(rep["price_max_abs"]), _status(status)] if vs == "vs_mpmath" else ["", ""]
            table.add_row(labels[key] if vs == "vs_mpmath" else "", label, *cells, *tail)
    console.print(table)
    for key, rep in par["greeks"].items():
        if key not in ("volengine", "numpy") and rep.get("units"):
            console.print(
                f"Units, {key}: {escape(rep['units'])}; median ratios to mpmath all 1 within 1e-6: "
                f"{'yes' if not any('median ratio' in p for p in rep['problems']) else 'NO'}"
            )
    render_iv_parity(result, console)


def _iv_cells(st: dict[str, Any]) -> list[str]:
    return [
        f"{st['failures']} / {st['well_posed']:,}",
        f"{st['failures_far']} / {st['far_rows']:,}",
        f"{st['failures_short']} / {st['short_rows']:,}",
        _e(st["max_abs_err"]),
    ]


def render_iv_parity(result: dict[str, Any], console: Console) -> None:
    """Implied-vol failures on well-posed rows of the parity book and of every timing book."""
    table = Table(
        title="Implied-vol parity: failures (NaN or |iv - true vol| > 1e-6) / well-posed rows "
        "(time value > 1e-12 F, noise floor 4 eps (price + S\\[ITM]) / vega <= 1e-8)"
    )
    for col in ("library", "book", "failures", "> 3 sd", "T < 1 week", "max abs err", "status"):
        table.add_column(col, justify="left" if col in ("library", "book", "status") else "right")
    books = [(f"parity book ({result['parity']['n']:,}, mpmath prices)", result["parity"]["iv"])]
    books += [(f"full book N={run['n']:,} (volengine prices)", run["iv_full_book"]) for run in result["runs"]]
    for key in result["parity"]["iv"]:
        for i, (label, stats) in enumerate(books):
            st = stats.get(key)
            if st is None:
                continue
            status = "ok" if iv_ok(key, st) else "FAILED parity"
            if key == "volengine" and st["failures"] == 0 and not iv_ok(key, st):
                status = f"MISS accuracy gate (max err > {OWN_IV_TOL:.0e})"
            table.add_row(key if i == 0 else "", label, *_iv_cells(st), _status(status))
    console.print(table)


def _ratio(x: float, y: float) -> str:
    return f"{x / y:.2f}x"


def render_timings(run: dict[str, Any], result: dict[str, Any], console: Console) -> None:
    """Median ns/option per implementation, with the ratio of each VolEngine thread count to every peer."""
    rows = run["timings"]
    threads = result["environment"]["volengine_threads"]
    ours = {
        (r["task"], r["own_threads"]): r["median_ns"]
        for r in rows
        if r["library"] == "volengine" and r["variant"] == "fresh"
    }
    table = Table(
        title=f"Kernel timings, N={run['n']:,} options (seed {run['seed']}): median ns/option over "
        "interleaved rounds, warm-up excluded, fresh outputs unless noted"
    )
    table.add_column("task")
    table.add_column("implementation")
    table.add_column("threads", justify="right")
    table.add_column("ns/option", justify="right")
    for k in threads:
        table.add_column(f"ours {k}t / this", justify="right")
    table.add_column("rounds used/run", justify="right")
    table.add_column("note")
    ok = result["parity_ok"]
    for task in TASKS:
        for r in (r for r in rows if r["task"] == task):
            mine = r["library"] == "volengine"
            ratios = [""] * len(threads) if mine else [_ratio(ours[(task, k)], r["median_ns"]) for k in threads]
            note = ""
            if r["variant"] == "out=":
                note = "preallocated output (reuse across chunks)"
            elif r["variant"] == "price+greeks":
                note = "two calls (bs.greeks has no price)"
            if not mine and not ok.get(r["library"], {}).get(task, False):
                note = (note + "; " if note else "") + "[red]FAILED parity: not a peer[/red]"
            rounds = f"{r['rounds_used']}/{r['rounds']}"
            if r["noise"] == "noisy":
                rounds = f"[yellow]{rounds} noisy[/yellow]"
            name = f"{r['library']} {r['name']}"
            table.add_row(TASK_LABELS[task], name, r["threads"], f"{r['median_ns']:,.1f}", *ratios, rounds, note)
        table.add_section()
    for key, msg in result["missing"].items():
        table.add_row("all", key, "", "-", *[""] * len(threads), "", f"[yellow]{escape(msg or INSTALL_HINT)}[/yellow]")
    console.print(table)


def render_targets(run: dict[str, Any], cold: dict[str, Any] | None, console: Console) -> None:
    """PASS / MISS of every target (ratios are VolEngine over the named peer, same process)."""
    table = Table(title=f"Targets, N={run['n']:,} (ratio = VolEngine / peer, same process, same arrays)")
    for col in ("target", "ours ns", "peer ns", "ratio", "limit", "result"):
        table.add_column(col, justify="left" if col in ("target", "result") else "right")
    for t in run["targets"]:
        if t.get("ratio") is None:
            table.add_row(t["target"], "-", "-", "-", f"{t['limit']:.2f}x", _status(escape(t["result"])))
            continue
        table.add_row(
            t["target"],
            f"{t['ours_ns']:,.1f}",
            f"{t['peer_ns']:,.1f}",
            f"{t['ratio']:.2f}x",
            f"{t['limit']:.2f}x",
            _status(t["result"]),
        )
    if cold is not None:
        if "error" in cold:
            table.add_row("cold start", "-", "-", "-", "< 0.60 s", _status(f"FAIL: {escape(cold['error'])}"))
        else:
            m = cold["median"]
            table.add_row(
                f"cold start: import + first price/Greeks/IV, warm cache (subprocess wall {m['wall']:.2f} s)",
                f"{m['total']:.3f} s",
                "-",
                "-",
                f"< {cold['target_s']:.2f} s",
                _status(cold["result"]),
            )
    console.print(table)


def render(result: dict[str, Any], console: Console) -> None:
    """Print every table of a :func:`volengine.bench.kernels.run_kernels_bench` result."""
    render_environment(result["environment"], console)
    render_parity(result, console)
    for i, run in enumerate(result["runs"]):
        render_timings(run, result, console)
        render_targets(run, result["cold_start"] if i == len(result["runs"]) - 1 else None, console)
    if result["cold_start"] and "median" in result["cold_start"]:
        m = result["cold_start"]["median"]
        console.print(
            f"Cold start (median of 3 fresh interpreters): import {m['import']:.3f} s, first price "
            f"{m['price']:.3f} s, first Greeks {m['greeks']:.3f} s, first IV {m['iv']:.3f} s; "
            f"total {m['total']:.3f} s, subprocess wall {m['wall']:.3f} s"
        )
