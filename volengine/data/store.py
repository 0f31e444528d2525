"""The partitioned Parquet store of canonical market tables, with idempotent transactional upserts.

Layout::

    root/manifest.json                                  the only source of truth for readers
    root/<dataset>/underlying=<SYM>/year=<YYYY>/part-<uuid>.parquet   one live file per partition (zstd)
    root/.lock                                          held (fcntl.flock) while a commit runs
    root/.staging/<txid>/...                            batches staged by a running transaction

``rates`` has no underlying and lives in ``underlying=_``; ``vol_index`` partitions by ``symbol``. Rows are
keyed by :attr:`TableSpec.key <volengine.data.schema.TableSpec>`: writing a row whose key already exists
replaces it (last write wins), so importing the same file twice changes nothing but the history.

Commit protocol (crash-safe at every step):

1. :meth:`Transaction.write` validates each batch, splits it by partition and stages it on disk, so memory
   stays bounded by one batch however large the import. Batches for a partition the store does not hold yet
   that arrive in strictly ascending key order (a sorted vendor file) form a *run*: a background thread
   writes them straight into one partition-format file in the staging area while the caller parses on.
2. :meth:`Transaction.commit` takes ``root/.lock``, and for each touched partition only reads the live file and
   the staged batches, merges them (later wins per key, deletes drop keys), sorts by key and writes one new
   uniquely named file (temp name, fsync, rename, fsync of the directory). Untouched partitions are not read.
   A partition that is still new and received nothing but one run skips the merge: the run's file is
   fsynced, hashed and renamed into place. Files are zstd Parquet in fixed 262,144-row row groups
   (:class:`~volengine.data._store_io.PartWriter`), so both ways give byte-identical files.
3. The new manifest goes to ``manifest.json.tmp``, is fsynced and ``os.replace``-d onto ``manifest.json``
   (the single atomic commit point), then the directory is fsynced.
4. Only then are superseded files deleted. Readers use only files the manifest lists, so a crash anywhere
   leaves the previous state readable; files orphaned by a crash are swept by the next commit or
   :meth:`Store.vacuum`.

Manifest (JSON, sorted keys)::

    {"version": 1,
     "datasets": {name: {"partitions": {"underlying=SPY/year=2024":
         {"file": <path under root>, "rows": n, "min_date": iso, "max_date": iso, "sha256": <of the file bytes>}}}},
     "history": [{"committed_at": <UTC ISO>, "note": ..., "source_files": [{"path", "sha256", "bytes"}],
                  "datasets": {name: {"rows_written", "rows_deleted", "partitions": <count touched>}}}]}

History is append-only and keeps the last 1000 commits. Symbols are percent-encoded in partition names
(``BRK/B`` -> ``BRK%2FB``); ``_`` stands for "none" (``rates``, or a quarantined row without date or symbol).

A scan that is running while another process commits may find a file it planned to read deleted; readers
that need isolation from concurrent writers should collect within one process or hold off commits.
"""

from __future__ import annotations

import contextlib
import copy
import os
import shutil
import uuid
import weakref
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import polars as pl

from volengine.data import _store_io as sio
from volengine.data import _store_merge as sm
from volengine.data._store_merge import Op, Run, Work
from volengine.data.schema import TABLES, TableSpec, spec, validate
from volengine.errors import DataError, SchemaError, StoreError, StoreLockError

__all__ = ["CommitReport", "DatasetChange", "SourceFile", "Store", "StoreError", "StoreLockError", "Transaction"]


@dataclass(frozen=True)
class DatasetChange:
    """What one commit did to one dataset.

    ``rows_written`` counts staged rows now in the store (new or replacing a row with the same key);
    ``rows_deleted`` counts previously stored rows removed by :meth:`Transaction.delete` (or moved to another
    partition); ``partitions`` names the partitions written to or deleted from; ``rows`` is the dataset's row
    count after the commit.
    """

    rows_written: int
    rows_deleted: int
    partitions: tuple[str, ...]
    rows: int


