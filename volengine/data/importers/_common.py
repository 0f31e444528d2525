"""Machinery shared by the vendor importers: sources, batched CSV reading, symbols, roots, quarantine split.

Line numbers
------------
Every row carries ``source_row``, the **1-based line of the file** it came from (the header is line 1, the
first data row line 2; inside a ``.zip`` or ``.gz`` it is the line of the decompressed CSV member; for JSON
sources it is the 1-based position in the ``results``/``data`` list). Structural errors name the same line.
Line numbers assume one record per line (no quoted newlines), which holds for every vendor layout here.

Reading
-------
A CSV is cut at line ends into blocks of about ``batch_rows`` lines (memory stays bounded) and each block is
parsed whole by the polars CSV reader, numbers and ISO dates included (fast path). If a block fails, that block
alone is re-read as text and each column is cast on its own so the bad cell is found: a bad value in a
*required* column (dates, strike) raises :class:`DataError` naming file, line and column; a bad value in an
optional column (a size, an IV) sends that row to quarantine with the reason. Lines with more fields than the
header are read by position up to the header's width; lines cut short are structural errors.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import gzip
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from volengine.data import calendar, schema
from volengine.errors import DataError

#: line of the first data row (the header is line 1)
FIRST_DATA_LINE = 2
LINE = "source_row"  # the column that carries the file line through an importer
BAD = "_bad"  # first row-level problem of a row (null when none): the row goes to quarantine
BAD_OF = "_bad_"  # prefix of the per-column problems of the text path
DEFAULT_MULTIPLIER = 100
OCC_PATTERN = r"^(?:O:)?(?P<root>[A-Z0-9.]{1,6})\s*(?P<ymd>\d{6})(?P<right>[CP])(?P<strike>\d{8})$"
#: index roots the calendar does not list (VIX monthlies and weeklies settle AM on the SOQ)
_EXTRA_INDEX_ROOTS = {"VIX": "VIX", "VIXW": "VIX"}
_EXTRA_AM_ROOTS = frozenset({"VIX", "VIXW"})
_EXTRA_EUROPEAN = frozenset({"VIX"})
#: Cboe stamps its "1545" snapshot 15 minutes before an early close only from this date on
CBOE_HALF_DAY_RULE_START = dt.date(2020, 2, 5)
_NULLS = ["", " "]


@dataclass(frozen=True)
class ImportOptions:
    """What the user told the importer besides the files."""

    underlying: str | None = None
    mapping: Any = None  # the parsed generic_csv.ColumnMapping of the ``csv`` format
    batch_rows: int = 500_000
    use_cboe_eod: bool = False


@dataclass
class ReadStats:
    """Counters an importer fills while reading one source (reported, never silent)."""

    lines: int = 0  # data lines read (blank lines included)
    blank: int = 0  # blank lines skipped
    skipped: int = 0  # rows outside the requested underlying (Polygon flat files with --underlying)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Source:
    """One readable member of a user file: a CSV or JSON file on disk and the name rows are recorded under."""

    name: str  # ``source_file`` of quarantined rows: the resolved path (``zip:member`` inside archives)
    path: Path  # what to read (a temporary extract for archives)
    kind: str  # "csv" or "json"
    origin: Path  # the file the user named
    member: str | None = None  # the archive member, if any

    def file_names(self) -> list[str]:
        """Base names that may carry a symbol (``spy_eod_202301.txt``): the member's, then the file's."""
        names = [Path(self.member).name] if self.member else []
        return [*names, self.origin.name]


@dataclass(frozen=True)
class Importer:
    """A vendor format: its id, the header layouts it accepts and the reader that yields canonical batches.

    ``read(source, options, stats)`` yields frames of canonical ``option_quotes`` columns plus ``source_row``
    (file line) and optionally ``_bad`` (row-level problem), one per batch of at most ``batch_rows`` lines.
    """

    name: str
    summary: str
    layouts: Mapping[str, frozenset[str]]
    read: Callable[[Source, ImportOptions, ReadStats], Iterator[pl.DataFrame]]


# ------------------------------------------------------------------------------------------------ sources


def normalize_name(name: str) -> str:
    """A header cell without BOM, surrounding whitespace and OptionsDX's brackets: ``' [C_BID]'`` -> ``C_BID``."""
    return name.replace("\ufeff", "").strip().strip("[]").strip()


