"""File-level machinery of the Parquet store: layout names, durable writes, hashing, locks, the manifest.

Everything here is private to :mod:`volengine.data.store`. The store's crash safety rests on three rules kept
in this module: partition files get fresh unique names and are fsynced before the manifest names them; the
manifest is replaced atomically (``manifest.json.tmp`` -> fsync -> ``os.replace`` -> fsync of the directory);
and the only files ever deleted are ones the current manifest does not list.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import polars as pl

from volengine.data.schema import TableSpec
from volengine.errors import DataError, StoreError, StoreLockError

MANIFEST = "manifest.json"
MANIFEST_TMP = "manifest.json.tmp"
MANIFEST_VERSION = 1
LOCK = ".lock"
STAGING = ".staging"
HISTORY_LIMIT = 1000
#: partition value of "no value": the ``rates`` table (no underlying) and null dates or symbols
NONE_PART = "_"
#: partition of staged deletes whose keys do not say which partition they live in (e.g. quarantine)
ALL_PARTS = "*"
PART_PREFIX = "part-"
PART_SUFFIX = ".parquet"
PART_COMPRESSION = "zstd"
# zstd level 1 with dictionary pages only for low-cardinality dtypes (PartWriter): on a 2M-row option chain
# ~1.3x the bytes of polars' zstd-2 file for ~0.6x the CPU; dictionary pages for floats cost more CPU than
# they save bytes, and they never fit unique symbols (occ_symbol)
PART_COMPRESSION_LEVEL = 1
#: rows per row group of a partition file; fixed, so a file's bytes depend only on its rows (not on batching)
PART_ROW_GROUP_ROWS = 262_144
# staging files live for one transaction: uncompressed Parquet (still dictionary-encoded) is ~2x faster to
# write and read back than lz4, for ~1.6x the temporary disk space
STAGE_COMPRESSION = "uncompressed"
_LOCK_POLL_S = 0.05


def partition_column(ts: TableSpec) -> str | None:
    """The column that names a row's underlying partition (``None`` for tables without one)."""
    if "underlying" in ts.schema:
        return "underlying"
    if "symbol" in ts.schema:
        return "symbol"
    return None


def key_locates_partition(ts: TableSpec) -> bool:
    """True if a row's key alone tells which partition holds it (so upserts never cross partitions)."""
    col = partition_column(ts)
    return ts.date_column in ts.key and (col is None or col in ts.key)


def encode_value(value: object) -> str:
    """A path-safe partition value: percent-encoded; ``None`` becomes ``_``."""
    if value is None:
        return NONE_PART
    text = quote(str(value), safe="")
    if text in {NONE_PART, ".", ".."}:
        return "".join(f"%{ord(ch):02X}" for ch in text)
    return text


def decode_value(text: str) -> str | None:
    """Inverse of :func:`encode_value`."""
    return None if text == NONE_PART else unquote(text)


def partition_key(underlying: object, year: object) -> str:
    """``underlying=<SYM>/year=<YYYY>``, the manifest's name of one partition."""
    return f"underlying={encode_value(underlying)}/year={encode_value(year)}"


def parse_partition_key(key: str) -> tuple[str | None, int | None]:
    """(underlying, year) of a manifest partition name."""
    under, year = (part.split("=", 1)[1] for part in key.split("/"))
    year_text = decode_value(year)
    return decode_value(under), None if year_text is None else int(year_text)


def split_partitions(frame: pl.DataFrame, ts: TableSpec) -> Iterator[tuple[str, pl.DataFrame]]:
    """(partition key, rows) for each partition that ``frame``'s rows fall into, in first-seen order."""
    col = partition_column(ts)
    year = "__store_year"
    tagged = frame.with_columns(pl.col(ts.date_column).dt.year().alias(year))
    by = [year] if col is None else [col, year]
    if tagged.select(pl.all_horizontal(pl.col(c).n_unique() == 1 for c in by)).item():
        # one partition (a single-symbol file within one year): no partition_by copy of the batch
        values = tagged.row(0, named=True)
        under = None if col is None else values[col]
        yield partition_key(under, values[year]), frame
        return
    for values, piece in tagged.partition_by(by, as_dict=True, maintain_order=True).items():
        under = None if col is None else values[0]
        yield partition_key(under, values[-1]), piece.drop(year)


def scan_files(paths: Sequence[Path], schema: dict[str, Any]) -> pl.LazyFrame:
    """Lazy scan of store files with the canonical schema; columns added to the schema later read as null."""
    return pl.scan_parquet(
        list(paths),
        schema=schema,
        hive_partitioning=False,
        glob=False,
        missing_columns="insert",
        extra_columns="ignore",
    )


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in chunks (never the whole file in memory)."""
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def fsync_dir(path: Path) -> None:
    """Make a directory's entries (new or renamed files) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _is_low_cardinality(dtype: Any) -> bool:
    return isinstance(dtype, pl.Categorical | pl.Enum | pl.Date | pl.Datetime | pl.Boolean | pl.Int32)