@dataclass(frozen=True)
class SourceFile:
    """A source file recorded in the manifest history, hashed as it was at commit time."""

    path: str
    sha256: str
    bytes: int


@dataclass(frozen=True)
class CommitReport:
    """The result of a commit; ``committed_at`` is None when nothing was staged (no commit happened)."""

    committed_at: str | None
    note: str
    source_files: tuple[SourceFile, ...] = ()
    datasets: Mapping[str, DatasetChange] = field(default_factory=dict)

    @property
    def rows_written(self) -> int:
        """Rows written over all datasets."""
        return sum(c.rows_written for c in self.datasets.values())

    @property
    def rows_deleted(self) -> int:
        """Rows deleted over all datasets."""
        return sum(c.rows_deleted for c in self.datasets.values())


class Store:
    """A directory of canonical tables; see the module docstring for layout and commit protocol.

    Parameters
    ----------
    root : str or os.PathLike
        Store directory; created on the first write.
    lock_timeout : float, default 60.0
        Seconds a commit waits for another writer's lock before raising :class:`StoreLockError` (generous:
        a failed commit discards the staged batches, and another import's commit can take a while).
    """

    def __init__(self, root: str | os.PathLike[str], *, lock_timeout: float = 60.0) -> None:
        self.root = Path(root).absolute()
        self.lock_timeout = float(lock_timeout)
        self._cached: tuple[tuple[int, int, int], dict[str, Any]] | None = None

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r})"

    # -- reading ---------------------------------------------------------------------------------------

    def scan(
        self,
        dataset: str,
        *,
        underlyings: Sequence[str] | str | None = None,
        start: date | str | None = None,
        end: date | str | None = None,
        columns: Sequence[str] | None = None,
    ) -> pl.LazyFrame:
        """Lazy scan of a dataset's live rows, pruned to the partitions that can match.

        Parameters
        ----------
        dataset : str
            A canonical table name (:data:`volengine.data.schema.TABLES`).
        underlyings : sequence of str, optional
            Keep only these symbols (``symbol`` for ``vol_index``); unknown symbols simply match nothing.
        start, end : date or ISO string, optional
            Inclusive bounds on the table's date column (``ex_date`` for dividends).
        columns : sequence of str, optional
            Columns to read, in this order; default every canonical column in canonical order.

        Raises
        ------
        SchemaError
            Unknown dataset or column, or ``underlyings`` for a table without an underlying.
        DataError
            ``start`` or ``end`` is not a date.
        """
        ts = spec(dataset)
        cols = _columns(ts, columns)
        lo = _as_date(start, "start", ts.date_column)
        hi = _as_date(end, "end", ts.date_column)
        files = self._files(ts, underlyings, lo, hi)
        if not files:
            return pl.LazyFrame(schema={c: ts.schema[c] for c in cols})
        lf = sio.scan_files(files, dict(ts.schema))
        # each file holds one underlying, so pruning by file already applied the symbol filter
        if lo is not None:
            lf = lf.filter(pl.col(ts.date_column) >= lo)
        if hi is not None:
            lf = lf.filter(pl.col(ts.date_column) <= hi)
        return lf.select(cols)

    def read(
        self,
        dataset: str,
        *,
        underlyings: Sequence[str] | str | None = None,
        start: date | str | None = None,
        end: date | str | None = None,
        columns: Sequence[str] | None = None,
    ) -> pl.DataFrame:
        """``scan(...).collect()``; see :meth:`scan`."""
        return self.scan(dataset, underlyings=underlyings, start=start, end=end, columns=columns).collect()

    def manifest(self) -> dict[str, Any]:
        """A copy of the parsed manifest (``version``, ``datasets``, ``history``)."""
        return copy.deepcopy(self._manifest())

    def datasets(self) -> list[str]:
        """Names of the datasets holding at least one row, sorted."""
        return sorted(name for name, ds in self._manifest()["datasets"].items() if ds.get("partitions"))

    def underlyings(self, dataset: str) -> list[str]:
        """Symbols stored for ``dataset``, sorted (empty for ``rates``)."""
        ts = spec(dataset)
        if sio.partition_column(ts) is None:
            return []
        found = {sio.parse_partition_key(key)[0] for key in self._partitions(ts)}
        return sorted(u for u in found if u is not None)

    def date_range(self, dataset: str, underlying: str | None = None) -> tuple[date, date] | None:
        """(first, last) date stored for ``dataset`` (and ``underlying``), or None when there is none."""
        ts = spec(dataset)
        wanted = None if underlying is None else _symbol_set(ts, underlying)
        lows, highs = [], []
        for key, entry in self._partitions(ts).items():
            if wanted is not None and sio.parse_partition_key(key)[0] not in wanted:
                continue
            if entry.get("min_date") is not None:
                lows.append(entry["min_date"])
                highs.append(entry["max_date"])
        if not lows:
            return None
        return date.fromisoformat(min(lows)), date.fromisoformat(max(highs))

    # -- writing ---------------------------------------------------------------------------------------

    def transaction(
        self,
        *,
        source_files: Sequence[str | os.PathLike[str]] = (),
        note: str = "",
        lock_timeout: float | None = None,
    ) -> Transaction:
        """Open a transaction (a context manager: commit on success, roll back on an exception).

        ``source_files`` are hashed at commit and recorded in the manifest history; each must exist.
        """
        return Transaction(
            self,
            source_files=source_files,
            note=note,
            lock_timeout=self.lock_timeout if lock_timeout is None else lock_timeout,
        )

    def write(
        self,
        dataset: str,
        frame: pl.DataFrame,
        *,
        source_files: Sequence[str | os.PathLike[str]] = (),
        note: str = "",
        validated: bool = False,
        source: str | None = None,
    ) -> CommitReport:
        """Upsert ``frame`` into ``dataset`` in a transaction of its own; see :meth:`Transaction.write`."""
        tx = self.transaction(source_files=source_files, note=note)
        try:
            tx.write(dataset, frame, validated=validated, source=source)
        except BaseException:
            tx.rollback()
            raise
        return tx.commit()

    def vacuum(self) -> list[str]:
        """Delete files no manifest lists (left by crashed commits) and dead staging areas; return their paths."""
        if not self.root.is_dir():
            return []
        with sio.store_lock(self.root, self.lock_timeout):
            manifest = sio.load_manifest(self.root)
            return sio.sweep_orphans(self.root, manifest, list(TABLES)) + sio.sweep_staging(self.root)

    def verify(self) -> list[str]:
        """Check every live file against the manifest (exists, sha256, row count); return the problems found."""
        problems = []
        for name, ds in sorted(self._manifest()["datasets"].items()):
            for key, entry in sorted(ds.get("partitions", {}).items()):
                path = self.root / entry["file"]
                where = f"{name}/{key} ({entry['file']})"
                if not path.is_file():
                    problems.append(f"{where}: file is missing")
                elif sio.sha256_file(path) != entry["sha256"]:
                    problems.append(f"{where}: sha256 differs from the manifest")
                elif (n := pl.scan_parquet(path).select(pl.len()).collect().item()) != entry["rows"]:
                    problems.append(f"{where}: {n} rows; the manifest says {entry['rows']}")
        return problems

    # -- internals -------------------------------------------------------------------------------------

    def _manifest(self) -> dict[str, Any]:
        """The parsed manifest, re-read only when ``manifest.json`` was replaced (callers must not mutate it)."""
        path = self.root / sio.MANIFEST
        try:
            with path.open("rb") as fh:
                st = os.fstat(fh.fileno())
                stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
                if self._cached is not None and self._cached[0] == stamp:
                    return self._cached[1]
                raw = fh.read()
        except FileNotFoundError:
            return sio.empty_manifest()
        manifest = sio.parse_manifest(raw, path)
        self._cached = (stamp, manifest)
        return manifest

    def _partitions(self, ts: TableSpec) -> dict[str, Any]:
        partitions: dict[str, Any] = self._manifest()["datasets"].get(ts.name, {}).get("partitions", {})
        return partitions

    def _files(
        self, ts: TableSpec, underlyings: Sequence[str] | str | None, lo: date | None, hi: date | None
    ) -> list[Path]:
        """Live files of the partitions that can hold rows for these symbols and dates, in partition order."""
        wanted = None if underlyings is None else _symbol_set(ts, underlyings)
        files = []
        for key, entry in sorted(self._partitions(ts).items()):
            if wanted is not None and sio.parse_partition_key(key)[0] not in wanted:
                continue
            first, last = entry.get("min_date"), entry.get("max_date")
            if lo is not None and (last is None or date.fromisoformat(last) < lo):
                continue
            if hi is not None and (first is None or date.fromisoformat(first) > hi):
                continue
            files.append(self.root / entry["file"])
        return files


