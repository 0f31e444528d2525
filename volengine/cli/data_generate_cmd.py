"""``volengine data generate``: write the seeded synthetic market into a Parquet store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def _symbols(text: str) -> tuple[str, ...]:
    names = tuple(s.strip().upper() for s in text.split(",") if s.strip())
    bad = [s for s in names if not s.isalnum()]
    if not names or bad or len(set(names)) != len(names):
        msg = f"--underlyings takes distinct comma-separated symbols such as SPY,QQQ,IWM; got {text!r}"
        raise typer.BadParameter(msg)
    return names


def generate(
    *,
    store: Annotated[Path, typer.Option("--store", help="Store directory (created if missing).")],
    underlyings: Annotated[
        str, typer.Option("--underlyings", help="Comma-separated symbols; SPY, SPX, QQQ, IWM are index presets.")
    ] = "SPY",
    years: Annotated[float, typer.Option("--years", min=0.01, max=60.0, help="Length of the history in years.")] = 2.0,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of every random stream.")] = 0,
    start: Annotated[str, typer.Option("--start", help="First date (ISO).")] = "2012-01-03",
    chains: Annotated[bool, typer.Option("--chains/--no-chains", help="Generate daily option chains.")] = True,
) -> None:
    """Generate the synthetic market (bars, chains, VIX-like index, events, rates, dividends) into a store.

    All tables go into the store in one transaction; the ground truth (latent vol, regimes, true V_Q,
    events, episodes, SSVI) goes to DIR/truth/<UNDERLYING>*.parquet. Same seed, same data, byte for byte.

    Example: volengine data generate --underlyings SPY,QQQ,IWM --years 10 --seed 7 --store ./store
    """
    import time

    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from volengine.datasets.synthetic import SyntheticParams
    from volengine.datasets.synthetic.store_io import end_for_years, generate_into_store

    names = _symbols(underlyings)
    end = end_for_years(start, years)
    console = Console(stderr=True)
    t0 = time.perf_counter()
    columns = (TextColumn("{task.description:<22}"), BarColumn(), TextColumn("{task.percentage:>5.1f}%"),
               TimeElapsedColumn())  # fmt: skip
    with Progress(*columns, console=console, transient=False) as bar:
        tasks = {u: bar.add_task(f"{u}: latent", total=1.0) for u in names}

        def stage(u: str, what: str, fraction: float) -> None:
            bar.update(tasks[u], description=f"{u}: {what}", completed=min(fraction, 1.0) if what != "latent" else 0.05)
            if what == "written":
                bar.update(tasks[u], completed=1.0)

        counts = generate_into_store(store, seed, names, start, end, SyntheticParams(), with_chains=chains,
                                     stage=stage)  # fmt: skip
    elapsed = time.perf_counter() - t0
    typer.echo(f"synthetic market seed {seed}, {start}..{end}, {','.join(names)} -> {store}")
    for table, n in counts.items():
        typer.echo(f"  {table:<14} {n:>12,} rows")
    typer.echo(f"  truth          {store / 'truth'}")
    typer.echo(f"done in {elapsed:.1f} s")