class PartWriter:
    """Write canonical frames, in order, into one Parquet file of fixed-size row groups.

    Rows are buffered until :data:`PART_ROW_GROUP_ROWS` have arrived, so the file holds the same row groups,
    and the same bytes, whether its rows came in one frame or in many batches (a streamed import and a merged
    partition give identical files). Fewer than one row group of rows is buffered. Categorical columns keep
    their polars metadata, so the file reads back with the canonical dtypes.
    """

    def __init__(self, path: Path, schema: Mapping[str, Any]) -> None:
        self.path = path
        self.rows = 0
        self._schema = dict(pl.DataFrame(schema=dict(schema)).schema)  # dtype classes (pl.Date) as instances
        self._pending: list[pl.DataFrame] = []
        self._n_pending = 0
        self._writer: Any = None

    def write(self, frame: pl.DataFrame) -> None:
        """Append ``frame`` (canonical columns in canonical order)."""
        if frame.is_empty():
            return
        self._pending.append(frame)
        self._n_pending += frame.height
        while self._n_pending >= PART_ROW_GROUP_ROWS:
            rows = pl.concat(self._pending, rechunk=False)
            self._row_group(rows.slice(0, PART_ROW_GROUP_ROWS))
            rest = rows.slice(PART_ROW_GROUP_ROWS)
            self._pending, self._n_pending = ([rest] if rest.height else []), rest.height

    def close(self) -> None:
        """Write the buffered rows and the footer (an empty file with the schema if no rows came)."""
        if self._pending:
            self._row_group(pl.concat(self._pending, rechunk=False))
            self._pending, self._n_pending = [], 0
        if self._writer is None:
            self._row_group(pl.DataFrame(schema=self._schema))
        self._writer.close()

    def abort(self) -> None:
        """Drop the buffer and close the file handle (the caller removes the file)."""
        self._pending, self._n_pending = [], 0
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.close()

    def _row_group(self, frame: pl.DataFrame) -> None:
        import pyarrow.parquet as pq

        # one contiguous chunk per row group: arrow chunk boundaries would otherwise show in the page layout
        table = frame.rechunk().to_arrow()
        if self._writer is None:
            dictionary = [c for c, t in self._schema.items() if _is_low_cardinality(t)]
            self._writer = pq.ParquetWriter(
                self.path,
                table.schema,
                compression=PART_COMPRESSION,
                compression_level=PART_COMPRESSION_LEVEL,
                use_dictionary=dictionary,
                write_statistics=True,
            )
        self._writer.write_table(table, row_group_size=PART_ROW_GROUP_ROWS)
        self.rows += frame.height


def publish_part(tmp: Path, directory: Path) -> tuple[Path, str]:
    """fsync and hash the finished file ``tmp``, rename it to a fresh ``part-`` name in ``directory``.

    Returns (final path, sha256). ``tmp`` must be on the store's file system (the staging area or
    ``directory`` itself). Nothing references the file until the manifest does.
    """
    directory.mkdir(parents=True, exist_ok=True)
    with tmp.open("rb") as fh:
        os.fsync(fh.fileno())
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
    final = directory / f"{PART_PREFIX}{uuid.uuid4().hex}{PART_SUFFIX}"
    tmp.rename(final)  # a fresh name: nothing is replaced, so no os.replace here
    fsync_dir(directory)
    return final, digest


def write_part(frame: pl.DataFrame, directory: Path) -> tuple[Path, str]:
    """Write ``frame`` as a new uniquely named partition file; return (path, sha256) once it is durable.

    The file is written under a hidden temporary name and renamed to its final, never-before-used name, so a
    half-written file never carries a ``part-`` name. Nothing references it until the manifest does.
    """
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f".{PART_PREFIX}{uuid.uuid4().hex}{PART_SUFFIX}.tmp"
    writer = PartWriter(tmp, frame.schema)
    try:
        writer.write(frame)
        writer.close()
    except BaseException:
        writer.abort()
        tmp.unlink(missing_ok=True)
        raise
    return publish_part(tmp, directory)


def empty_manifest() -> dict[str, Any]:
    """The manifest of a store that has never committed."""
    return {"version": MANIFEST_VERSION, "datasets": {}, "history": []}


def load_manifest(root: Path) -> dict[str, Any]:
    """Parse ``root/manifest.json`` (an empty manifest if there is none)."""
    path = root / MANIFEST
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return empty_manifest()
    return parse_manifest(raw, path)


def parse_manifest(raw: bytes, path: Path) -> dict[str, Any]:
    """Parse manifest bytes, checking the format version."""
    try:
        manifest = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        msg = f"store manifest {path} is not valid JSON ({exc})"
        raise DataError(msg, path=str(path)) from exc
    version = manifest.get("version") if isinstance(manifest, dict) else None
    if version != MANIFEST_VERSION:
        msg = f"store manifest {path} has version {version!r}; this VolEngine reads version {MANIFEST_VERSION}"
        raise StoreError(msg)
    return manifest