class Transaction:
    """Staged writes and deletes that become visible together at :meth:`commit`, or not at all.

    Not thread-safe; use one transaction per thread. Several transactions (also in other processes) may stage
    at the same time; their commits are serialised by the store lock, each merging into the state current at
    its commit.
    """

    def __init__(
        self,
        store: Store,
        *,
        source_files: Sequence[str | os.PathLike[str]],
        note: str,
        lock_timeout: float,
    ) -> None:
        if isinstance(source_files, str | os.PathLike):
            source_files = [source_files]
        self._store = store
        self._sources = tuple(Path(p).absolute() for p in source_files)
        for path in self._sources:
            if not path.is_file():
                msg = f"source file {path} does not exist or is not a file"
                raise DataError(msg, path=str(path))
        self._note = str(note)
        self._lock_timeout = float(lock_timeout)
        self._txid = uuid.uuid4().hex
        self._ops: list[Op] = []
        self._seq = 0
        self._area: Path | None = None
        self._release: weakref.finalize[Any, Any] | None = None
        self._closed = False
        self._runs: dict[tuple[str, str], Run] = {}
        self._writer_pool: ThreadPoolExecutor | None = None
        self._in_flight: Future[None] | None = None
        self.report: CommitReport | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._closed:
            return
        if exc_type is None:
            self.commit()
        else:
            self.rollback()

    def write(self, dataset: str, frame: pl.DataFrame, *, validated: bool = False, source: str | None = None) -> None:
        """Validate ``frame`` and stage it as an upsert into ``dataset``.

        Parameters
        ----------
        dataset : str
            Canonical table name.
        frame : pl.DataFrame
            Rows to upsert. Within a transaction a later batch overrides an earlier one for equal keys.
        validated : bool, default False
            The caller already ran :func:`~volengine.data.schema.validate` on this frame; only its schema is
            checked.
        source : str, optional
            Name used in error messages (e.g. the file the batch came from).

        Raises
        ------
        SchemaError, DataError
            From validation; nothing of this batch is staged.
        """
        self._check_open()
        ts = spec(dataset)
        seq = self._seq + 1
        where = source or f"{dataset} batch {seq}"
        frame = _check_canonical(frame, ts, where) if validated else validate(frame, dataset, source=where)
        if frame.is_empty():
            return
        staged = []
        for pkey, piece in sio.split_partitions(frame, ts):
            if not self._extend_run(ts, pkey, piece, seq):
                staged.append((pkey, piece))
        self._stage(ts, staged, seq, is_delete=False)
        self._seq = seq

    def delete(self, dataset: str, keys: pl.DataFrame, *, source: str | None = None) -> None:
        """Stage removal of the rows of ``dataset`` whose key columns equal a row of ``keys``.

        ``keys`` needs the table's key columns (other columns are ignored); keys not in the store are ignored.
        """
        self._check_open()
        ts = spec(dataset)
        seq = self._seq + 1
        frame = _key_frame(keys, ts, source or f"{dataset} delete {seq}")
        if frame.is_empty():
            return
        if sio.key_locates_partition(ts):
            pieces: Any = sio.split_partitions(frame, ts)
        else:
            pieces = [(sio.ALL_PARTS, frame)]
        self._stage(ts, pieces, seq, is_delete=True)
        self._seq = seq

    def commit(self) -> CommitReport:
        """Make every staged write and delete visible atomically; see the module docstring for the protocol.

        The transaction is closed afterwards (its staging area removed), whether the commit succeeded or not.

        Raises
        ------
        StoreLockError
            Another writer held the lock for longer than ``lock_timeout``.
        StoreError
            An I/O failure; the store is left exactly as before.
        """
        self._check_open()
        try:
            if not self._ops:
                self.report = CommitReport(committed_at=None, note=self._note)
                return self.report
            self._finish_runs()
            # hashing big source files is slow: it runs in a thread (hashlib releases the GIL) while the lock is
            # awaited and the partitions are merged and written; its result is needed only for the manifest
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="volengine-sha256") as pool:
                hashing = pool.submit(lambda: tuple(_describe_source(p) for p in self._sources))
                try:
                    with sio.store_lock(self._store.root, self._lock_timeout):
                        self.report = _commit_locked(self._store.root, self._ops, hashing.result, self._note)
                except Exception:
                    if hashing.exception() is None:
                        raise
                hashing.result()  # an unreadable source file is reported first, as it always was
            return self.report
        finally:
            self._close()

    def rollback(self) -> None:
        """Discard everything staged; the store is untouched. Idempotent."""
        self._close()

    # -- internals -------------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            msg = "transaction is closed (already committed or rolled back); open a new one with Store.transaction()"
            raise StoreError(msg)

    def _staging_area(self) -> Path:
        if self._area is None:
            staging = self._store.root / sio.STAGING
            fd = sio.open_staging_lock(staging, self._txid)
            # an abandoned transaction releases its lock when collected, so vacuum can reclaim its area
            self._release = weakref.finalize(self, os.close, fd)
            area = staging / self._txid
            area.mkdir()
            self._area = area
        return self._area

    def _stage(self, ts: TableSpec, pieces: Any, seq: int, *, is_delete: bool) -> None:
        """Write one batch's partition pieces to the staging area; on failure none of them stays staged."""
        new: list[Op] = []
        if not pieces:
            return
        try:
            area = self._staging_area()
            for pkey, piece in pieces:
                directory = area / ts.name / (sm.ALL_DIR if pkey == sio.ALL_PARTS else pkey)
                directory.mkdir(parents=True, exist_ok=True)
                path = directory / f"{seq:06d}-{'d' if is_delete else 'w'}.parquet"
                piece.write_parquet(path, compression=sio.STAGE_COMPRESSION, statistics=False)
                new.append(Op(ts.name, pkey, seq, path, is_delete))
        except BaseException as exc:
            for op in new:
                op.path.unlink(missing_ok=True)
            if isinstance(exc, OSError):
                msg = f"cannot stage a batch of '{ts.name}' in {self._store.root / sio.STAGING}: {exc}"
                raise StoreError(msg) from exc
            raise
        self._ops.extend(new)

    def _extend_run(self, ts: TableSpec, pkey: str, piece: pl.DataFrame, seq: int) -> bool:
        """Append ``piece`` to its partition's run if it can be one (see :class:`Run`); False to stage it.

        A run starts on a partition the store does not hold yet and this transaction has not touched, and
        grows while each batch is strictly ascending and starts after the run's last key. The file is written
        by one background thread while the caller parses its next batch; at most one batch is in flight.
        """
        if not sio.key_locates_partition(ts):
            return False
        by = sm.sort_columns(ts)
        keys = piece.select(by)
        run = self._runs.get((ts.name, pkey))
        if run is None:
            touched = any(o.dataset == ts.name and o.partition == pkey for o in self._ops)
            if touched or pkey in self._store._partitions(ts):
                return False
            if not sm.is_strictly_ascending(keys):
                return False
            directory = self._staging_area() / ts.name / pkey
            directory.mkdir(parents=True, exist_ok=True)
            path = directory / f"{seq:06d}-run.parquet"
            run = Run(path, sio.PartWriter(path, ts.schema), keys.head(0))
            self._runs[(ts.name, pkey)] = run
            self._ops.append(Op(ts.name, pkey, seq, path, is_delete=False, run=run))
        elif not run.accepts(keys):
            return False
        self._wait_for_writer()
        run.record(piece, keys, seq, ts.date_column)
        self._submit(run.writer.write, piece)
        return True

    def _submit(self, fn: Callable[..., None], *args: Any) -> None:
        if self._writer_pool is None:
            self._writer_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="volengine-part-writer")
        self._in_flight = self._writer_pool.submit(fn, *args)

    def _wait_for_writer(self) -> None:
        """Wait for the batch the background writer holds; an I/O failure there becomes a StoreError."""
        pending, self._in_flight = self._in_flight, None
        try:
            if pending is not None:
                pending.result()
        except OSError as exc:
            msg = f"cannot write a batch into the staging area {self._store.root / sio.STAGING}: {exc}"
            raise StoreError(msg) from exc

    def _finish_runs(self) -> None:
        """Write the buffered rows and footers of every run (before the store lock is taken)."""
        self._wait_for_writer()
        for run in self._runs.values():
            self._submit(run.writer.close)
            self._wait_for_writer()

    def _close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._ops = []
        if self._writer_pool is not None:
            self._writer_pool.shutdown(wait=True, cancel_futures=True)
            self._writer_pool = None
            self._in_flight = None
        for run in self._runs.values():
            run.writer.abort()
        self._runs = {}
        if self._area is None:
            return
        shutil.rmtree(self._area, ignore_errors=True)
        staging = self._area.parent
        with contextlib.suppress(OSError):
            (staging / f"{self._txid}.lock").unlink()
        if self._release is not None:
            self._release()
        with contextlib.suppress(OSError):
            staging.rmdir()  # only when no other transaction is staging