def _check_not_empty(path: Path, name: str) -> None:
    with path.open("rb") as fh:
        head = fh.read(4096)
    if not head.strip():
        msg = f"{name}: line 1: the file is empty (no header line)"
        raise DataError(msg, path=name, row=1)


@contextlib.contextmanager
def open_sources(path: Path) -> Iterator[list[Source]]:
    """The readable members of ``path``: a plain file, each CSV in a ``.zip``, or a decompressed ``.gz``.

    Archives are extracted (streamed, never whole in memory) into a temporary directory removed on exit.
    """
    if not path.is_file():
        msg = f"{path}: no such file"
        raise DataError(msg, path=str(path))
    name = str(path.resolve())
    suffixes = [s.lower() for s in path.suffixes]
    with tempfile.TemporaryDirectory(prefix="volengine-import-") as tmp:
        if zipfile.is_zipfile(path):
            yield _zip_members(path, name, Path(tmp))
        elif suffixes and suffixes[-1] == ".gz":
            out = Path(tmp) / path.stem
            try:
                with gzip.open(path, "rb") as src, out.open("wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
            except (OSError, EOFError) as exc:
                msg = f"{name}: not a readable gzip file ({exc})"
                raise DataError(msg, path=name) from exc
            _check_not_empty(out, name)
            yield [Source(name, out, _kind(out), path)]
        else:
            _check_not_empty(path, name)
            yield [Source(name, path, _kind(path), path)]


def _zip_members(path: Path, name: str, tmp: Path) -> list[Source]:
    with zipfile.ZipFile(path) as zf:
        members = [m for m in zf.infolist() if not m.is_dir() and not m.filename.startswith("__MACOSX/")]
        if not members:
            msg = f"{name}: the zip archive holds no files"
            raise DataError(msg, path=name)
        out = []
        for i, member in enumerate(members):
            target = tmp / f"{i}-{Path(member.filename).name}"
            with zf.open(member) as src, target.open("wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            member_name = f"{name}:{member.filename}"
            _check_not_empty(target, member_name)
            out.append(Source(member_name, target, _kind(target), path, member.filename))
    return out


def _kind(path: Path) -> str:
    """``json`` for ``.json`` files and text opening an object or a list of objects, else ``csv``.

    (OptionsDX headers open with ``[`` too: ``[QUOTE_UNIXTIME], ...``.)
    """
    if path.suffix.lower() == ".json":
        return "json"
    with path.open("rb") as fh:
        head = fh.read(256).lstrip(b"\xef\xbb\xbf \t\r\n")
    if head[:1] == b"{" or (head[:1] == b"[" and head[1:].lstrip()[:1] in (b"{", b"]")):
        return "json"
    return "csv"


def read_header(src: Source, separator: str = ",") -> list[str]:
    """The normalized column names on line 1 of a CSV source."""
    with src.path.open("r", encoding="utf-8", errors="replace", newline="") as fh:
        first = fh.readline()
    return [normalize_name(c) for c in first.rstrip("\r\n").split(separator)]


def require_columns(src: Source, fmt: str, header: Sequence[str], needed: Sequence[str], layout: str) -> None:
    """Raise DataError at line 1 if any of ``needed`` is missing, saying which format the header looks like."""
    missing = [c for c in needed if c not in header]
    if not missing:
        return
    from volengine.data.importers import detect_formats  # the registry imports this module

    others = [(f, lay) for f, lay in detect_formats(header) if f != fmt]
    if len(missing) == 1:
        what = f"column '{missing[0]}' of the {layout} layout is missing"
    else:
        what = f"{len(missing)} columns of the {layout} layout are missing (first '{missing[0]}')"
    if others:
        f, lay = others[0]
        hint = f"; the header matches the {lay} layout: import it as {f} (volengine data import {f} ...)"
    elif len(missing) > len(needed) // 2:
        hint = f"; this does not look like a {fmt} file"
    else:
        hint = ""
    shown = ", ".join(header[:12]) + (", ..." if len(header) > 12 else "")
    msg = f"{src.name}: line 1: {what}{hint} (got columns: {shown})"
    raise DataError(msg, path=src.name, column=missing[0], row=1)


def underlying_from_filename(src: Source) -> str | None:
    """``spy_eod_202301.txt`` -> ``SPY``: the symbol before ``_eod`` in the member or file name (OptionsDX naming)."""
    for name in src.file_names():
        m = re.match(r"^([A-Za-z][A-Za-z0-9.]{0,5})_eod", name, flags=re.IGNORECASE)
        if m:
            return m.group(1).upper()
    return None


# --------------------------------------------------------------------------------------- batched CSV reading


@dataclass(frozen=True)
class Field:
    """A source column to read: its polars dtype (Float64, Date for ISO dates, or String) and whether a value
    that does not parse is a structural error (required) or a row-level one (optional)."""

    dtype: Any
    is_required: bool = False


def csv_batches(
    src: Source,
    fields: Mapping[str, Field],
    *,
    batch_rows: int,
    stats: ReadStats,
    separator: str = ",",
    complete: str | None = None,
) -> Iterator[pl.DataFrame]:
    """Yield batches of the named ``fields`` plus ``source_row`` (file line) and ``_bad`` (String, nullable).

    The file is cut at line ends into blocks of about ``batch_rows`` lines, and each block is parsed whole, so
    memory stays bounded and a failure is confined to its block. (Polars' streaming CSV reader can hand out
    rows of a later chunk just before it raises a parse error, so it is not used: a block is either parsed
    completely or re-parsed as text.) On the text path each numeric field also gets ``_bad_<field>`` (its own
    problem), so wide importers can charge a bad ``C_IV`` to the call row only (:func:`side_problem`).
    ``complete`` names a column the vendor always fills near the end of a line: a non-blank line without it is
    cut short, a structural error. Blank lines are counted in ``stats.blank`` and skipped.
    """
    if complete is not None and complete not in fields:
        fields = {**fields, complete: Field(pl.String)}
    names = read_header(src, separator)
    for first_line, block in _blocks(src.path, batch_rows):
        try:
            batch = _parse(block, names, fields, first_line, separator, typed=True)
        except pl.exceptions.PolarsError:
            try:  # a value the fast path cannot parse: find it on the text path
                batch = _cast_text(_parse(block, names, fields, first_line, separator, typed=False), fields, src)
            except pl.exceptions.PolarsError as exc:
                raise _structural_error(src, separator, exc, start=first_line) from exc
        else:
            batch = batch.with_columns(pl.lit(None, dtype=pl.String).alias(BAD))
        del block  # peak memory: hold no more than the batch being yielded
        out = _tidy(batch, fields, stats, src, separator, complete)
        del batch
        if out is not None:
            yield out


def _blocks(path: Path, batch_rows: int) -> Iterator[tuple[int, bytes]]:
    """(first file line, bytes) of consecutive blocks of about ``batch_rows`` whole lines after the header.

    The block size in bytes comes from the mean length of the first 64 KiB of lines; each block is read up to
    its size and completed to the end of its last line (in one read). Only one block is held at a time.
    """
    with path.open("rb") as fh:
        fh.readline()
        start = fh.tell()
        sample = fh.read(1 << 16)
        fh.seek(start)
        size = max(int(batch_rows * len(sample) / max(sample.count(b"\n"), 1)), 1)
        line = FIRST_DATA_LINE
        while True:
            # find where the block's last line ends first, then read the block in one piece: appending the rest
            # of the line to a block already read would copy the whole block
            pos = fh.tell()
            fh.seek(pos + size - 1)
            last = fh.read(1)
            extra = 0 if last in (b"", b"\n") else len(fh.readline())
            fh.seek(pos)
            block = fh.read(size + extra)
            if not block:
                return
            if not block.isspace() or fh.peek(1):  # isspace: no copy of the block, unlike strip()
                yield line, block
            line += block.count(b"\n")
            del block


def _parse(
    block: bytes, names: list[str], fields: Mapping[str, Field], first_line: int, separator: str, *, typed: bool
) -> pl.DataFrame:
    schema = dict.fromkeys(names, pl.String)
    if typed:
        schema |= {n: f.dtype for n, f in fields.items() if f.dtype != pl.String}
    return (
        pl.scan_csv(
            block,
            has_header=False,
            separator=separator,
            schema=schema,
            infer_schema=False,
            null_values=_NULLS,
            missing_columns="insert",  # a short first line: cut lines are caught by ``complete``
            extra_columns="ignore",  # extra fields are ignored on every line, the first of a block included
            encoding="utf8-lossy",
        )
        .select(*fields)
        .collect()
        # the row index is added after the read: the reader's own row index makes it ~1.6x slower
        .with_row_index("_row", offset=first_line - FIRST_DATA_LINE)
    )


def _tidy(
    batch: pl.DataFrame,
    fields: Mapping[str, Field],
    stats: ReadStats,
    src: Source,
    separator: str,
    complete: str | None,
) -> pl.DataFrame | None:
    stats.lines += batch.height
    blank = pl.all_horizontal(pl.col(list(fields)).is_null())
    n_blank = int(batch.select(blank.sum()).item())
    if n_blank:
        stats.blank += n_blank
        batch = batch.filter(~blank)
    if batch.is_empty():
        return None
    if complete is not None:
        short = batch.select(pl.arg_where(pl.col(complete).is_null()).first()).item()
        if short is not None:
            line = int(batch["_row"][int(short)]) + FIRST_DATA_LINE
            raise _structural_error(src, separator, None, start=line, empty=complete)
    return batch.with_columns((pl.col("_row").cast(pl.Int64) + FIRST_DATA_LINE).alias(LINE)).drop("_row")


def _cast_text(batch: pl.DataFrame, fields: Mapping[str, Field], src: Source) -> pl.DataFrame:
    """Cast the text columns one by one; required failures raise, optional ones fill ``_bad_<field>``."""
    stripped = batch.with_columns(pl.col(list(fields)).str.strip_chars().replace("", None))
    casts, problems = [], []
    for name, f in fields.items():
        if f.dtype == pl.String:
            continue
        raw = pl.col(name)
        if f.dtype == pl.Date:
            cast = raw.str.to_date("%Y-%m-%d", strict=False)
        else:
            cast = raw.cast(f.dtype, strict=False)
        bad = raw.is_not_null() & cast.is_null()
        what = "an ISO date (YYYY-MM-DD)" if f.dtype == pl.Date else "a number"
        if f.is_required:
            first = stripped.select(pl.arg_where(bad).first()).item()
            if first is not None:
                _raise_cell(src, stripped, int(first), name, what)
        casts.append(cast.alias(name))
        problems.append(pl.when(bad).then(pl.lit(f"column '{name}' must be {what}; got ") + raw).alias(BAD_OF + name))
    out = stripped.with_columns(*casts, *problems)
    names = [BAD_OF + n for n, f in fields.items() if f.dtype != pl.String]
    reason = pl.coalesce(names) if names else pl.lit(None, dtype=pl.String)
    return out.with_columns(reason.alias(BAD))


def side_problem(frame: pl.DataFrame, other_side: Iterable[str]) -> pl.Expr:
    """``_bad`` of one side of a wide row: the first text-path problem outside the other side's columns."""
    skip = {BAD_OF + c for c in other_side}
    cols = [c for c in frame.columns if c.startswith(BAD_OF) and c not in skip]
    return pl.coalesce(cols) if cols else pl.lit(None, dtype=pl.String)


def _raise_cell(src: Source, frame: pl.DataFrame, row: int, column: str, what: str) -> None:
    line = int(frame["_row"][row]) + FIRST_DATA_LINE
    value = frame[column][row]
    msg = f"{src.name}: line {line}: column '{column}' must be {what}; got {value!r}"
    raise DataError(msg, path=src.name, column=column, row=line, value=value)


def raise_bad_value(src: Source, line: int, column: str, what: str, value: Any) -> None:
    """Raise the structural DataError of one cell (used by importers for required derived values)."""
    msg = f"{src.name}: line {line}: column '{column}' must be {what}; got {value!r}"
    raise DataError(msg, path=src.name, column=column, row=line, value=value)


def _structural_error(
    src: Source, separator: str, exc: Exception | None, start: int = FIRST_DATA_LINE, empty: str | None = None
) -> DataError:
    """Name the first line from ``start`` whose field count differs from the header, else wrap ``exc`` (or say
    that the always-filled column ``empty`` is empty on line ``start``)."""
    with src.path.open("r", encoding="utf-8", errors="replace", newline="") as fh:
        reader = csv.reader(fh, delimiter=separator[0])
        width = len(next(reader, []))
        for line_no, row in enumerate(reader, start=FIRST_DATA_LINE):
            if line_no >= start and row and len(row) != width:
                msg = f"{src.name}: line {line_no}: has {len(row)} fields; the header has {width}"
                return DataError(msg, path=src.name, row=line_no, value=len(row))
    if exc is None:
        msg = f"{src.name}: line {start}: column '{empty}' is empty; the vendor always fills it (a damaged line?)"
        return DataError(msg, path=src.name, column=empty, row=start)
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    return DataError(f"{src.name}: cannot be read as CSV ({first})", path=src.name)


def check_required_values(src: Source, frame: pl.DataFrame, checks: Mapping[str, tuple[pl.Expr, str]]) -> None:
    """Raise at the first row where ``expr`` (true on bad rows) holds: ``{source column: (expr, what)}``."""
    for column, (expr, what) in checks.items():
        row = frame.select(pl.arg_where(expr.fill_null(False)).first()).item()
        if row is not None:
            raise_bad_value(src, int(frame[LINE][int(row)]), column, what, frame[column][int(row)])


# --------------------------------------------------------------------------------------- value transforms


def add_bad(frame: pl.DataFrame, *problems: pl.Expr) -> pl.DataFrame:
    """Keep the first problem of each row in ``_bad`` (each expr is a reason string or null)."""
    if not problems:
        return frame
    existing = [pl.col(BAD)] if BAD in frame.columns else []
    return frame.with_columns(pl.coalesce([*existing, *problems]).alias(BAD))


def problem(bad: pl.Expr, text: str, value: pl.Expr) -> pl.Expr:
    """``text + value`` where ``bad`` holds, else null: a row-level problem."""
    return pl.when(bad.fill_null(False)).then(pl.lit(text) + value.cast(pl.String))


def whole(column: str, expr: pl.Expr | None = None) -> tuple[pl.Expr, pl.Expr]:
    """A float count (``195.000000``) as Int64, and the problem when it is not a whole number.

    ``expr`` is the value (default ``pl.col(column)``); ``column`` names it in the problem.
    """
    c = pl.col(column) if expr is None else expr
    ok = c.is_null() | (c == c.round(0))
    value = pl.when(ok).then(c.cast(pl.Int64, strict=False))
    return value, problem(~ok, f"column '{column}' must be a whole number; got ", c)


def sizes(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """``"12 x 30"`` -> columns ``bid_size``, ``ask_size`` (Int64) and ``_p_size`` (the problem, else null).

    One ``splitn`` pass (a regex is ~3x slower on millions of rows): the text after the first ``x`` stays whole,
    so a second ``x`` fails the integer cast; anything but two whole numbers around one ``x`` is a row-level
    problem.
    """
    c = pl.col(column)
    parts = frame.select(c.alias("_raw"), c.str.splitn("x", 2).alias("_s")).unnest("_s")
    out = parts.select(
        "_raw",
        pl.col("field_0").str.strip_chars().cast(pl.Int64, strict=False).alias("bid_size"),
        pl.col("field_1").str.strip_chars().cast(pl.Int64, strict=False).alias("ask_size"),
    )
    bad = pl.col("_raw").is_not_null() & (pl.col("bid_size").is_null() | pl.col("ask_size").is_null())
    text = f"column '{column}' must be sizes 'bid x ask'; got "
    return out.with_columns(problem(bad, text, pl.col("_raw")).alias("_p_size")).drop("_raw")


def parse_dates(column: str, formats: Sequence[str]) -> pl.Expr:
    """A String column as Date, trying each strptime format in turn (null where none fits)."""
    c = pl.col(column).str.strip_chars()
    return pl.coalesce([c.str.to_date(f, strict=False) for f in formats])


def zero_to_null(expr: pl.Expr) -> pl.Expr:
    """Vendors' "0 = no value" (Cboe OHLC without a trade, implied underlying 0.0000) as null."""
    return pl.when(expr != 0).then(expr)


def mid(bid: pl.Expr, ask: pl.Expr) -> pl.Expr:
    """Mid of a two-sided positive quote, else null."""
    return pl.when((bid > 0) & (ask > 0)).then((bid + ask) / 2)


# ---------------------------------------------------------------------------------------- OCC and roots


def occ_parts(expr: pl.Expr) -> dict[str, pl.Expr]:
    """root, expiration, right, strike of OSI/Polygon symbols (null where the symbol does not match)."""
    parts = expr.str.strip_chars().str.extract_groups(OCC_PATTERN)
    return {
        "root": parts.struct.field("root"),
        "expiration": parts.struct.field("ymd").str.to_date("%y%m%d", strict=False),
        "right": parts.struct.field("right"),
        "strike": parts.struct.field("strike").cast(pl.Int64, strict=False) / 1000.0,
    }


def occ_head(root: str = "root", expiration: str = "expiration") -> pl.Expr:
    """ROOT + YYMMDD, the part of an OSI symbol shared by a call and its put."""
    return pl.concat_str(pl.col(root).cast(pl.String), pl.col(expiration).dt.strftime("%y%m%d"))


def occ_tail(strike: str = "strike") -> pl.Expr:
    """The strike x 1000 as 8 digits."""
    return (pl.col(strike) * 1000).round(0).cast(pl.Int64, strict=False).cast(pl.String).str.zfill(8)


def occ_symbol(root: str = "root", expiration: str = "expiration", right: str = "right") -> pl.Expr:
    """Normalised unpadded OSI symbol: ROOT + YYMMDD + C/P + strike x 1000 as 8 digits."""
    return pl.concat_str(occ_head(root, expiration), pl.col(right).cast(pl.String), occ_tail()).alias("occ_symbol")


def _root_to_underlying() -> dict[str, str]:
    out = dict(_EXTRA_INDEX_ROOTS)
    for sym, p in calendar.PRODUCTS.items():
        out[p.pm_root] = sym
        if p.am_root:
            out[p.am_root] = sym
    return out


def underlying_from_root(root: pl.Expr) -> pl.Expr:
    """SPXW -> SPX, NDXP -> NDX, GOOG1 -> GOOG (adjusted roots lose their digit suffix), else the root."""
    table = _root_to_underlying()
    r = root.cast(pl.String)
    return pl.when(r.is_in(list(table))).then(r.replace(table)).otherwise(r.str.replace(r"(\D)\d+$", "$1"))


def infer_roots(frame: pl.DataFrame) -> pl.DataFrame:
    """Add ``root`` for rootless vendors: an index's AM root on a standard monthly expiry, else its PM root."""
    unders = [u for u in frame["underlying"].cast(pl.String).unique().to_list() if u is not None]
    exp = frame["expiration"].drop_nulls()
    expr = pl.col("underlying").cast(pl.String)
    for u in unders:
        p = calendar.product(u)
        if p.am_root is None or exp.is_empty():
            if p.pm_root != u:
                expr = pl.when(pl.col("underlying") == u).then(pl.lit(p.pm_root)).otherwise(expr)
            continue
        monthly = calendar.monthly_expiries(exp.min(), exp.max())  # type: ignore[arg-type]
        am = pl.col("expiration").is_in(monthly.implode())
        pick = pl.when(am).then(pl.lit(p.am_root)).otherwise(pl.lit(p.pm_root))
        expr = pl.when(pl.col("underlying") == u).then(pick).otherwise(expr)
    return frame.with_columns(expr.alias("root"))


def style_expr(underlying: str = "underlying") -> pl.Expr:
    """European for the cash-settled indices the calendar knows (SPX, NDX, RUT, XSP) and VIX; else American."""
    european = sorted({s for s, p in calendar.PRODUCTS.items() if p.style == "european"} | _EXTRA_EUROPEAN)
    u = pl.col(underlying).cast(pl.String)
    return pl.when(u.is_in(european)).then(pl.lit("european")).otherwise(pl.lit("american")).alias("style")


def settlement_expr(root: str = "root") -> pl.Expr:
    """AM for the AM roots (SPX, NDX, RUT monthlies; VIX, VIXW), PM for everything else."""
    am = sorted(calendar.AM_ROOTS | _EXTRA_AM_ROOTS)
    r = pl.col(root).cast(pl.String)
    return pl.when(r.is_in(am)).then(pl.lit("AM")).otherwise(pl.lit("PM")).alias("settlement")


def with_quote_time(frame: pl.DataFrame, snapshot: str) -> pl.DataFrame:
    """Add ``quote_time`` from ``date`` via :func:`volengine.data.calendar.quote_times` (unique dates only).

    The session close (16:00 ET, 13:00 on early closes) for end-of-day snapshots; for ``cboe_1545`` 15 minutes
    before the close from 2020-02-05 on (12:45 on half days) and 15:45 ET before that date.
    """
    dates = frame["date"].drop_nulls().unique().sort()
    if dates.is_empty():
        return frame.with_columns(pl.lit(None, dtype=schema.OPTION_QUOTES["quote_time"]).alias("quote_time"))
    times = calendar.quote_times(dates, snapshot)
    if snapshot == "cboe_1545":
        fixed = dates.dt.combine(dt.time(15, 45)).dt.replace_time_zone(schema.ET).dt.cast_time_unit("ns")
        times = pl.select(pl.when(dates < CBOE_HALF_DAY_RULE_START).then(fixed).otherwise(times)).to_series()
    lut = pl.DataFrame({"date": dates, "quote_time": times.dt.cast_time_unit("ns")})
    return frame.join(lut, on="date", how="left", maintain_order="left")


def finish(frame: pl.DataFrame, *, source: str, snapshot: str | None = None) -> pl.DataFrame:
    """Columns every importer sets when the vendor does not: ``source``, ``snapshot``, multiplier 100, and
    ``nonstandard`` = an adjusted root (``GOOG1``: a root ending in a digit)."""
    extra = [pl.lit(source).alias("source")]
    if "nonstandard" not in frame.columns:
        extra.append(pl.col("root").cast(pl.String).str.contains(r"\d$").alias("nonstandard"))
    if snapshot is not None and "snapshot" not in frame.columns:
        extra.append(pl.lit(snapshot).alias("snapshot"))
    if "multiplier" not in frame.columns:
        extra.append(pl.lit(DEFAULT_MULTIPLIER, dtype=pl.Int32).alias("multiplier"))
    return frame.with_columns(extra)


# ------------------------------------------------------------------------------------------ validation


def split_frame(frame: pl.DataFrame, source_file: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(valid option_quotes rows, quarantine rows) of one importer batch; nothing is dropped.

    Rows with an importer problem (``_bad``) go straight to quarantine with it as the reason; the others go
    through :func:`volengine.data.schema.split_invalid`. ``source_row`` of quarantined rows is the file line.
    """
    lines = frame[LINE]
    has_bad = BAD in frame.columns and frame[BAD].null_count() < frame.height
    pre = None
    if has_bad:
        mask = frame[BAD].is_not_null()
        pre = frame.filter(mask)
        frame, lines = frame.filter(~mask), lines.filter(~mask)
    body = frame.drop([c for c in (LINE, BAD) if c in frame.columns])
    valid, rejected = schema.split_invalid(body, "option_quotes", source=source_file)
    parts = []
    if rejected.height:
        parts.append(rejected.with_columns(lines.gather(rejected["source_row"]).alias("source_row")))
    if pre is not None:
        conformed = schema.conform(pre.drop(LINE, BAD), "option_quotes", source=source_file)
        parts.append(conformed.with_columns(reject_reason=pre[BAD], source_row=pre[LINE]))
    if not parts:
        return valid, schema.empty("quarantine")
    quarantine = pl.concat(parts, how="diagonal_relaxed").with_columns(source_file=pl.lit(source_file))
    return valid, schema.conform(quarantine, "quarantine", source=source_file)