def dump_manifest(manifest: dict[str, Any]) -> bytes:
    """Stable manifest bytes: sorted keys, fixed indent, trailing newline."""
    return (json.dumps(manifest, sort_keys=True, indent=1, ensure_ascii=True) + "\n").encode()


def replace_manifest(root: Path, manifest: dict[str, Any]) -> None:
    """Write ``manifest.json.tmp``, fsync it and replace the manifest: the single atomic commit point.

    The caller fsyncs ``root`` afterwards; that step is outside this function so that a failure there is
    never mistaken for a failure to commit.
    """
    tmp = root / MANIFEST_TMP
    with tmp.open("wb") as fh:
        fh.write(dump_manifest(manifest))
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(root / MANIFEST)  # the commit point


def open_staging_lock(staging: Path, txid: str) -> int:
    """Create and hold ``staging/<txid>.lock``; the area ``staging/<txid>/`` may be created after this returns.

    The lock is taken under a name sweepers ignore and then renamed, so no sweeper can ever see the lock file
    unheld while its transaction is alive.
    """
    pending = staging / f".{txid}.pending"
    for _ in range(5):
        staging.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(pending, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        except FileNotFoundError:
            continue  # a sweeper removed the empty staging directory in between; make it again
        fcntl.flock(fd, fcntl.LOCK_EX)
        pending.rename(staging / f"{txid}.lock")
        return fd
    msg = f"cannot create a staging area in {staging}"
    raise StoreError(msg)


def try_flock(fd: int) -> bool:
    """Take an exclusive flock on ``fd`` without blocking; False if someone else holds it."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextlib.contextmanager
def store_lock(root: Path, timeout_s: float) -> Iterator[None]:
    """Hold ``root/.lock`` exclusively (one committer at a time, across processes)."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / LOCK
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + max(timeout_s, 0.0)
        while not try_flock(fd):
            if time.monotonic() >= deadline:
                msg = (
                    f"store {root} is locked by another writer ({path}); gave up after {timeout_s:g} s "
                    "(raise lock_timeout, or wait for the other import to finish)"
                )
                raise StoreLockError(msg)
            time.sleep(_LOCK_POLL_S)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the flock


def live_files(manifest: dict[str, Any]) -> set[str]:
    """Relative paths of every partition file the manifest lists."""
    return {
        entry["file"] for ds in manifest.get("datasets", {}).values() for entry in ds.get("partitions", {}).values()
    }


def sweep_orphans(root: Path, manifest: dict[str, Any], datasets: Sequence[str]) -> list[str]:
    """Delete partition and temp files of ``datasets`` that the manifest does not list; call under the lock.

    Only names the store itself creates (``part-*.parquet`` and ``.part-*.parquet.tmp``) are touched.
    Returns the removed paths, relative to ``root``.
    """
    keep = live_files(manifest)
    removed: list[str] = []
    for name in datasets:
        base = root / name
        if not base.is_dir():
            continue
        for dirpath, _, filenames in os.walk(base, topdown=False):
            here = Path(dirpath)
            for fname in filenames:
                rel = (here / fname).relative_to(root).as_posix()
                ours = fname.startswith(PART_PREFIX) or fname.startswith(f".{PART_PREFIX}")
                if ours and rel not in keep:
                    (here / fname).unlink(missing_ok=True)
                    removed.append(rel)
            if here != base:
                with contextlib.suppress(OSError):
                    here.rmdir()  # only succeeds when empty
    tmp = root / MANIFEST_TMP
    if tmp.exists():
        tmp.unlink()
        removed.append(MANIFEST_TMP)
    return removed


def sweep_staging(root: Path) -> list[str]:
    """Remove staging areas of transactions that no longer run (their lock file is not held)."""
    staging = root / STAGING
    if not staging.is_dir():
        return []
    removed = []
    for entry in sorted(staging.iterdir()):
        if entry.suffix == ".lock":
            try:
                fd = os.open(entry, os.O_RDWR)
            except FileNotFoundError:
                continue  # another sweeper removed it
            try:
                if not try_flock(fd):
                    continue  # a live transaction, maybe in another process
                area = entry.with_suffix("")
                shutil.rmtree(area, ignore_errors=True)
                entry.unlink(missing_ok=True)
                removed.append(area.relative_to(root).as_posix())
            finally:
                os.close(fd)
        elif entry.is_dir() and not entry.with_suffix(".lock").exists():
            # a transaction creates its lock before its directory, so a lockless directory is dead
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry.relative_to(root).as_posix())
    with contextlib.suppress(OSError):
        staging.rmdir()
    return removed
