"""Contract tests driven by the DETECTORS registry: schema, determinism, empty and all-NaN frames, no
look-ahead, missing columns, null/fired consistency, strength bounds, and to_long."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from edge_frames import features, random_features, short_windows
from polars.testing import assert_frame_equal

from volengine.config import Settings, SignalKind
from volengine.edges import DETECTORS, KEY_COLUMNS, LONG_SCHEMA, REQUIRED_COLUMNS, Detector, detect, detect_one, to_long
from volengine.errors import ConfigError, DataError, SchemaError

DETS = list(DETECTORS.values())
IDS = [d.prefix for d in DETS]


@pytest.fixture(scope="module")
def frame() -> pl.DataFrame:
    return random_features(np.random.default_rng(3))


def test_registry_names_prefixes_and_signals() -> None:
    assert [d.prefix for d in DETS] == ["vrp", "term", "skew", "event", "gamma"]
    assert all(name is d.name for name, d in DETECTORS.items())
    emitted = [s for d in DETS for s in d.signals]
    assert sorted(emitted) == sorted(SignalKind)  # every signal kind has exactly one detector
    assert all(s.edge_type is d.name for d in DETS for s in d.signals)


@pytest.mark.parametrize("det", DETS, ids=IDS)
def test_schema_and_determinism(det: Detector, frame: pl.DataFrame) -> None:
    a = detect_one(det.name, frame, short_windows())
    b = detect_one(det.prefix, frame.clone(), short_windows())
    assert a.schema == {**frame.select(KEY_COLUMNS).schema, **det.schema}
    assert_frame_equal(a, b)


@pytest.mark.parametrize("det", DETS, ids=IDS)
def test_empty_frame_gives_empty_output_with_the_schema(det: Detector, frame: pl.DataFrame) -> None:
    out = detect_one(det.name, frame.clear())
    assert out.height == 0
    assert out.schema == {**frame.select(KEY_COLUMNS).schema, **det.schema}


def test_detect_is_the_union_of_detect_one(frame: pl.DataFrame) -> None:
    full = detect(frame, short_windows())
    for det in DETS:
        assert_frame_equal(full.select(*KEY_COLUMNS, *det.schema), detect_one(det.name, frame, short_windows()))
    assert_frame_equal(detect(frame, Settings()), detect(frame))  # root Settings accepted


def test_all_nan_rows_fire_nothing() -> None:
    n = 30
    cols = {c: [math.nan] * n for c in REQUIRED_COLUMNS if c not in ("underlying", "date", "regime")}
    cols |= {"event_kind": ["FOMC"] * n, "event_days": [1] * n, "event_date": [None] * n}
    cols |= {"event_baseline_flag": [True] * n, "gex_in_pin_zone": [True] * n, "regime": ["HIGH_VOL_PANIC"] * n}
    out = detect(features(cols), short_windows())
    fired = out.select(pl.col("^.*_fired$"))
    assert fired.null_count().sum_horizontal()[0] == 0
    assert not fired.to_numpy().any()
    assert to_long(out).height == 0


@pytest.mark.parametrize("det", DETS, ids=IDS)
def test_signal_columns_are_null_exactly_when_not_fired(det: Detector, frame: pl.DataFrame) -> None:
    out = detect_one(det.name, frame, short_windows())
    p = det.prefix
    fired = out[f"{p}_fired"]
    assert fired.null_count() == 0
    assert fired.any(), f"{p} never fires on the random frame: the test would prove nothing"
    for col in ("signal", "direction", "strength", "rationale"):
        assert (out[f"{p}_{col}"].is_not_null() == fired).all(), col
    fired_rows = out.filter(fired)
    assert fired_rows[f"{p}_signal"].is_in([s.value for s in det.signals]).all()
    expected = [("short" if SignalKind(s).is_short_vol else "long") for s in fired_rows[f"{p}_signal"]]
    assert fired_rows[f"{p}_direction"].to_list() == expected
    strength = fired_rows[f"{p}_strength"]
    assert strength.min() >= 0.0
    assert strength.max() <= 1.0
    assert out[f"{p}_history_mode"].is_in([0, 1]).all()


def test_strength_stays_in_unit_interval_on_extreme_inputs(frame: pl.DataFrame) -> None:
    wild = frame.with_columns(
        (pl.col("atm_iv") * 50).alias("atm_iv"),
        (pl.col("ts_back_iv") * 20).alias("ts_back_iv"),
        (pl.col("skew_put_iv_25d") * 10).alias("skew_put_iv_25d"),
        (pl.col("event_premium_pct") * 100).alias("event_premium_pct"),
        (pl.col("gex_net") * 1e3).alias("gex_net"),
    )
    out = detect(wild, short_windows())
    strengths = out.select(pl.col("^.*_strength$")).to_numpy()
    finite = strengths[~np.isnan(strengths)]
    assert finite.size > 0
    assert finite.min() >= 0.0
    assert finite.max() <= 1.0


def test_no_look_ahead_truncated_runs_match_the_full_run(frame: pl.DataFrame) -> None:
    cfg = short_windows()
    full = detect(frame, cfg)
    dates = frame["date"].unique().sort()
    for d in (dates[5], dates[17], dates[28], dates[-1]):
        cut = detect(frame.filter(pl.col("date") <= d), cfg)
        assert_frame_equal(cut.filter(pl.col("date") == d), full.filter(pl.col("date") == d))
    # the percentile windows were full on the sampled days, so the check covers them
    assert full.filter(pl.col("date") == dates[28])["skew_history_mode"].sum() > 0


def test_rows_are_sorted_and_keys_checked(frame: pl.DataFrame) -> None:
    shuffled = frame.sample(fraction=1.0, shuffle=True, seed=1)
    assert_frame_equal(detect(shuffled, short_windows()), detect(frame, short_windows()))
    with pytest.raises(DataError, match="one row per"):
        detect(pl.concat([frame, frame.head(1)]))
    with pytest.raises(DataError, match="must not be null"):
        detect(
            frame.with_columns(pl.when(pl.int_range(pl.len()) == 3).then(None).otherwise(pl.col("date")).alias("date"))
        )


@pytest.mark.parametrize(
    ("det", "column"), [(d, c) for d in DETS for c in d.required], ids=lambda x: getattr(x, "prefix", x)
)
def test_missing_column_raises_schema_error_naming_it(det: Detector, column: str, frame: pl.DataFrame) -> None:
    with pytest.raises(SchemaError, match=f"'{column}'") as info:
        detect_one(det.name, frame.drop(column))
    assert info.value.column == column


def test_wrong_dtype_raises_schema_error(frame: pl.DataFrame) -> None:
    with pytest.raises(SchemaError, match="'atm_iv' must be numeric"):
        detect_one("vrp", frame.with_columns(pl.col("atm_iv").cast(pl.String)))
    with pytest.raises(ConfigError, match="unknown edge detector"):
        detect_one("nope", frame)
    with pytest.raises(ConfigError, match="settings must be"):
        detect(frame, settings={"vrp": {}})  # type: ignore[arg-type]


def test_to_long(frame: pl.DataFrame) -> None:
    out = detect(frame, short_windows())
    long = to_long(out)
    assert long.schema == {**out.select(KEY_COLUMNS).schema, **LONG_SCHEMA}
    n_fired = sum(int(out[f"{d.prefix}_fired"].sum()) for d in DETS)
    assert long.height == n_fired
    assert long.select(pl.struct(*KEY_COLUMNS, "edge").is_unique().all()).item()
    row = long.filter(pl.col("edge") == "vrp").row(0, named=True)
    wide = out.filter((pl.col("underlying") == row["underlying"]) & (pl.col("date") == row["date"])).row(0, named=True)
    assert (row["signal"], row["strength"], row["rationale"]) == (
        wide["vrp_signal"],
        wide["vrp_strength"],
        wide["vrp_rationale"],
    )
    # one detector's columns only: the others are skipped
    assert to_long(detect_one("gamma", frame))["edge"].unique().to_list() == ["gamma_pressure"]
    assert to_long(out.select(KEY_COLUMNS)).height == 0
