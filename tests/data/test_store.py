"""The partitioned Parquet store: round trips, pruning, idempotent upserts, transactions, crash safety."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import subprocess
import sys
import textwrap
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from volengine.data import _store_io, _store_merge
from volengine.data.schema import TABLES, empty, validate
from volengine.data.store import Store, StoreError, StoreLockError
from volengine.errors import DataError, SchemaError

ET = ZoneInfo("America/New_York")
# two trading days either side of a year boundary, so every table spans two year partitions
DAYS = [date(2023, 12, 28), date(2023, 12, 29), date(2024, 1, 2), date(2024, 1, 3)]


def quotes(
    days: list[date] = DAYS,
    underlyings: tuple[str, ...] = ("SPY", "QQQ"),
    strikes: tuple[float, ...] = (95.0, 100.0, 105.0),
    bid: float = 1.0,
    rng: np.random.Generator | None = None,
) -> pl.DataFrame:
    """A small option_quotes batch: every (day, underlying, strike, right), roots SPY/SPYW-like per symbol."""
    rows = []
    for d in days:
        for u in underlyings:
            for k in strikes:
                for right in ("C", "P"):
                    b = bid if rng is None else float(rng.uniform(0.05, 20.0))
                    rows.append(
                        {
                            "date": d,
                            "quote_time": datetime(d.year, d.month, d.day, 16, 0, tzinfo=ET),
                            "underlying": u,
                            "root": u if k != 105.0 else f"{u}W",
                            "expiration": d + timedelta(days=30),
                            "strike": k,
                            "right": right,
                            "style": "american",
                            "settlement": "PM",
                            "multiplier": 100,
                            "bid": b,
                            "ask": b + 0.05,
                            "open_interest": None if k == 95.0 else 10,
                            "oi_asof": "prev_night",
                            "snapshot": "eod_1600",
                            "source": "test",
                        }
                    )
    return pl.DataFrame(rows)


def table_frame(name: str) -> pl.DataFrame:
    """A valid small frame of each canonical table."""
    two = ["SPY", "QQQ"]
    if name == "option_quotes":
        return quotes()
    if name == "bars":
        return pl.DataFrame(
            [
                {"date": d, "underlying": u, "open": 10.0, "high": 11.0, "low": 9.0, "close": 10.5, "volume": 1e6}
                for d in DAYS
                for u in two
            ]
        )
    if name == "vol_index":
        return pl.DataFrame([{"date": d, "symbol": s, "close": 15.0 + i} for i, d in enumerate(DAYS) for s in ["VIX"]])
    if name == "events":
        return pl.DataFrame(
            [
                {"date": DAYS[1], "underlying": "ALL", "kind": "FOMC", "timing": "during", "description": "x"},
                {"date": DAYS[2], "underlying": "SPY", "kind": "earnings", "timing": "after_close"},
            ]
        )
    if name == "rates":
        return pl.DataFrame([{"date": d, "tenor_days": t, "rate": 0.05} for d in DAYS for t in (30, 91)])
    if name == "dividends":
        return pl.DataFrame(
            [
                {"ex_date": DAYS[0], "underlying": "SPY", "amount": 1.6},
                {"ex_date": DAYS[3], "underlying": "QQQ", "amount": 0.5},
            ]
        )
    if name == "quarantine":
        bad = quotes(days=DAYS[1:3], underlyings=("SPY",), strikes=(100.0,)).with_columns(
            pl.lit("column 'ask' must be >= 'bid' (crossed quote)").alias("reject_reason"),
            pl.lit("chains/2024-01.csv").alias("source_file"),
            pl.int_range(pl.len()).alias("source_row"),
        )
        # a row rejected for its missing date and symbol still has a home: underlying=_/year=_
        lost = {"reject_reason": "column 'date' must not be null", "source_file": "chains/x.csv", "source_row": 7}
        return pl.concat([bad, pl.DataFrame([lost])], how="diagonal_relaxed")
    raise AssertionError(name)


def by_key(frame: pl.DataFrame, table: str) -> pl.DataFrame:
    return frame.sort(list(TABLES[table].key))


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under root with the bytes of files (None for directories)."""
    return {p.relative_to(root).as_posix(): p.read_bytes() if p.is_file() else None for p in sorted(root.rglob("*"))}


def part_files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("part-*.parquet")}


def listed_files(store: Store) -> set[str]:
    return {e["file"] for ds in store.manifest()["datasets"].values() for e in ds["partitions"].values()}


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "store", lock_timeout=0.2)


# -- round trips and schema ----------------------------------------------------------------------------------


