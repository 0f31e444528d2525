"""``volengine signal``: the daily last-bar run of the one pipeline, per underlying of the universe."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

import typer


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def signal(
    date: Annotated[str | None, typer.Option("--date", help="As-of date YYYY-MM-DD (default: last in data).")] = None,
    store: Annotated[
        Path | None, typer.Option("--store", help="Store directory (default: the cached embedded market).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON records instead of tables.")] = False,
    config: Annotated[Path | None, typer.Option("--config", help="Settings YAML overriding the defaults.")] = None,
    universe: Annotated[Path | None, typer.Option("--universe", help="Universe YAML overriding the defaults.")] = None,
    underlyings: Annotated[
        str | None, typer.Option("--underlyings", help="Comma list (default: enabled universe symbols in the store).")
    ] = None,
) -> None:
    """Regime, key features and the 5 edges at one date: the last row of the full-history pipeline.

    Example: volengine signal --date 2024-06-28 --json
    """
    from rich.console import Console
    from rich.table import Table

    from volengine.config import load_settings, load_universe
    from volengine.data.store import Store
    from volengine.pipeline import signal as run_signal
    from volengine.report.signal import signal_records

    if date is not None:
        try:
            dt.date.fromisoformat(date)
        except ValueError:
            msg = f"must be an ISO date YYYY-MM-DD; got {date!r}"
            raise typer.BadParameter(msg, param_hint="--date") from None
    settings = load_settings(config)
    uni = load_universe(universe)
    console = Console(stderr=as_json)
    if store is None:
        from volengine.datasets import cached_market_store

        with console.status("embedded market (generated once, then cached) ..."):
            store = cached_market_store(seed=0, start="2015-01-02", end="2024-12-31", underlyings=("SPY",))
    st = Store(store)
    present = set(st.underlyings("option_quotes")) | set(st.underlyings("bars"))
    if underlyings:
        names = [u.strip().upper() for u in underlyings.split(",") if u.strip()]
    else:
        names = [u for u in uni.enabled_symbols() if u in present] or sorted(present)
    rows = run_signal(st, as_of=date, settings=settings, underlyings=names)
    records = signal_records(rows)
    if as_json:
        typer.echo(json.dumps(records, indent=2))
        return
    if not records:
        console.print(f"no rows at {date or 'the last date'} for {', '.join(names)}")
        raise typer.Exit(1)
    for rec in records:
        reg = rec["regime"]
        console.print(
            f"[bold]{rec['underlying']} {rec['date']}[/bold]  regime [bold]{reg['regime']}[/bold] "
            f"(confidence {_fmt(reg['confidence'])})\n  {reg['reason']}"
        )
        feats = Table(title="features", show_header=False)
        for k, v in rec["features"].items():
            feats.add_row(k, _fmt(v))
        console.print(feats)
        edges = Table(title="edges")
        for col in ("edge", "fired", "signal", "dir", "strength", "hist", "rationale / numbers"):
            edges.add_column(col)
        for name, e in rec["edges"].items():
            numbers = e["rationale"] or ", ".join(f"{k}={_fmt(v)}" for k, v in e["metrics"].items())
            edges.add_row(name, _fmt(e["fired"]), _fmt(e["signal"]), _fmt(e["direction"]), _fmt(e["strength"]),
                          _fmt(e["history_mode"]), numbers)  # fmt: skip
        console.print(edges)
