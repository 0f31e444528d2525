"""``volengine bench ...``: benchmarks against named peers, measured as ratios in the same process.

Heavy imports (numba kernels, peers, mpmath, rich tables) happen inside the commands so that
``volengine --help`` stays fast.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

bench_app = typer.Typer(
    help=(
        "Benchmarks against named peers, measured as ratios in the same process.\n\n"
        "Example: volengine bench kernels --n 1000000"
    ),
    no_args_is_help=True,
)


def _consoles(width: int) -> tuple[Any, Any]:
    """Result console (fixed width when piped) and a stderr console for progress."""
    import sys

    from rich.console import Console

    return (Console() if sys.stdout.isatty() else Console(width=width)), Console(stderr=True)


def _finish(result: dict[str, Any], render: Callable[[dict[str, Any], Any], None], console: Any,
            json_path: Path | None) -> None:  # fmt: skip
    """Render ``result`` and, when asked, write every number as JSON (non-finite numbers become null)."""
    from volengine.bench.kernels import write_json

    render(result, console)
    if json_path is not None:
        write_json(result, json_path)
        console.print(f"wrote {json_path}")


def _parse_threads(values: list[str]) -> list[int]:
    out: list[int] = []
    for value in values:
        for part in value.split(","):
            part = part.strip()
            if not part:
                continue
            if not part.isdigit() or int(part) < 1:
                msg = f"--threads takes positive integers such as 2,1; got {part!r}"
                raise typer.BadParameter(msg)
            out.append(int(part))
    return out or [2, 1]


@bench_app.command("kernels")
def kernels(
    *,
    n: Annotated[
        list[int] | None,
        typer.Option("--n", min=1, help="Options per book; repeat for several sizes (e.g. 100000, 1000000)."),
    ] = None,
    repeat: Annotated[
        int | None,
        typer.Option("--repeat", "-r", min=1, help="Round-robin rounds per task (default 9 at 1e6, fewer at 1e7)."),
    ] = None,
    threads: Annotated[
        list[str] | None,
        typer.Option("--threads", help="Numba thread counts for VolEngine, comma-separated (default 2,1)."),
    ] = None,
    json_path: Annotated[
        Path | None,
        typer.Option("--json", dir_okay=False, help="Also write every number and the environment here."),
    ] = None,
    parity_n: Annotated[int, typer.Option("--parity-n", min=1, help="Options in the mpmath parity book.")] = 2000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the timing books (parity book: seed + 1).")] = 20240601,
    peers: Annotated[
        bool,
        typer.Option("--peers/--no-peers", help="Include pyvolr, iv-engine and the numpy + scipy baseline."),
    ] = True,
    cold_start: Annotated[
        bool,
        typer.Option("--cold-start/--no-cold-start", help="Time fresh interpreters on a warm numba cache."),
    ] = True,
) -> None:
    """Time price, price + Greeks and implied vol against pyvolr, iv-engine and numpy + scipy.

    Parity first: a 40-digit mpmath reference for price and Greeks, implied-vol failures on well-posed rows.

    Then interleaved rounds on one seeded hard book: median ns/option, VolEngine / peer ratios, PASS / MISS.

    Peers: pip install 'volengine\\[bench]' (a missing peer is reported, not fatal). Always exits 0.

    Example: volengine bench kernels --n 1000000
    """
    from volengine.bench.kernels import run_kernels_bench
    from volengine.bench.report import render

    console, progress = _consoles(180)
    result = run_kernels_bench(
        n or [1_000_000],
        repeat=repeat,
        threads=_parse_threads(threads or []),
        parity_n=parity_n,
        seed=seed,
        peers=peers,
        with_cold_start=cold_start,
        log=lambda msg: progress.print(f"[dim]{msg}[/dim]"),
    )
    _finish(result, render, console, json_path)


@bench_app.command("import")
def import_(
    *,
    rows: Annotated[
        int,
        typer.Option("--rows", min=2, help="Canonical quote rows to generate (each OptionsDX line holds two)."),
    ] = 2_000_000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the generated OptionsDX file.")] = 20240601,
    batch_rows: Annotated[int, typer.Option("--batch-rows", min=1, help="Lines per import batch.")] = 500_000,
    repeat: Annotated[
        int, typer.Option("--repeat", "-r", min=1, help="Imports timed (each into a fresh store); the best counts.")
    ] = 3,
    pandas_python: Annotated[
        bool,
        typer.Option(
            "--pandas-python/--no-pandas-python",
            help='Also time the literal pandas.read_csv(sep=", ", engine="python") (slow).',
        ),
    ] = True,
    json_path: Annotated[
        Path | None,
        typer.Option("--json", dir_okay=False, help="Also write every number here."),
    ] = None,
) -> None:
    """Time volengine data import optionsdx end to end (parse, validate, Parquet store) against pandas.

    A seeded OptionsDX-layout file in a temporary directory is imported into a fresh store.

    Reports quote rows/s (each OptionsDX line holds two quote rows) and the time of each step.

    Ratios to pandas.read_csv of the same file (pandas only parses). Target: 2,000,000 quote rows/s on 2 cores.

    Always exits 0.

    Example: volengine bench import --rows 2000000
    """
    from volengine.bench.imports import render, run_import_bench

    console, progress = _consoles(180)
    result = run_import_bench(
        rows,
        seed=seed,
        batch_rows=batch_rows,
        repeat=repeat,
        use_pandas_python=pandas_python,
        log=lambda msg: progress.print(f"[dim]{msg}[/dim]"),
    )
    _finish(result, render, console, json_path)


@bench_app.command("pipeline")
def pipeline(
    *,
    years: Annotated[int, typer.Option("--years", min=1, max=10, help="Years of the embedded SPY market.")] = 10,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the embedded market.")] = 0,
    repeat: Annotated[int, typer.Option("--repeat", "-r", min=1, help="Runs timed; the best counts.")] = 2,
    peer_rows: Annotated[int, typer.Option("--peer-rows", min=1000, help="Quote rows timed for the peer.")] = 500_000,
    json_path: Annotated[
        Path | None, typer.Option("--json", dir_okay=False, help="Also write every number here.")
    ] = None,
) -> None:
    """Time the whole pipeline, store to feature/regime/edge frame, cold and warm, and the daily signal.

    Targets: 10 years of full chains in <= 20 s on 2 cores, IV and Greeks of all rows <= 1.5 s of that,
    `volengine signal` <= 3 s warm. Peer: numpy + scipy IV and Greeks on the same rows. Always exits 0.

    Example: volengine bench pipeline --years 10
    """
    from volengine.bench.pipeline import render, run_pipeline_bench

    console, progress = _consoles(160)
    result = run_pipeline_bench(years, seed=seed, repeat=repeat, peer_rows=peer_rows,
                                log=lambda msg: progress.print(f"[dim]{msg}[/dim]"))  # fmt: skip
    _finish(result, render, console, json_path)


@bench_app.command("backtest")
def backtest_bench(
    *,
    years: Annotated[int, typer.Option("--years", min=1, max=10, help="Years of the embedded SPY market.")] = 10,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the embedded market.")] = 0,
    repeat: Annotated[int, typer.Option("--repeat", "-r", min=1, help="Single runs timed; the best counts.")] = 2,
    n_sets: Annotated[int, typer.Option("--sets", min=1, max=200, help="Parameter sets in the batch.")] = 100,
    peer_python: Annotated[
        str | None,
        typer.Option(
            "--peer-python",
            envvar="VOLENGINE_OPTOPSY_PYTHON",
            help="Python interpreter with optopsy 2.3 installed (make peer-env: .venv-optopsy/bin/python).",
        ),
    ] = None,
    peer_years: Annotated[
        int, typer.Option("--peer-years", min=1, max=10, help="Years of the peer grid, from the first traded day.")
    ] = 3,
    json_path: Annotated[
        Path | None, typer.Option("--json", dir_okay=False, help="Also write every number here.")
    ] = None,
) -> None:
    """Time daily iron condors over the embedded market: one backtest and a batch of parameter sets.

    Targets: one 10-year backtest in <= 5 s after data is loaded, 100 parameter sets in <= 30 s. Peer: with
    --peer-python, optopsy's iron condor and VolEngine on a matched 24-point grid over --peer-years years from
    the first traded day, measured in the same run; otherwise (or if the peer fails) optopsy's recorded figure, labelled
    "recorded". Always exits 0.

    Example: volengine bench backtest --years 10 --sets 100 --peer-python .venv-optopsy/bin/python
    """
    from volengine.bench.backtest import render, run_backtest_bench

    console, progress = _consoles(160)
    result = run_backtest_bench(years, seed=seed, repeat=repeat, n_sets=n_sets, peer_python=peer_python,
                                peer_years=peer_years, log=lambda msg: progress.print(f"[dim]{msg}[/dim]"))  # fmt: skip
    _finish(result, render, console, json_path)
