"""``volengine data check``: classify every stored option quote, quarantine the rejects, print the report."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from volengine.errors import VolEngineError

if TYPE_CHECKING:
    import polars as pl

    from volengine.data.quality import QualityReport


def check(
    ctx: typer.Context,
    store: Annotated[Path, typer.Option("--store", help="Store directory to check.", show_default=False)],
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the report as JSON to this file.", show_default=False)
    ] = None,
    underlyings: Annotated[
        str | None,
        typer.Option("--underlyings", help="Comma-separated symbols (default: all in the store).", show_default=False),
    ] = None,
    start: Annotated[
        dt.datetime | None, typer.Option("--start", help="First quote date.", formats=["%Y-%m-%d"], show_default=False)
    ] = None,
    end: Annotated[
        dt.datetime | None, typer.Option("--end", help="Last quote date.", formats=["%Y-%m-%d"], show_default=False)
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report only; move nothing to the quarantine.")] = False,
) -> None:
    """Check option quotes: reject (to the quarantine), flag or keep every row; report counts and gaps.

    Rejected: crossed, zero/negative prices, ask above the no-arbitrage bound, missing underlying price, strike
    far from spot. Flagged: no quote, zero bid, stale quote, put-call parity gap, wide spread. Also lists
    XNYS sessions missing per underlying.

    Example: volengine data check --store ./store --underlyings SPY,QQQ --json quality.json --dry-run
    """
    try:
        report = _run(store, json_path, underlyings, start, end, is_dry_run=dry_run)
    except VolEngineError as exc:
        if ctx.find_root().params.get("debug"):
            raise
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(code=1) from None
    _print(report, json_path)


def _run(
    root: Path,
    json_path: Path | None,
    underlyings: str | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
    *,
    is_dry_run: bool,
) -> QualityReport:
    from volengine.data.quality import check_store
    from volengine.data.store import Store
    from volengine.errors import DataError

    if not root.is_dir():
        msg = f"store directory {root} does not exist"
        raise DataError(msg, path=str(root))
    symbols = [s.strip() for s in underlyings.split(",") if s.strip()] if underlyings else None
    report = check_store(
        Store(root),
        underlyings=symbols,
        start=start.date() if start else None,
        end=end.date() if end else None,
        is_dry_run=is_dry_run,
    )
    if json_path is not None:
        report.to_json(json_path)
    return report


def _print(report: QualityReport, json_path: Path | None) -> None:
    from rich.console import Console

    console = Console()
    total = report.total_rows
    console.print(f"store: {report.store}")
    if total == 0:
        console.print("no option quotes to check")
    console.print(_table("By reason", report.by_reason()))
    console.print(_table("By underlying", report.by_underlying()))
    console.print(_table("By year", report.by_year()))
    for symbol, days in report.missing_sessions.items():
        if days:
            shown = ", ".join(str(d) for d in days[:10]) + (" ..." if len(days) > 10 else "")
            console.print(f"{symbol}: {len(days)} missing session(s): {shown}")
    for note in report.notes:
        console.print(note)
    counts = {v: report.verdict_count(v) for v in ("kept", "flagged", "rejected")}
    console.print(
        f"checked {total} rows: {counts['kept']} kept, {counts['flagged']} flagged, {counts['rejected']} rejected"
    )
    if report.is_dry_run:
        console.print(f"dry run: {counts['rejected']} rejected row(s) left in place")
    else:
        console.print(f"quarantined {report.quarantined} row(s)")
    if json_path is not None:
        console.print(f"report written to {json_path}")


def _table(title: str, frame: pl.DataFrame) -> object:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for name in frame.columns:
        table.add_column(name, justify="right" if frame.schema[name].is_numeric() else "left")
    for row in frame.iter_rows():
        table.add_row(*("" if v is None else str(v) for v in row))
    return table