@pytest.mark.parametrize("table", list(TABLES))
def test_every_table_round_trips_with_exact_dtypes_and_column_order(store: Store, table: str) -> None:
    frame = table_frame(table)
    store.write(table, frame)
    got = store.read(table)
    assert got.columns == list(TABLES[table].schema)
    assert got.schema == empty(table).schema
    assert_frame_equal(by_key(got, table), by_key(validate(frame, table), table))
    assert store.datasets() == [table]


def test_categorical_columns_from_many_partitions_scan_together(store: Store) -> None:
    # each partition file carries a different set of categories (roots, symbols, sources)
    store.write("option_quotes", quotes(underlyings=("SPY",)).with_columns(pl.lit("a").alias("source")))
    store.write("option_quotes", quotes(underlyings=("IWM", "QQQ")).with_columns(pl.lit("b").alias("source")))
    got = store.read("option_quotes")
    assert len(store.manifest()["datasets"]["option_quotes"]["partitions"]) == 6
    assert got.schema["root"] == pl.Categorical
    assert sorted(got["root"].unique().to_list()) == ["IWM", "IWMW", "QQQ", "QQQW", "SPY", "SPYW"]
    assert got.filter(pl.col("root") == "QQQW").height == len(DAYS) * 2
    assert got.group_by("source").len().sort("source")["len"].to_list() == [len(DAYS) * 6, len(DAYS) * 12]
    # categoricals of separate files compare and join as strings, not as codes
    assert got.join(got.select("underlying").unique(), on="underlying").height == got.height


def test_quote_time_keeps_nanoseconds_and_zone(store: Store) -> None:
    frame = quotes(days=DAYS[:1], underlyings=("SPY",), strikes=(100.0,)).with_columns(
        pl.col("quote_time").cast(pl.Datetime("ns", "America/New_York")) + pl.duration(nanoseconds=123)
    )
    store.write("option_quotes", frame)
    got = store.read("option_quotes", columns=["quote_time"])["quote_time"]
    assert got.dtype == pl.Datetime("ns", "America/New_York")
    assert got.dt.nanosecond().to_list() == [123, 123]
    assert got.dt.hour().to_list() == [16, 16]


@pytest.mark.parametrize("table", list(TABLES))
def test_empty_store_scans_have_the_canonical_schema(tmp_path: Path, table: str) -> None:
    store = Store(tmp_path / "never-written")
    got = store.read(table)
    assert got.is_empty()
    assert got.schema == empty(table).schema
    assert store.datasets() == []
    assert store.date_range(table) is None
    assert not (tmp_path / "never-written").exists()


def test_unknown_dataset_or_column_is_a_schema_error_unknown_symbol_is_empty(store: Store) -> None:
    store.write("bars", table_frame("bars"))
    with pytest.raises(SchemaError, match="unknown table 'chains'"):
        store.scan("chains")
    with pytest.raises(SchemaError, match=r"has no column.*bid"):
        store.scan("bars", columns=["close", "bid"])
    with pytest.raises(SchemaError, match="'rates' has no underlying"):
        store.scan("rates", underlyings=["SPY"])
    with pytest.raises(DataError, match="start must be a date"):
        store.scan("bars", start="28/12/2023")
    got = store.read("bars", underlyings=["NOPE"], columns=["date", "close"])
    assert got.is_empty()
    assert got.schema == pl.Schema({"date": pl.Date, "close": pl.Float64})


# -- pushdown and pruning -----------------------------------------------------------------------------------