# -- commit ------------------------------------------------------------------------------------------------


def _commit_locked(
    root: Path, ops: list[Op], describe_sources: Callable[[], tuple[SourceFile, ...]], note: str
) -> CommitReport:
    """Merge staged operations into the store and publish a new manifest; call holding the store lock.

    ``describe_sources`` returns the source files' sizes and digests (computed meanwhile in a thread).
    """
    manifest = sio.load_manifest(root)
    datasets = dict(manifest["datasets"])
    new_files: list[Path] = []
    superseded: list[Path] = []
    changes: dict[str, DatasetChange] = {}
    try:
        for name in sorted({op.dataset for op in ops}):
            ts = TABLES[name]
            live = datasets.get(name, {}).get("partitions", {})
            plan = sm.plan(root, ts, live, [op for op in ops if op.dataset == name])
            partitions, change = _apply(root, ts, live, plan, new_files, superseded)
            changes[name] = change
            if partitions:
                datasets[name] = {"partitions": partitions}
            else:
                datasets.pop(name, None)
        sources = describe_sources()
        committed_at = datetime.now(UTC).isoformat()
        entry = {
            "committed_at": committed_at,
            "note": note,
            "source_files": [{"path": s.path, "sha256": s.sha256, "bytes": s.bytes} for s in sources],
            "datasets": {
                n: {"rows_written": c.rows_written, "rows_deleted": c.rows_deleted, "partitions": len(c.partitions)}
                for n, c in changes.items()
            },
        }
        history = [*manifest.get("history", []), entry][-sio.HISTORY_LIMIT :]
        new_manifest = {"version": sio.MANIFEST_VERSION, "datasets": datasets, "history": history}
        sio.replace_manifest(root, new_manifest)
    except BaseException as exc:
        _discard(root, new_files)
        if isinstance(exc, OSError | pl.exceptions.PolarsError):
            msg = f"commit to store {root} failed, nothing was changed: {exc}"
            raise StoreError(msg) from exc
        raise
    # committed: what follows only makes it durable and tidies up; leftovers are swept by the next commit
    try:
        sio.fsync_dir(root)
    except OSError as exc:
        msg = f"commit to store {root} is visible but fsync of the directory failed: {exc}"
        raise StoreError(msg) from exc
    for path in superseded:
        with contextlib.suppress(OSError):
            path.unlink()
    with contextlib.suppress(OSError):
        sio.sweep_orphans(root, new_manifest, list(TABLES))
        sio.sweep_staging(root)
    return CommitReport(committed_at=committed_at, note=note, source_files=sources, datasets=changes)


