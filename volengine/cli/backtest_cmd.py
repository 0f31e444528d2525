"""``volengine backtest``: the default strategy book through the one pipeline and the simulator."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def backtest(
    config: Annotated[Path | None, typer.Option("--config", help="Settings YAML overriding the defaults.")] = None,
    store: Annotated[
        Path | None, typer.Option("--store", help="Store directory (default: the cached embedded market).")
    ] = None,
    start: Annotated[str | None, typer.Option("--start", help="First trading day (YYYY-MM-DD).")] = None,
    end: Annotated[str | None, typer.Option("--end", help="Last day read (YYYY-MM-DD).")] = None,
    runs_dir: Annotated[Path, typer.Option("--runs-dir", help="Where run directories are written.")] = Path("runs"),
    name: Annotated[str, typer.Option("--name", help="Run name (directory prefix).")] = "backtest",
) -> None:
    """Backtest the regime-aware, defined-risk strategy book and write runs/<name>-<timestamp>/.

    The run directory holds config.json, trades.parquet, legs.parquet, equity.parquet and metrics.json.

    Example: volengine backtest --store ./store --start 2016-01-04
    """
    from rich.console import Console

    from volengine.backtest.engine import run_backtest
    from volengine.backtest.report import summary_rows
    from volengine.config import load_settings

    console = Console()
    settings = load_settings(config)
    if store is None:
        from volengine.datasets import cached_market_store

        with console.status("embedded market (generated once, then cached) ..."):
            store = cached_market_store(seed=0, start="2015-01-02", end="2024-12-31", underlyings=("SPY",))
    with console.status("pipeline, structures, paths and the simulator ..."):
        run = run_backtest(store, settings, start=start, end=end, runs_dir=runs_dir, name=name)
    for table in summary_rows(run):
        console.print(table)
    console.print(f"run directory: {run.run_dir}")
