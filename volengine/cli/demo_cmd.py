"""``volengine demo``: the main job on the embedded default data, as far as it is built."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def demo(
    config: Annotated[Path | None, typer.Option("--config", help="Settings YAML overriding the defaults.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the synthetic market.")] = 0,
    start: Annotated[str, typer.Option("--start", help="First session of the market.")] = "2015-01-02",
    end: Annotated[str, typer.Option("--end", help="Last session of the market.")] = "2024-12-31",
    runs_dir: Annotated[Path, typer.Option("--runs-dir", help="Where the backtest run directory goes.")] = Path("runs"),
) -> None:
    """Run the main job on the embedded default data: pipeline, backtest, tearsheet; print a summary.

    The first run generates the market (about half a minute for 10 years of SPY chains); later runs read it
    from the cache ($VOLENGINE_CACHE or ~/.cache/volengine).

    Example: volengine demo --seed 7
    """
    from rich.console import Console
    from rich.table import Table

    from volengine.config import load_settings, settings_fingerprint
    from volengine.demo import as_rows, run_demo

    console = Console()
    settings = load_settings(config)
    with console.status("starting ...") as status:
        result = run_demo(
            seed=seed,
            start=start,
            end=end,
            progress=lambda msg: status.update(msg + " ..."),
            settings=settings,
            runs_dir=str(runs_dir),
        )
    table = Table(title="VolEngine demo: the embedded synthetic market through the full-history pipeline")
    table.add_column("what")
    table.add_column("value", justify="right")
    for label, value in as_rows(result):
        table.add_row(label, value)
    console.print(table)
    fingerprint = settings_fingerprint(settings)[:12]
    console.print(f"config fingerprint {fingerprint}; kernels ready in {result.warmup_seconds:.2f} s")
    console.print("[bold]Not built yet[/bold] (the next stages):")
    for item in result.not_yet:
        console.print(f"  - {item}")