def _discard(root: Path, new_files: list[Path]) -> None:
    """Undo a failed commit: remove its new partition files, their new empty directories and the manifest tmp.

    Files the manifest on disk lists are kept: an interrupt that lands just after the manifest replace must not
    delete what was committed. If the manifest cannot be read, nothing is removed (vacuum can do it later).
    """
    try:
        listed = sio.live_files(sio.load_manifest(root))
    except Exception:
        return
    doomed = [p for p in new_files if p.relative_to(root).as_posix() not in listed]
    for path in [*doomed, root / sio.MANIFEST_TMP]:
        with contextlib.suppress(OSError):
            path.unlink()
    for path in doomed:
        for directory in (path.parent, path.parent.parent):  # year=..., then underlying=...
            with contextlib.suppress(OSError):
                directory.rmdir()  # only succeeds when empty


def _apply(
    root: Path,
    ts: TableSpec,
    live: Mapping[str, Any],
    plan: Mapping[str, Work],
    new_files: list[Path],
    superseded: list[Path],
) -> tuple[dict[str, Any], DatasetChange]:
    """Merge and write every planned partition; return the dataset's new partition table and its change."""
    partitions = dict(live)
    written = deleted = 0
    touched = []
    for pkey in sorted(plan):
        entry = live.get(pkey)
        where = f"{ts.name}/{pkey}"
        work = plan[pkey]
        try:
            if entry is None and not work.writes and not work.markers and len(work.runs) == 1:
                # a new partition written as one ascending run: its staged file already is the partition file
                run = work.runs[0]
                path, digest = sio.publish_part(run.path, root / ts.name / pkey)
                new_files.append(path)
                partitions[pkey] = run.entry(root, path, digest)
                written += run.rows
                touched.append(pkey)
                continue
            old = None if entry is None else sio.scan_files([root / entry["file"]], dict(ts.schema)).collect()
            merged, n_written, n_deleted = sm.merge(ts, old, work)
            if n_written or n_deleted:
                touched.append(pkey)
            written, deleted = written + n_written, deleted + n_deleted
            if old is not None and merged.equals(old):
                continue  # e.g. the same file imported again: keep the live file as it is
            if entry is not None:
                superseded.append(root / entry["file"])
            if merged.is_empty():
                partitions.pop(pkey, None)
                continue
            path, digest = sio.write_part(merged, root / ts.name / pkey)
            new_files.append(path)
            partitions[pkey] = _entry(root, path, digest, merged, ts)
        except (OSError, pl.exceptions.PolarsError) as exc:
            msg = f"cannot merge partition {where} of store {root}: {exc}"
            raise StoreError(msg) from exc
    rows = sum(int(e["rows"]) for e in partitions.values())
    return partitions, DatasetChange(written, deleted, tuple(touched), rows)


