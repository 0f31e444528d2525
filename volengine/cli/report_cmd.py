"""``volengine report ...``: reports of a finished backtest run (the quantstats tearsheet and charts)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from volengine.errors import VolEngineError

report_app = typer.Typer(
    help="Reports of a backtest run directory.\n\nExample: volengine report tearsheet runs/ic-spy-20250102T160000",
    no_args_is_help=True,
)


@report_app.command("tearsheet")
def tearsheet(
    ctx: typer.Context,
    run_dir: Annotated[
        Path, typer.Argument(help="Run directory (equity.parquet, trades.parquet).", show_default=False)
    ],
    benchmark: Annotated[
        str | None,
        typer.Option(
            "--benchmark",
            help="Benchmark symbol; its data from RUN_DIR/benchmark.parquet, else the --store bars (no network).",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", help="HTML file (default RUN_DIR/report/tearsheet.html).", show_default=False),
    ] = None,
    store: Annotated[
        Path | None,
        typer.Option(
            "--store",
            help="Store with the benchmark's bars (used when RUN_DIR has no benchmark.parquet).",
            show_default=False,
        ),
    ] = None,
    title: Annotated[
        str | None, typer.Option("--title", help="Report title (default: VolEngine RUN_DIR name).", show_default=False)
    ] = None,
    param_set: Annotated[int, typer.Option("--param-set", min=0, help="Parameter set of a sweep run to report.")] = 0,
) -> None:
    """Write the quantstats HTML tearsheet and the equity/drawdown, P&L-by-regime and Greeks PNGs of a run.

    Example: volengine report tearsheet runs/ic-spy-20250102T160000 --benchmark SPY --store ./store
    """
    try:
        paths = _run(run_dir, benchmark, output, store, title, param_set)
    except VolEngineError as exc:
        if ctx.find_root().params.get("debug"):
            raise
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(code=1) from None
    for name, path in paths.items():
        typer.echo(f"{name}: {path}")


def _run(
    run_dir: Path, benchmark: str | None, output: Path | None, store: Path | None, title: str | None, param_set: int
) -> dict[str, Path]:
    from volengine.report.tearsheet import load_benchmark, load_run
    from volengine.report.tearsheet import tearsheet as write_tearsheet

    load_run(run_dir, param_set=param_set)  # a missing run fails here, before the benchmark is looked for
    symbol = benchmark.strip().upper() if benchmark else None
    bench = None if symbol is None else load_benchmark(run_dir, symbol, store)
    return write_tearsheet(run_dir, symbol, output, benchmark_returns=bench, title=title, param_set=param_set)
