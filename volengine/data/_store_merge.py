"""Merging staged operations into partitions: the planning and merge steps of a store commit.

Private to :mod:`volengine.data.store`. Every row that goes into a partition at commit (its live rows, each
staged batch, each delete marker) is stacked with its operation number (0 = live, then staging order); after a
sort by (key, number) the last entry of each key wins, and a winning delete marker removes the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

import polars as pl

from volengine.data import _store_io as sio
from volengine.data.schema import TableSpec

_SEQ = "__store_seq"  # 0 = live row, 1.. = order of the staged operation within the transaction
_DEL = "__store_del"  # True on delete markers
_PART = "__store_part"
_ROW = "__store_row"
ALL_DIR = "_all"


class Op(NamedTuple):
    """One staged file: a batch's rows (or delete keys) for one partition of one dataset."""

    dataset: str
    partition: str  # partition key, or sio.ALL_PARTS for deletes whose keys do not locate a partition
    seq: int
    path: Path
    is_delete: bool


class Work(NamedTuple):
    """Everything that goes into one partition at commit: staged write files and delete-marker frames."""

    writes: list[tuple[int, Path]]
    markers: list[pl.DataFrame]


def plan(root: Path, ts: TableSpec, live: Mapping[str, Any], ops: list[Op]) -> dict[str, Work]:
    """The work for every partition this dataset's staged operations can change."""
    work: dict[str, Work] = {}
    for op in ops:
        if not op.is_delete:
            work.setdefault(op.partition, Work([], [])).writes.append((op.seq, op.path))
    if sio.key_locates_partition(ts):
        for op in ops:
            if op.is_delete and (op.partition in live or op.partition in work):
                marker = tag(pl.read_parquet(op.path), op.seq, deleted=True)
                work.setdefault(op.partition, Work([], [])).markers.append(marker)
    else:
        for pkey, marker in _foreign_markers(root, ts, live, work, ops).items():
            work.setdefault(pkey, Work([], [])).markers.append(marker)
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
    parts += work.markers
    stacked = pl.concat(parts, how="diagonal") if len(parts) > 1 else parts[0]
    # the partition's symbol is constant here; leaving it out of the sort makes it ~2.5x faster
    by = [k for k in key if k != sio.partition_column(ts)]
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