def _entry(root: Path, path: Path, digest: str, frame: pl.DataFrame, ts: TableSpec) -> dict[str, Any]:
    dates = frame[ts.date_column]
    first, last = dates.min(), dates.max()
    return {
        "file": path.relative_to(root).as_posix(),
        "rows": frame.height,
        "min_date": None if first is None else first.isoformat(),  # type: ignore[union-attr]
        "max_date": None if last is None else last.isoformat(),  # type: ignore[union-attr]
        "sha256": digest,
    }


# -- small helpers -----------------------------------------------------------------------------------------


def _describe_source(path: Path) -> SourceFile:
    try:
        size = path.stat().st_size
        digest = sio.sha256_file(path)
    except OSError as exc:
        msg = f"cannot hash source file {path}: {exc}"
        raise DataError(msg, path=str(path)) from exc
    return SourceFile(path=str(path), sha256=digest, bytes=size)


def _check_canonical(frame: pl.DataFrame, ts: TableSpec, where: str) -> pl.DataFrame:
    """A frame the caller validated: insist on the canonical schema (any column order)."""
    for name, dtype in ts.schema.items():
        got = frame.schema.get(name)
        if got != dtype:
            msg = (
                f"{where}: frame passed with validated=True must have the canonical '{ts.name}' schema; "
                f"column '{name}' is {'missing' if got is None else got}, expected {dtype}"
            )
            raise SchemaError(msg, path=where, column=name)
    extra = [c for c in frame.columns if c not in ts.schema]
    if extra:
        msg = f"{where}: frame passed with validated=True has non-canonical column(s) {', '.join(extra)}"
        raise SchemaError(msg, path=where, column=extra[0])
    return frame.select(list(ts.schema))


