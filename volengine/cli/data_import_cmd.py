"""``volengine data import FORMAT FILES... --store DIR``: vendor option files into the Parquet store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def import_files(
    fmt: Annotated[
        str, typer.Argument(metavar="FORMAT", help="Vendor format: optionsdx, cboe, polygon, orats or csv.")
    ],
    files: Annotated[
        list[Path],
        typer.Argument(metavar="FILES...", help="Files to import: .txt/.csv, .zip of CSVs, .csv.gz, .json."),
    ],
    *,
    store: Annotated[Path, typer.Option("--store", help="Store directory (created on the first import).")],
    underlying: Annotated[
        str | None,
        typer.Option(
            "--underlying",
            help="OptionsDX: the symbol (default: from the file name, spy_eod_202301.txt -> SPY). "
            "Other formats: import only this underlying (the rest is counted as skipped).",
        ),
    ] = None,
    mapping: Annotated[
        Path | None,
        typer.Option("--mapping", dir_okay=False, help="YAML column mapping of the csv format."),
    ] = None,
    cboe_eod: Annotated[
        bool,
        typer.Option("--cboe-eod", help="Cboe: also write the EOD bid/ask as 'cboe_eod' rows beside 'cboe_1545'."),
    ] = False,
    batch_rows: Annotated[int, typer.Option("--batch-rows", min=1, help="Lines per batch; bounds memory.")] = 500_000,
) -> None:
    """Import vendor option files into the store, all files in one transaction.

    Valid rows go to option_quotes; rows that break a rule (crossed quote, ...) go to quarantine with the reason.

    Quarantined rows keep their file line (source_row, 1-based; the header is line 1).

    A structural problem (missing column, bad number in a required column, wrong vendor, empty file) stops it.

    It then prints one error line naming file, line and column, exits 1 and leaves the store untouched.

    Importing a file again leaves the same data.

    Formats: optionsdx, cboe (.zip/.csv), polygon (.csv.gz day aggregates, .json chain), orats, csv (--mapping).

    Example: volengine data import optionsdx spy_eod_202301.txt spy_eod_202302.txt --store ./store
    """
    from volengine.data.importers import import_files as run_import

    report = run_import(
        fmt,
        files,
        store,
        underlying=underlying,
        mapping=mapping,
        batch_rows=batch_rows,
        use_cboe_eod=cboe_eod,
    )
    for f in report.files:
        extra = []
        if f.blank:
            extra.append(f"{f.blank:,} blank lines skipped")
        if f.skipped:
            extra.append(f"{f.skipped:,} rows of other underlyings skipped")
        tail = f"; {', '.join(extra)}" if extra else ""
        typer.echo(f"{f.source}: {f.lines:,} lines -> {f.quotes:,} quotes, {f.quarantined:,} quarantined{tail}")
        for note in f.notes:
            typer.echo(f"  note: {note}")
    typer.echo(
        f"imported {report.quotes:,} quotes ({report.quarantined:,} quarantined) from {len(report.files)} "
        f"source(s) as {fmt} into {store} in {report.seconds:.2f} s"
    )
