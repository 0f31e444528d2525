"""``volengine demo``: the main job on the embedded default data, as far as it is built."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def demo(
    config: Annotated[Path | None, typer.Option("--config", help="Settings YAML overriding the defaults.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the demo book and price history.")] = 0,
) -> None:
    """Run the main job on the embedded default data and print a summary.

    Example: volengine demo --seed 7
    """
    from rich.console import Console
    from rich.table import Table

    from volengine.config import load_settings, settings_fingerprint
    from volengine.demo import as_rows, run_demo

    console = Console()
    settings = load_settings(config)
    with console.status("compiling / loading kernels and running the demo ..."):
        result = run_demo(seed=seed)
    table = Table(title="VolEngine demo: pricing, IV and realized-vol kernels on a seeded book")
    table.add_column("what")
    table.add_column("value", justify="right")
    for label, value in as_rows(result):
        table.add_row(label, str(value))
    console.print(table)
    console.print(
        f"config fingerprint {settings_fingerprint(settings)[:12]}; kernels ready in {result.warmup_seconds:.2f} s"
    )
    console.print("[bold]Not built yet[/bold] (the demo grows with each stage):")
    for item in result.not_yet:
        console.print(f"  - {item}")