def _key_frame(keys: pl.DataFrame, ts: TableSpec, where: str) -> pl.DataFrame:
    """The distinct key rows of ``keys``, cast to the canonical key dtypes."""
    missing = [k for k in ts.key if k not in keys.columns]
    if missing:
        msg = f"{where}: keys for '{ts.name}' need column(s) {', '.join(missing)}; got {', '.join(keys.columns)}"
        raise SchemaError(msg, path=where, column=missing[0])
    out = keys.select(ts.key)
    for name in ts.key:
        try:
            out = out.with_columns(pl.col(name).cast(ts.schema[name], strict=True))
        except (pl.exceptions.InvalidOperationError, pl.exceptions.ComputeError) as exc:
            msg = f"{where}: key column '{name}' cannot be read as {ts.schema[name]} ({exc})"
            raise SchemaError(msg, path=where, column=name) from exc
    return out.unique(maintain_order=True)


def _columns(ts: TableSpec, columns: Sequence[str] | None) -> list[str]:
    if columns is None:
        return list(ts.schema)
    cols = [columns] if isinstance(columns, str) else list(columns)
    unknown = [c for c in cols if c not in ts.schema]
    if unknown:
        msg = f"table '{ts.name}' has no column(s) {', '.join(unknown)}; columns: {', '.join(ts.schema)}"
        raise SchemaError(msg, column=unknown[0])
    return cols


def _symbol_set(ts: TableSpec, underlyings: Sequence[str] | str) -> set[str]:
    if sio.partition_column(ts) is None:
        msg = f"table '{ts.name}' has no underlying; do not pass underlyings"
        raise SchemaError(msg)
    return {underlyings} if isinstance(underlyings, str) else {str(u) for u in underlyings}


def _as_date(value: date | str | None, name: str, column: str) -> date | None:
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return date.fromisoformat(value)
    msg = f"store scan: {name} must be a date or an ISO 'YYYY-MM-DD' string (bound on '{column}'); got {value!r}"
    raise DataError(msg, column=column, value=value)
