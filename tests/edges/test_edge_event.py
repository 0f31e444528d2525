"""Event-vol detector: premium threshold and ladder, PANIC multiplier, window, event types, fallback baseline."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest
from edge_frames import START, features, settings

from volengine.edges import detect_one


def _event(premium: list[float | None], **extra: Any) -> pl.DataFrame:
    n = len(premium)
    cols: dict[str, Any] = {
        "event_kind": ["FOMC"] * n,
        "event_days": [3] * n,
        "event_date": [START + dt.timedelta(days=3 + i) for i in range(n)],
        "event_iv": [0.30] * n,
        "event_baseline_iv": [0.22] * n,
        "event_baseline_flag": [False] * n,
        "event_premium_pct": premium,
    }
    return features({**cols, **extra})


@pytest.mark.parametrize(
    ("premium", "strength"),
    [
        (19.99, None),
        (20.0, 0.4),  # exactly at min_iv_premium_pct
        (29.9, 0.4 + 9.9 / 30 * 0.3),
        (30.0, 0.7),
        (49.99, 0.7),
        (50.0, 1.0),
        (250.0, 1.0),
    ],
)
def test_premium_threshold_and_ladder(premium: float, strength: float | None) -> None:
    row = detect_one("event", _event([premium])).row(0, named=True)
    assert row["event_fired"] is (strength is not None)
    assert row["event_strength"] == (None if strength is None else pytest.approx(strength))
    assert row["event_premium"] == premium
    if strength is not None:
        assert row["event_signal"] == "event_vol"
        assert row["event_direction"] == "short"


def test_panic_multiplier() -> None:
    out = detect_one("event", _event([50.0, 20.0], regime=["HIGH_VOL_PANIC"] * 2))
    assert out["event_strength"].to_list() == [pytest.approx(0.7), pytest.approx(0.28)]


def test_window_in_days_from_d() -> None:
    out = detect_one("event", _event([40.0] * 5, event_days=[-1, 0, 5, 6, None]))
    assert out["event_fired"].to_list() == [False, True, True, False, False]
    cfg = settings(event_vol={"days_before_event": 6})
    assert detect_one("event", _event([40.0], event_days=[6]), cfg)["event_fired"][0]


def test_event_types_filter_is_case_insensitive() -> None:
    frame = _event([40.0] * 3, event_kind=["FOMC", "earnings", "other"])
    assert detect_one("event", frame)["event_fired"].to_list() == [True, True, False]
    cfg = settings(event_vol={"event_types": ["earnings"]})
    assert detect_one("event", frame, cfg)["event_fired"].to_list() == [False, True, False]


def test_fallback_baseline_sets_history_mode_0() -> None:
    out = detect_one("event", _event([36.36, 36.36], event_baseline_flag=[False, True]))
    assert out["event_history_mode"].to_list() == [1, 0]
    assert out["event_rationale"][0] == "FOMC in 3d (2024-01-05): event IV 30.0% vs baseline 22.0% = +36.4% premium"
    assert out["event_rationale"][1].endswith("premium (fallback baseline)")
