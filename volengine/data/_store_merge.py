"""Merging staged operations into partitions: the planning and merge steps of a store commit.

Private to :mod:`volengine.data.store`. Every row that goes into a partition at commit (its live rows, each
staged batch, each delete marker) is stacked with its operation number (0 = live, then staging order); after a
sort by (key, number) the last entry of each key wins, and a winning delete marker removes the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import polars as pl

from volengine.data import _store_io as sio
from volengine.data.schema import TableSpec

_SEQ = "__store_seq"  # 0 = live row, 1.. = order of the staged operation within the transaction
_DEL = "__store_del"  # True on delete markers
_PART = "__store_part"
_ROW = "__store_row"
ALL_DIR = "_all"


@dataclass
class Run:
    """Batches of a partition new to the store that arrived in strictly ascending key order.

    They are written straight into one partition-format file (:class:`~volengine.data._store_io.PartWriter`)
    in the staging area; if the partition is still new at commit and nothing else touches it, that file is
    published as it is (no staging copy, no merge, no sort). ``pieces`` holds (operation number, rows) of each
    batch, so a merge can still order the run's rows against other operations.
    """

    path: Path
    writer: sio.PartWriter
    last: pl.DataFrame  # sort-key columns of the run's last row
    pieces: list[tuple[int, int]] = field(default_factory=list)
    min_date: Any = None
    max_date: Any = None

    @property
    def rows(self) -> int:
        """Rows written into the run."""
        return sum(n for _, n in self.pieces)

    def accepts(self, keys: pl.DataFrame) -> bool:
        """True if a batch with these sort keys can extend the run (ascending, after the run's last key)."""
        return is_strictly_ascending(pl.concat([self.last, keys.head(1)])) and is_strictly_ascending(keys)

    def record(self, piece: pl.DataFrame, keys: pl.DataFrame, seq: int, date_column: str) -> None:
        """Note a batch handed to the writer: its operation number, rows, dates and last key."""
        dates = piece[date_column]
        lo, hi = dates.min(), dates.max()
        self.min_date = lo if self.min_date is None else min(self.min_date, lo)
        self.max_date = hi if self.max_date is None else max(self.max_date, hi)
        self.last = pl.DataFrame(keys.tail(1).rows(), schema=keys.schema, orient="row")  # not a view of the batch
        self.pieces.append((seq, piece.height))

    def entry(self, root: Path, path: Path, digest: str) -> dict[str, Any]:
        """The manifest entry of the run published as the partition file ``path``."""
        return {
            "file": path.relative_to(root).as_posix(),
            "rows": self.rows,
            "min_date": None if self.min_date is None else self.min_date.isoformat(),
            "max_date": None if self.max_date is None else self.max_date.isoformat(),
            "sha256": digest,
        }


class Op(NamedTuple):
    """One staged file: a batch's rows (or delete keys) for one partition of one dataset, or a run of batches."""

    dataset: str
    partition: str  # partition key, or sio.ALL_PARTS for deletes whose keys do not locate a partition
    seq: int
    path: Path
    is_delete: bool
    run: Run | None = None


class Work(NamedTuple):
    """Everything that goes into one partition at commit: staged write files, runs and delete-marker frames."""

    writes: list[tuple[int, Path]]
    markers: list[pl.DataFrame]
    runs: list[Run]


def sort_columns(ts: TableSpec) -> list[str]:
    """The key columns a partition is sorted by (its symbol is constant within a partition)."""
    return [k for k in ts.key if k != sio.partition_column(ts)]


def is_strictly_ascending(keys: pl.DataFrame) -> bool:
    """True if the rows of ``keys`` (sort-key columns) strictly increase in the merge's sort order.

    Such rows are already where a merge would put them and hold no repeated key. Categoricals compare as text
    and enums by category order, as polars sorts them; a null or NaN key answers False (the merge decides).
    """
    if keys.is_empty():
        return True
    cols = []
    for name, dtype in keys.schema.items():
        c = pl.col(name)
        cols.append(c.cast(pl.String) if isinstance(dtype, pl.Categorical) else c.to_physical())
    if keys.select(pl.any_horizontal(c.is_null() for c in cols).any()).item():
        return False
    if keys.height == 1:
        return True
    ok = cols[-1] < cols[-1].shift(-1)
    for c in reversed(cols[:-1]):
        nxt = c.shift(-1)
        ok = (c < nxt) | ((c == nxt) & ok)
    return bool(keys.select(ok.head(keys.height - 1).fill_null(False).all()).item())


def plan(root: Path, ts: TableSpec, live: Mapping[str, Any], ops: list[Op]) -> dict[str, Work]:
    """The work for every partition this dataset's staged operations can change."""
    work: dict[str, Work] = {}
    for op in ops:
        if op.run is not None:
            work.setdefault(op.partition, Work([], [], [])).runs.append(op.run)
        elif not op.is_delete:
            work.setdefault(op.partition, Work([], [], [])).writes.append((op.seq, op.path))
    if sio.key_locates_partition(ts):
        for op in ops:
            if op.is_delete and (op.partition in live or op.partition in work):
                marker = tag(pl.read_parquet(op.path), op.seq, deleted=True)
                work.setdefault(op.partition, Work([], [], [])).markers.append(marker)
    else:
        for pkey, marker in _foreign_markers(root, ts, live, work, ops).items():
            work.setdefault(pkey, Work([], [], [])).markers.append(marker)
    return work


def _foreign_markers(
    root: Path, ts: TableSpec, live: Mapping[str, Any], work: Mapping[str, Work], ops: list[Op]
) -> dict[str, pl.DataFrame]:
    """Delete markers for tables whose key does not locate the partition (quarantine).

    A key written into partition P, or deleted without a partition, must disappear from every other
    partition; each operation becomes a marker (with its sequence number) in the partitions holding that key.
    """
    key = list(ts.key)
    staged = [
        pl.scan_parquet(op.path)
        .select(key)
        .with_columns(pl.lit(op.seq, pl.UInt32).alias(_SEQ), pl.lit(op.partition).alias(_PART))
        for op in ops
    ]
    all_ops = pl.concat(staged).collect()
    markers = {}
    for pkey in sorted(set(live) | set(work)):
        present = [pl.scan_parquet(p).select(key) for _, p in work[pkey].writes] if pkey in work else []
        if pkey in live:
            present.append(sio.scan_files([root / live[pkey]["file"]], dict(ts.schema)).select(key))
        held = pl.concat(present).unique().collect()
        found = all_ops.filter(pl.col(_PART) != pkey).join(held, on=key, how="semi", nulls_equal=True)
        if found.height:
            markers[pkey] = found.drop(_PART).with_columns(pl.lit(True).alias(_DEL))
    return markers


def merge(ts: TableSpec, old: pl.DataFrame | None, work: Work) -> tuple[pl.DataFrame, int, int]:
    """Live rows + staged batches + delete markers -> (rows sorted by key, rows written, rows deleted).

    Everything is stacked with its operation number and sorted by (key, number); the last entry per key wins,
    and a winning delete marker removes the key.
    """
    key = list(ts.key)
    parts = [] if old is None else [tag(old, 0, deleted=False)]
    parts += [tag(pl.read_parquet(path), seq, deleted=False) for seq, path in work.writes]
    parts += [_tag_run(run, ts) for run in work.runs]
    parts += work.markers
    stacked = pl.concat(parts, how="diagonal") if len(parts) > 1 else parts[0]
    # the partition's symbol is constant here; leaving it out of the sort makes it ~2.5x faster
    by = sort_columns(ts)
    # sort only the key columns and a row index, then gather the winning rows once: one pass over the wide
    # rows instead of a sort and two filters
    order = stacked.select(*by, _SEQ, _DEL).with_row_index(_ROW).sort([*by, _SEQ, _DEL], maintain_order=True)
    same_as_next = pl.all_horizontal([pl.col(k).eq_missing(pl.col(k).shift(-1)) for k in by])
    is_last = ~same_as_next | (pl.int_range(pl.len()) == pl.len() - 1)
    kept = order.filter(is_last).select(_ROW, _SEQ, _DEL)
    n_deleted = 0
    if work.markers and old is not None:
        gone = stacked[kept.filter(pl.col(_DEL))[_ROW]].select(key)
        n_deleted = gone.join(old.select(key), on=key, how="semi", nulls_equal=True).height
    if work.markers:
        kept = kept.filter(~pl.col(_DEL))
    n_written = int(kept.select((pl.col(_SEQ) > 0).sum()).item())
    return stacked.select(list(ts.schema))[kept[_ROW]], n_written, n_deleted


def tag(frame: pl.DataFrame, seq: int, *, deleted: bool) -> pl.DataFrame:
    return frame.with_columns(pl.lit(seq, pl.UInt32).alias(_SEQ), pl.lit(deleted).alias(_DEL))


def _tag_run(run: Run, ts: TableSpec) -> pl.DataFrame:
    """A run's rows, each tagged with the operation number of the batch it came in."""
    frame = sio.scan_files([run.path], dict(ts.schema)).collect()
    seqs = np.repeat(np.array([q for q, _ in run.pieces], dtype=np.uint32), [n for _, n in run.pieces])
    return frame.with_columns(pl.Series(_SEQ, seqs, dtype=pl.UInt32), pl.lit(False).alias(_DEL))