def test_scan_prunes_partitions_and_pushes_filters_and_columns(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    full = validate(quotes(underlyings=("SPY", "QQQ", "IWM")), "option_quotes")
    store.write("option_quotes", full)
    scanned: list[list[str]] = []
    real_scan = pl.scan_parquet

    def spy(source: Any, *args: Any, **kwargs: Any) -> pl.LazyFrame:
        scanned.append(sorted(Path(s).relative_to(store.root).parent.as_posix() for s in source))
        return real_scan(source, *args, **kwargs)

    monkeypatch.setattr(pl, "scan_parquet", spy)
    lf = store.scan("option_quotes", underlyings=["SPY", "IWM"], start="2024-01-03", columns=["strike", "date", "bid"])
    assert scanned == [["option_quotes/underlying=IWM/year=2024", "option_quotes/underlying=SPY/year=2024"]]
    plan = lf.explain()
    assert "PROJECT 3/29 COLUMNS" in plan
    assert 'col("date") >= 2024-01-03' in plan.split("SCAN")[-1]  # the filter sits in the scan itself
    got = lf.collect()
    assert got.columns == ["strike", "date", "bid"]
    want = full.filter(pl.col("underlying").is_in(["SPY", "IWM"]), pl.col("date") >= date(2024, 1, 3))
    assert_frame_equal(got, want.select("strike", "date", "bid"), check_row_order=False)

    scanned.clear()
    got = store.read("option_quotes", end=date(2023, 12, 28))
    assert scanned == [[f"option_quotes/underlying={u}/year=2023" for u in ("IWM", "QQQ", "SPY")]]
    assert set(got["date"].to_list()) == {date(2023, 12, 28)}
    scanned.clear()
    assert store.read("option_quotes", start="2025-01-01").is_empty()
    assert scanned == []  # no partition can match: nothing is opened


def test_date_range_and_underlyings_come_from_the_manifest(store: Store) -> None:
    store.write("option_quotes", quotes(underlyings=("SPY",)))
    store.write("option_quotes", quotes(days=DAYS[2:], underlyings=("QQQ",)))
    store.write("vol_index", table_frame("vol_index"))
    store.write("rates", table_frame("rates"))
    assert store.underlyings("option_quotes") == ["QQQ", "SPY"]
    assert store.underlyings("vol_index") == ["VIX"]
    assert store.underlyings("rates") == []
    assert store.date_range("option_quotes") == (DAYS[0], DAYS[-1])
    assert store.date_range("option_quotes", "QQQ") == (DAYS[2], DAYS[-1])
    assert store.date_range("option_quotes", "NOPE") is None
    assert store.datasets() == ["option_quotes", "rates", "vol_index"]
    parts = store.manifest()["datasets"]["rates"]["partitions"]
    assert sorted(parts) == ["underlying=_/year=2023", "underlying=_/year=2024"]


# -- upserts ----------------------------------------------------------------------------------------------


def test_importing_the_same_data_twice_changes_nothing_but_history(
    store: Store, tmp_path: Path, rng: np.random.Generator
) -> None:
    source = tmp_path / "chain.csv"
    frame = quotes(rng=rng)
    frame.write_csv(source)
    first = store.write("option_quotes", frame, source_files=[source])
    files_before = snapshot(store.root)
    parts_before = store.manifest()["datasets"]
    second = store.write("option_quotes", frame.sample(fraction=1.0, shuffle=True, seed=1), source_files=[source])
    assert store.manifest()["datasets"] == parts_before
    after = snapshot(store.root)
    assert {k: v for k, v in after.items() if k != "manifest.json"} == {
        k: v for k, v in files_before.items() if k != "manifest.json"
    }
    assert first.rows_written == second.rows_written == frame.height
    assert store.read("option_quotes").height == frame.height
    assert len(store.manifest()["history"]) == 2
    for key, entry in parts_before["option_quotes"]["partitions"].items():
        on_disk = pl.read_parquet(store.root / entry["file"])
        assert on_disk.height == entry["rows"], key
        assert on_disk.equals(on_disk.sort(list(TABLES["option_quotes"].key))), "partition rows sorted by key"
        assert entry["sha256"] == hashlib.sha256((store.root / entry["file"]).read_bytes()).hexdigest()
        u, y = key.split("/")
        assert {str(v) for v in on_disk["underlying"].unique()} == {u.removeprefix("underlying=")}
        assert set(on_disk["date"].dt.year().unique()) == {int(y.removeprefix("year="))}


def test_same_rows_written_in_another_order_give_identical_partition_bytes(tmp_path: Path) -> None:
    frame = quotes()
    a, b = Store(tmp_path / "a"), Store(tmp_path / "b")
    a.write("option_quotes", frame)
    b.write("option_quotes", frame.reverse())
    sha = {
        s: {k: e["sha256"] for k, e in s.manifest()["datasets"]["option_quotes"]["partitions"].items()} for s in (a, b)
    }
    assert sha[a] == sha[b]


def test_upsert_replaces_rows_with_the_same_key(store: Store) -> None:
    store.write("option_quotes", quotes(bid=1.0))
    update = quotes(days=DAYS[1:3], underlyings=("SPY",), bid=2.0)
    extra = quotes(days=DAYS[1:3], underlyings=("SPY",), strikes=(110.0,), bid=3.0)
    report = store.write("option_quotes", pl.concat([update, extra]))
    got = store.read("option_quotes")
    assert got.height == quotes().height + extra.height
    assert report.rows_written == update.height + extra.height
    assert report.datasets["option_quotes"].rows == got.height
    assert report.datasets["option_quotes"].partitions == ("underlying=SPY/year=2023", "underlying=SPY/year=2024")
    spy_mid = pl.col("underlying").eq("SPY") & pl.col("date").is_in(DAYS[1:3])
    assert set(got.filter(spy_mid)["bid"]) == {2.0, 3.0}
    assert set(got.filter(~spy_mid)["bid"]) == {1.0}
    rows = {k: e["rows"] for k, e in store.manifest()["datasets"]["option_quotes"]["partitions"].items()}
    assert rows["underlying=SPY/year=2023"] == 12 + 2  # 2 days x 6 contracts, plus strike 110 on one day
    assert rows["underlying=QQQ/year=2024"] == 12


def test_later_batches_win_within_one_transaction(store: Store) -> None:
    bars = table_frame("bars")
    store.write("bars", bars)
    with store.transaction(note="three batches") as tx:
        tx.write("bars", bars.with_columns(pl.lit(20.0).alias("close"), pl.lit(21.0).alias("high")))
        tx.write("bars", bars.head(3).with_columns(pl.lit(10.75).alias("close")))
        tx.write("bars", bars.head(1).with_columns(pl.lit(10.25).alias("close")))
        assert store.read("bars")["close"].unique().to_list() == [10.5]  # nothing visible before commit
    got = (
        validate(bars, "bars")
        .select("date", "underlying")
        .join(store.read("bars"), on=["date", "underlying"], maintain_order="left")
    )
    assert got["close"].to_list() == [10.25, 10.75, 10.75] + [20.0] * (bars.height - 3)
    assert tx.report is not None
    assert tx.report.datasets["bars"].rows_written == bars.height


def test_delete_removes_matching_keys_and_empty_partitions(store: Store) -> None:
    store.write("option_quotes", quotes())
    doomed = quotes(days=DAYS[2:], underlyings=("QQQ",))  # the whole QQQ 2024 partition
    some = validate(quotes(days=DAYS[:1], underlyings=("SPY",), strikes=(100.0,)), "option_quotes").select(
        TABLES["option_quotes"].key
    )
    qqq_2024 = (
        store.root / store.manifest()["datasets"]["option_quotes"]["partitions"]["underlying=QQQ/year=2024"]["file"]
    )
    with store.transaction() as tx:
        tx.delete("option_quotes", doomed)  # extra columns ignored, String key columns cast
        tx.delete("option_quotes", some)
        tx.delete("option_quotes", some.with_columns(pl.lit("ZZZ").alias("underlying")))  # not stored: ignored
    assert tx.report is not None
    assert tx.report.rows_deleted == doomed.height + some.height
    got = store.read("option_quotes")
    assert got.height == quotes().height - doomed.height - some.height
    assert got.filter(pl.col("underlying") == "QQQ")["date"].max() == DAYS[1]
    assert got.join(some, on=list(some.columns), how="semi", nulls_equal=True).is_empty()
    parts = store.manifest()["datasets"]["option_quotes"]["partitions"]
    assert "underlying=QQQ/year=2024" not in parts
    assert not qqq_2024.exists()
    assert parts["underlying=SPY/year=2023"]["rows"] == 12 - 2
    with pytest.raises(SchemaError, match=r"need column.*snapshot"):
        store.transaction().delete("option_quotes", some.drop("snapshot"))


def test_write_and_delete_in_one_transaction_apply_in_order(store: Store) -> None:
    one = table_frame("bars").head(1)
    two = table_frame("bars").slice(1, 1)
    with store.transaction() as tx:
        tx.write("bars", one)
        tx.delete("bars", one)  # write then delete: gone
        tx.delete("bars", two)
        tx.write("bars", two)  # delete then write: present
    assert_frame_equal(store.read("bars"), validate(two, "bars"))


def test_rows_move_to_quarantine_atomically(store: Store) -> None:
    store.write("option_quotes", quotes())
    bad = validate(quotes(days=DAYS[:1], underlyings=("SPY",), strikes=(95.0,)), "option_quotes")
    rejected = bad.with_columns(
        pl.lit("stale quote").alias("reject_reason"),
        pl.lit("chain.csv").alias("source_file"),
        pl.int_range(2).alias("source_row"),
    )
    with store.transaction(note="quality: stale") as tx:
        tx.delete("option_quotes", bad)
        tx.write("quarantine", rejected)
    assert store.read("option_quotes").height == quotes().height - 2
    assert store.read("quarantine")["reject_reason"].to_list() == ["stale quote"] * 2
    changes = store.manifest()["history"][-1]["datasets"]
    assert changes == {
        "option_quotes": {"partitions": 1, "rows_deleted": 2, "rows_written": 0},
        "quarantine": {"partitions": 1, "rows_deleted": 0, "rows_written": 2},
    }


def test_quarantine_keys_are_unique_across_partitions(store: Store) -> None:
    # the quarantine key (source_file, source_row, right, snapshot) does not say which partition holds a row
    store.write("quarantine", table_frame("quarantine"))
    moved = (
        table_frame("quarantine")
        .head(1)
        .with_columns(pl.lit("QQQ").alias("underlying"), pl.lit("new").alias("reject_reason"))
    )
    store.write("quarantine", moved)
    got = store.read("quarantine")
    assert got.height == table_frame("quarantine").height
    row = got.filter(pl.col("source_row") == 0, pl.col("source_file") == "chains/2024-01.csv")
    assert row["underlying"].to_list() == ["QQQ"]
    assert row["reject_reason"].to_list() == ["new"]
    with store.transaction() as tx:
        keys = pl.DataFrame({"source_file": ["chains/x.csv"], "source_row": [7], "right": [None], "snapshot": [None]})
        tx.delete("quarantine", keys)
    assert store.read("quarantine").height == table_frame("quarantine").height - 1
    assert "underlying=_/year=_" not in store.manifest()["datasets"]["quarantine"]["partitions"]


# -- transactions, validation, crash safety ----------------------------------------------------------------


def test_exception_mid_transaction_leaves_the_store_byte_identical(store: Store) -> None:
    store.write("option_quotes", quotes())
    before = snapshot(store.root)
    opened = []

    def doomed_import() -> None:
        with store.transaction() as tx:
            opened.append(tx)
            tx.write("option_quotes", quotes(bid=5.0))
            tx.write("option_quotes", quotes(underlyings=("IWM",)))
            assert (store.root / ".staging").is_dir()  # staged on disk, not in memory
            raise RuntimeError("importer died")

    with pytest.raises(RuntimeError, match="importer died"):
        doomed_import()
    assert snapshot(store.root) == before
    with pytest.raises(StoreError, match="transaction is closed"):
        opened[0].write("option_quotes", quotes())


def test_bad_batch_names_column_and_row_and_leaves_store_untouched(store: Store) -> None:
    store.write("option_quotes", quotes())
    before = snapshot(store.root)
    crossed = quotes(bid=2.0).with_columns(
        pl.when(pl.int_range(pl.len()) == 3).then(1.5).otherwise(pl.col("ask")).alias("ask")
    )

    def doomed_import() -> None:
        with store.transaction() as tx:
            tx.write("option_quotes", quotes(bid=3.0), source="good.csv")
            tx.write("option_quotes", crossed, source="bad.csv")

    with pytest.raises(DataError, match=r"crossed quote.*row 3") as err:
        doomed_import()
    assert (err.value.column, err.value.row, err.value.path) == ("ask", 3, "bad.csv")
    assert str(err.value).startswith("bad.csv: column 'ask'")
    assert snapshot(store.root) == before


def test_validated_batches_skip_validation_but_not_the_schema_check(store: Store) -> None:
    with pytest.raises(SchemaError, match=r"validated=True.*column 'quote_time'"):
        store.write("option_quotes", quotes(), validated=True)
    frame = validate(quotes(), "option_quotes")
    report = store.write("option_quotes", frame.select(reversed(frame.columns)), validated=True)
    assert report.rows_written == frame.height
    assert store.read("option_quotes").columns == frame.columns


def _fail_manifest_replace(monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.replace

    def replace(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
        if Path(dst).name == "manifest.json":
            raise OSError(28, "No space left on device")
        real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)


def test_failed_manifest_replace_keeps_the_old_state(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    store.write("option_quotes", quotes())
    before, old = snapshot(store.root), store.read("option_quotes")
    _fail_manifest_replace(monkeypatch)
    with pytest.raises(StoreError, match=r"nothing was changed.*No space left"):
        store.write("option_quotes", quotes(bid=9.0, underlyings=("SPY", "IWM")))
    assert_frame_equal(store.read("option_quotes"), old)
    assert snapshot(store.root) == before  # new partition files were removed again
    monkeypatch.undo()
    store.write("option_quotes", quotes(bid=9.0))
    assert set(store.read("option_quotes")["bid"]) == {9.0}


def test_interrupt_right_after_the_manifest_replace_keeps_the_commit(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.write("option_quotes", quotes())
    real = os.replace

    def replace_then_interrupt(src: Any, dst: Any) -> None:
        real(src, dst)
        if Path(dst).name == "manifest.json":
            raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", replace_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        store.write("option_quotes", quotes(bid=4.0))
    monkeypatch.undo()
    assert store.verify() == []  # the cleanup of the failed commit spared the files the manifest lists
    assert set(store.read("option_quotes")["bid"]) == {4.0}


def test_directory_fsync_failure_after_the_commit_point_is_reported_not_undone(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = _store_io.fsync_dir

    def fsync_dir(path: Path) -> None:
        if path == store.root:
            raise OSError(5, "Input/output error")
        real(path)

    monkeypatch.setattr(_store_io, "fsync_dir", fsync_dir)
    with pytest.raises(StoreError, match="is visible but fsync of the directory failed"):
        store.write("bars", table_frame("bars"))
    monkeypatch.undo()
    assert store.verify() == []
    assert store.read("bars").height == table_frame("bars").height


_CRASH = textwrap.dedent(
    """
    import os, sys
    import polars as pl
    from volengine.data.store import Store

    real = os.replace
    def replace(src, dst, *args, **kwargs):
        if os.path.basename(dst) == "manifest.json":
            os._exit(3)  # killed between writing the new partitions and publishing them
        return real(src, dst, *args, **kwargs)
    os.replace = replace
    Store(sys.argv[1]).write("option_quotes", pl.read_parquet(sys.argv[2]))
    """
)


@pytest.mark.parametrize("cleaner", ["next_commit", "vacuum"])
def test_crash_before_the_manifest_replace_leaves_old_state_and_orphans_get_swept(
    store: Store, tmp_path: Path, cleaner: str
) -> None:
    store.write("option_quotes", quotes())
    old, before = store.read("option_quotes"), snapshot(store.root)
    batch = tmp_path / "batch.parquet"
    quotes(bid=7.0, underlyings=("SPY", "IWM")).write_parquet(batch)
    proc = subprocess.run([sys.executable, "-c", _CRASH, str(store.root), str(batch)], capture_output=True, check=False)
    assert proc.returncode == 3, proc.stderr.decode()
    assert_frame_equal(Store(store.root).read("option_quotes"), old)
    assert (store.root / "manifest.json").read_bytes() == before["manifest.json"]
    orphans = part_files(store.root) - listed_files(store)
    assert len(orphans) == 4  # SPY x 2 years rewritten, IWM x 2 years new
    assert (store.root / "manifest.json.tmp").exists()
    assert any((store.root / ".staging").iterdir())  # the dead transaction's staging area
    if cleaner == "vacuum":
        removed = store.vacuum()
        assert orphans <= set(removed)
    else:
        store.write("bars", table_frame("bars"))
    assert part_files(store.root) == listed_files(store)
    assert not (store.root / "manifest.json.tmp").exists()
    assert not (store.root / ".staging").exists()
    assert_frame_equal(store.read("option_quotes"), old)


def test_vacuum_and_commits_spare_a_live_transactions_staging(store: Store) -> None:
    slow = store.transaction(note="slow import")
    slow.write("option_quotes", quotes(underlyings=("SPY",)))
    store.write("option_quotes", quotes(underlyings=("QQQ",), bid=2.0))  # a quick import commits meanwhile
    assert store.vacuum() == []
    slow.commit()
    got = store.read("option_quotes")
    assert sorted(got["underlying"].unique().to_list()) == ["QQQ", "SPY"]
    assert not (store.root / ".staging").exists()


def test_lock_contention_is_a_clear_error(store: Store) -> None:
    store.write("bars", table_frame("bars"))
    before = snapshot(store.root)
    fd = os.open(store.root / ".lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # another writer
        with pytest.raises(StoreLockError, match=r"locked by another writer.*after 0.2 s") as err:
            store.write("bars", table_frame("bars").with_columns(pl.lit(10.0).alias("close")))
        assert isinstance(err.value, TimeoutError)
        assert snapshot(store.root) == before
    finally:
        os.close(fd)
    store.write("bars", table_frame("bars").with_columns(pl.lit(10.0).alias("close")))
    assert store.read("bars")["close"].unique().to_list() == [10.0]


# -- manifest -------------------------------------------------------------------------------------------------


def test_history_records_source_file_hashes(store: Store, tmp_path: Path) -> None:
    sources = [tmp_path / "a.csv", tmp_path / "b.zip"]
    sources[0].write_bytes(b"date,bid\n" * 1000)
    sources[1].write_bytes(os.urandom(3 * 2**20 + 5))  # more than one hashing chunk
    store.write("bars", table_frame("bars"), source_files=sources, note="vendor import")
    entry = store.manifest()["history"][-1]
    assert entry["note"] == "vendor import"
    assert entry["source_files"] == [
        {"path": str(p), "sha256": hashlib.sha256(p.read_bytes()).hexdigest(), "bytes": p.stat().st_size}
        for p in sources
    ]
    assert entry["datasets"] == {"bars": {"rows_written": 8, "rows_deleted": 0, "partitions": 4}}
    when = datetime.fromisoformat(entry["committed_at"])
    assert when.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - when) < timedelta(minutes=5)
    with pytest.raises(DataError, match="does not exist"):
        store.transaction(source_files=[tmp_path / "missing.csv"])


def test_manifest_is_stable_sorted_json_and_history_is_capped(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_store_io, "HISTORY_LIMIT", 3)
    for i in range(5):
        store.write("vol_index", table_frame("vol_index").with_columns(pl.lit(20.0 + i).alias("close")), note=f"n{i}")
    raw = (store.root / "manifest.json").read_bytes()
    manifest = json.loads(raw)
    assert raw == (json.dumps(manifest, sort_keys=True, indent=1) + "\n").encode()
    assert manifest["version"] == 1
    assert [h["note"] for h in manifest["history"]] == ["n2", "n3", "n4"]
    parts = manifest["datasets"]["vol_index"]["partitions"]
    assert parts["underlying=VIX/year=2023"] == {
        "file": parts["underlying=VIX/year=2023"]["file"],
        "rows": 2,
        "min_date": "2023-12-28",
        "max_date": "2023-12-29",
        "sha256": hashlib.sha256((store.root / parts["underlying=VIX/year=2023"]["file"]).read_bytes()).hexdigest(),
    }
    assert store.verify() == []
    broken = parts["underlying=VIX/year=2023"]["file"]
    (store.root / broken).write_bytes(b"garbage")
    assert store.verify() == [f"vol_index/underlying=VIX/year=2023 ({broken}): sha256 differs from the manifest"]
    (store.root / broken).unlink()
    assert store.verify() == [f"vol_index/underlying=VIX/year=2023 ({broken}): file is missing"]


def test_empty_commit_writes_nothing(store: Store) -> None:
    with store.transaction(note="nothing") as tx:
        tx.write("bars", table_frame("bars").head(0))
    assert tx.report is not None
    assert tx.report.committed_at is None
    assert not store.root.exists()


def test_symbols_with_path_characters_are_encoded(store: Store) -> None:
    frame = table_frame("bars").with_columns(pl.lit("BRK/B").alias("underlying")).head(1)
    odd = frame.with_columns(pl.lit("_").alias("underlying"))
    store.write("bars", pl.concat([frame, odd]))
    assert store.underlyings("bars") == ["BRK/B", "_"]
    assert sorted(store.manifest()["datasets"]["bars"]["partitions"]) == [
        "underlying=%5F/year=2023",
        "underlying=BRK%2FB/year=2023",
    ]
    assert store.read("bars", underlyings="BRK/B")["underlying"].to_list() == ["BRK/B"]


# -- runs: ascending batches into a new partition are written straight to its file -----------------------------


def _no_merge(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("merge was called")

    monkeypatch.setattr(_store_merge, "merge", fail)


def test_ascending_batches_into_new_partitions_skip_the_merge_and_match_its_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = by_key(validate(quotes(strikes=tuple(float(k) for k in range(80, 121))), "option_quotes"), "option_quotes")
    merged = Store(tmp_path / "merged")
    merged.write("option_quotes", frame.sample(fraction=1.0, shuffle=True, seed=3))  # unsorted: merge path
    streamed = Store(tmp_path / "streamed")
    monkeypatch.setattr(_store_io, "PART_ROW_GROUP_ROWS", 50)  # several row groups, cut across batches
    monkeypatch.setattr(_store_io, "PART_COMPRESSION_LEVEL", 1)
    merged_small = Store(tmp_path / "merged_small")
    merged_small.write("option_quotes", frame.reverse())
    _no_merge(monkeypatch)
    with streamed.transaction() as tx:
        for i in range(0, frame.height, 37):  # 37-row batches, each ascending and after the previous
            tx.write("option_quotes", frame.slice(i, 37), validated=True)
    assert_frame_equal(streamed.read("option_quotes"), merged.read("option_quotes"))
    parts = {s: s.manifest()["datasets"]["option_quotes"]["partitions"] for s in (streamed, merged_small)}
    assert {k: {f: e[f] for f in ("rows", "min_date", "max_date", "sha256")} for k, e in parts[streamed].items()} == {
        k: {f: e[f] for f in ("rows", "min_date", "max_date", "sha256")} for k, e in parts[merged_small].items()
    }
    assert streamed.verify() == []
    assert tx.report is not None
    assert tx.report.datasets["option_quotes"].rows_written == frame.height
    assert not (streamed.root / ".staging").exists()


def test_a_batch_that_breaks_the_order_is_merged_and_later_batches_still_win(store: Store) -> None:
    spy = {"underlyings": ("SPY",)}
    first = quotes(days=DAYS[2:3], bid=1.0, **spy)  # a new partition, ascending: starts a run
    staged = quotes(days=DAYS[3:], strikes=(95.0, 100.0), bid=2.0, **spy).reverse()  # out of order: staged
    later = quotes(days=DAYS[3:], bid=3.0, **spy)  # ascending after the run's last key: joins the run
    override = quotes(days=DAYS[2:3], strikes=(100.0,), bid=4.0, **spy)  # keys inside the run: staged
    doomed = validate(quotes(days=DAYS[2:3], strikes=(95.0,), **spy), "option_quotes").select(
        TABLES["option_quotes"].key
    )
    with store.transaction() as tx:
        for frame in (first, staged, later, override):
            tx.write("option_quotes", frame)
        tx.delete("option_quotes", doomed)
    got = store.read("option_quotes")
    bids = {(r["date"], r["strike"], r["right"]): r["bid"] for r in got.iter_rows(named=True)}
    assert got.height == first.height + later.height - 2
    assert {b for (d, _, _), b in bids.items() if d == DAYS[3]} == {3.0}  # the run's later batch beats the staged
    assert bids[(DAYS[2], 100.0, "C")] == bids[(DAYS[2], 100.0, "P")] == 4.0
    assert bids[(DAYS[2], 105.0, "C")] == 1.0
    assert (DAYS[2], 95.0, "C") not in bids
    (entry,) = store.manifest()["datasets"]["option_quotes"]["partitions"].values()
    on_disk = pl.read_parquet(store.root / entry["file"])
    assert on_disk.equals(on_disk.sort(list(TABLES["option_quotes"].key)))


def test_a_partition_created_by_another_commit_meanwhile_is_merged(store: Store) -> None:
    tx = store.transaction()
    tx.write("option_quotes", quotes(underlyings=("SPY",), bid=1.0))  # new partitions: runs
    store.write("option_quotes", quotes(underlyings=("SPY",), strikes=(100.0, 200.0), bid=9.0))  # commits first
    tx.commit()
    got = store.read("option_quotes")
    assert got.height == quotes(underlyings=("SPY",), strikes=(95.0, 100.0, 105.0, 200.0)).height
    assert set(got.filter(pl.col("strike") == 200.0)["bid"]) == {9.0}  # kept from the other commit
    assert set(got.filter(pl.col("strike") != 200.0)["bid"]) == {1.0}  # this later commit wins on equal keys
    assert store.verify() == []


def test_a_failed_background_write_fails_the_transaction_and_leaves_the_store(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.write("option_quotes", quotes(underlyings=("SPY",)))
    before = snapshot(store.root)

    def broken(self: Any, frame: pl.DataFrame) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_store_io.PartWriter, "write", broken)
    with pytest.raises(StoreError, match="No space left on device"), store.transaction() as tx:
        tx.write("option_quotes", quotes(underlyings=("IWM",)))  # new partitions: the background writer fails
    assert snapshot(store.root) == before


@pytest.mark.parametrize("seed", range(5))
def test_strictly_ascending_agrees_with_the_merge_sort(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 40
    keys = pl.DataFrame(
        {
            "date": [DAYS[i] for i in rng.integers(0, 2, n)],
            "root": pl.Series(rng.choice(["SPXW", "SPX", "SPXQ"], n), dtype=pl.Categorical),
            "strike": rng.choice([90.0, 100.0, 100.5], n),
            "right": pl.Series(rng.choice(["P", "C"], n), dtype=TABLES["option_quotes"].schema["right"]),
        }
    )
    by = list(keys.columns)
    for frame in (keys, keys.sort(by), keys.unique(by).sort(by), keys.unique(by).sort(by).reverse()):
        expected = frame.equals(frame.sort(by, maintain_order=True)) and not frame.is_duplicated().any()
        assert _store_merge.is_strictly_ascending(frame) == expected
    assert _store_merge.is_strictly_ascending(keys.unique(by).sort(by))
    with_null = keys.unique(by).sort(by).with_columns(pl.when(pl.int_range(pl.len()) == 3).then(pl.col("strike")))
    assert not _store_merge.is_strictly_ascending(with_null)
