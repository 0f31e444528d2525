"""Vendor importers: map OptionsDX, Cboe DataShop, Polygon/Massive, ORATS and mapped CSV files into the store.

Every importer parses by column **name** (never position), streams its file in batches of ``batch_rows``
lines, maps each batch into the canonical ``option_quotes`` columns and runs the shared validator
(:func:`volengine.data.schema.split_invalid`): valid rows go to ``option_quotes``, rejected rows to
``quarantine`` with their reason, ``source_file`` (resolved path; ``archive.zip:member.csv`` inside zips) and
``source_row`` (the **1-based file line**: the header is line 1). Nothing is dropped silently: blank lines and
rows outside ``--underlying`` are counted in the report.

Structural problems (unknown format, empty file, missing column, a value that does not parse in a required
column, a file of another vendor, ragged lines) raise :class:`~volengine.errors.DataError` naming the file,
line and column. All files of one call are written in **one store transaction**: on any error nothing is
written. Re-importing a file leaves the same data (the store upserts by key).

Examples
--------
>>> from volengine.data.importers import IMPORTERS
>>> sorted(IMPORTERS)
['cboe', 'csv', 'optionsdx', 'orats', 'polygon']
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from volengine.data.importers import cboe, generic_csv, optionsdx, orats, polygon
from volengine.data.importers._common import (
    Importer,
    ImportOptions,
    ReadStats,
    open_sources,
    split_frame,
)
from volengine.errors import DataError

IMPORTERS: dict[str, Importer] = {
    imp.name: imp for imp in (optionsdx.IMPORTER, cboe.IMPORTER, polygon.IMPORTER, orats.IMPORTER, generic_csv.IMPORTER)
}
#: formats whose rows carry their own underlying: ``--underlying`` keeps that one and counts the rest
_FILTERS_UNDERLYING = frozenset({"cboe", "polygon", "orats", "csv"})

__all__ = ["IMPORTERS", "FileReport", "ImportReport", "Importer", "detect_formats", "import_files"]


@dataclass
class FileReport:
    """What one source (a file, or one CSV inside a zip) contributed."""

    source: str
    lines: int  # data lines read
    quotes: int  # rows written to option_quotes
    quarantined: int  # rows written to quarantine
    blank: int = 0  # blank lines skipped
    skipped: int = 0  # rows of other underlyings (``--underlying`` on multi-symbol files)
    notes: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    """Result of :func:`import_files`: one :class:`FileReport` per source and the wall time."""

    format: str
    files: list[FileReport]
    seconds: float

    @property
    def quotes(self) -> int:
        """Rows written to ``option_quotes``."""
        return sum(f.quotes for f in self.files)

    @property
    def quarantined(self) -> int:
        """Rows written to ``quarantine``."""
        return sum(f.quarantined for f in self.files)

    @property
    def lines(self) -> int:
        """Data lines read."""
        return sum(f.lines for f in self.files)


def detect_formats(header: Sequence[str]) -> list[tuple[str, str]]:
    """(format, layout) of every vendor layout whose identifying columns all appear in ``header``."""
    have = set(header)
    return [(name, lay) for name, imp in IMPORTERS.items() for lay, cols in imp.layouts.items() if cols <= have]


def _importer(fmt: str) -> Importer:
    try:
        return IMPORTERS[fmt]
    except KeyError:
        msg = f"unknown import format {fmt!r}; known formats: {', '.join(sorted(IMPORTERS))}"
        raise DataError(msg, value=fmt) from None


def _options(
    fmt: str, underlying: str | None, mapping: str | Path | None, batch_rows: int, *, use_cboe_eod: bool
) -> ImportOptions:
    if batch_rows < 1:
        msg = f"batch_rows must be >= 1; got {batch_rows}"
        raise DataError(msg, value=batch_rows)
    if fmt == "csv":
        if mapping is None:
            msg = "the csv format needs a column mapping: pass --mapping map.yaml (see volengine data import --help)"
            raise DataError(msg)
        parsed: Any = generic_csv.load_mapping(Path(mapping))
    elif mapping is not None:
        msg = f"--mapping applies to the csv format only; got format {fmt!r}"
        raise DataError(msg, path=str(mapping))
    else:
        parsed = None
    if use_cboe_eod and fmt != "cboe":
        msg = f"--cboe-eod applies to the cboe format only; got format {fmt!r}"
        raise DataError(msg)
    under = underlying.strip().upper().lstrip("^") if underlying else None
    return ImportOptions(under, parsed, batch_rows, use_cboe_eod)


def import_files(
    fmt: str,
    files: Sequence[str | Path],
    store: Any,
    *,
    underlying: str | None = None,
    mapping: str | Path | None = None,
    batch_rows: int = 500_000,
    use_cboe_eod: bool = False,
) -> ImportReport:
    """Import vendor ``files`` of format ``fmt`` into ``store`` in one transaction.

    Parameters
    ----------
    fmt : {"optionsdx", "cboe", "polygon", "orats", "csv"}
    files : sequence of paths
        ``.txt``/``.csv`` files, ``.zip`` archives of CSVs, ``.csv.gz`` (Polygon), ``.json`` (Polygon REST
        snapshot, ORATS API).
    store : volengine.data.store.Store, or the path of its root
    underlying : str, optional
        OptionsDX: the symbol (default: from the file name). Other formats: import only this underlying.
    mapping : path, optional
        YAML column mapping of the ``csv`` format.
    batch_rows : int
        Lines per batch; bounds memory.
    use_cboe_eod : bool
        Cboe: also write the EOD bid/ask as ``cboe_eod`` rows beside the ``cboe_1545`` rows.

    Returns
    -------
    ImportReport

    Raises
    ------
    DataError
        Unknown format, missing or empty file, missing column, unparsable required value, wrong vendor. The
        store is left untouched.
    ConfigError
        An invalid mapping file.
    """
    started = time.perf_counter()
    importer = _importer(fmt)
    options = _options(fmt, underlying, mapping, batch_rows, use_cboe_eod=use_cboe_eod)
    paths = [Path(p) for p in files]
    if not paths:
        msg = "no files to import"
        raise DataError(msg)
    for p in paths:
        if not p.is_file():
            msg = f"{p}: no such file"
            raise DataError(msg, path=str(p))
    if not hasattr(store, "transaction"):
        from volengine.data.store import Store

        store = Store(store)
    reports: list[FileReport] = []
    sources = [str(p.resolve()) for p in paths]
    with store.transaction(source_files=sources, note=f"import {fmt}") as tx:
        for p in paths:
            reports += _import_one(importer, p, options, tx)
    return ImportReport(fmt, reports, time.perf_counter() - started)


def _import_one(importer: Importer, path: Path, options: ImportOptions, tx: Any) -> list[FileReport]:
    out = []
    with open_sources(path) as sources:
        for src in sources:
            stats = ReadStats()
            quotes = quarantined = 0
            for frame in importer.read(src, options, stats):
                if options.underlying and importer.name in _FILTERS_UNDERLYING:
                    frame = _keep_underlying(frame, options.underlying, stats)
                valid, rejected = split_frame(frame, src.name)
                del frame
                if valid.height:
                    tx.write("option_quotes", valid, validated=True)
                if rejected.height:
                    tx.write("quarantine", rejected, validated=True)
                quotes += valid.height
                quarantined += rejected.height
            if stats.lines - stats.blank <= 0:
                if src.kind == "json":
                    msg = f"{src.name}: the JSON response holds no rows"
                    raise DataError(msg, path=src.name)
                msg = f"{src.name}: line 2: the file has a header but no data rows"
                raise DataError(msg, path=src.name, row=2)
            out.append(FileReport(src.name, stats.lines, quotes, quarantined, stats.blank, stats.skipped, stats.notes))
    return out


def _keep_underlying(frame: pl.DataFrame, underlying: str, stats: ReadStats) -> pl.DataFrame:
    u = pl.col("underlying").cast(pl.String)
    keep = frame.filter(u.is_null() | (u == underlying))
    stats.skipped += frame.height - keep.height
    return keep
