"""Term-structure detector: spread, state, extreme contango/backwardation, PANIC strength, history count."""

from __future__ import annotations

import polars as pl
import pytest
from edge_frames import features, settings

from volengine.config import SignalKind
from volengine.edges import detect_one


def _term(front: list[float | None], back: list[float | None], **extra: list[object]) -> pl.DataFrame:
    n = len(front)
    return features(
        {"ts_front_iv": front, "ts_back_iv": back, "ts_front_dte": [14] * n, "ts_back_dte": [45] * n, **extra}
    )


# dyadic IVs keep spread_pct exact: (0.5625 - 0.5) / 0.5 = 0.125
EXACT = {"extreme_contango_frac": 0.125, "extreme_backwardation_frac": -0.125}


def test_spread_metrics_and_state() -> None:
    out = detect_one("term", _term([0.5, 0.5, 0.5, 0.5, None, 0.0], [0.5625, 0.5, 0.4375, 0.505, 0.3, 0.3]))
    assert out["term_spread"].to_list()[:3] == [0.0625, 0.0, -0.0625]
    assert out["term_spread_pct"].to_list()[:4] == [0.125, 0.0, -0.125, pytest.approx(0.01)]
    assert out["term_spread_pct"][4] is None
    assert out["term_spread_pct"][5] is None  # front IV 0: no relative spread
    assert out["term_state"].to_list() == ["contango", "flat", "backwardation", "flat", None, None]


def test_state_thresholds_are_strict() -> None:
    cfg = settings(term_structure={"contango_frac": 0.0625, "backwardation_frac": -0.0625})
    out = detect_one("term", _term([0.5] * 4, [0.53125, 0.53125 + 1e-9, 0.46875, 0.46875 - 1e-9]), cfg)
    assert out["term_state"].to_list() == ["flat", "contango", "flat", "backwardation"]


def test_extreme_contango_fires_at_the_boundary_with_base_strength() -> None:
    out = detect_one("term", _term([0.5, 0.5], [0.5625, 0.5625 - 1e-9]), settings(term_structure=EXACT))
    assert out["term_fired"].to_list() == [True, False]
    row = out.row(0, named=True)
    assert row["term_signal"] == SignalKind.TERM_CONTANGO
    assert row["term_strength"] == 0.5
    assert row["term_direction"] == "long"  # SignalKind.TERM_CONTANGO.is_short_vol is False
    assert row["term_history_mode"] == 1
    assert row["term_rationale"] == "back 56.3% (45d) - front 50.0% (14d) = 6.3 pts, 12.5% of front: contango"


def test_contango_strength_formula_and_cap() -> None:
    # x = 0.10 -> (0.10 - 0.08)/0.05 + 0.5 = 0.9; x = 0.20 -> 2.9 capped at 1
    out = detect_one("term", _term([0.2, 0.2], [0.22, 0.24]))
    assert out["term_strength"].to_list() == [pytest.approx(0.9), 1.0]


@pytest.mark.parametrize(
    ("back", "regime", "strength"),
    [
        (0.4375, "CHOP", 0.5),  # x = -0.125 exactly at the custom boundary
        (0.4375, "HIGH_VOL_PANIC", 0.4),  # PANIC: fixed strength
        (0.375, "CHOP", 1.0),  # x = -0.25: (-0.125 + 0.25)/0.05 + 0.5 = 3.0, capped
        (0.375, "HIGH_VOL_PANIC", 0.4),
    ],
)
def test_extreme_backwardation(back: float, regime: str, strength: float) -> None:
    out = detect_one("term", _term([0.5], [back], regime=[regime]), settings(term_structure=EXACT))
    row = out.row(0, named=True)
    assert row["term_signal"] == SignalKind.TERM_BACKWARDATION
    assert row["term_direction"] == "long"
    assert row["term_strength"] == pytest.approx(strength)


def test_backwardation_formula_with_defaults() -> None:
    # x = -0.10 -> (-0.08 + 0.10)/0.05 + 0.5 = 0.9; x = -0.0799 does not fire
    out = detect_one("term", _term([0.25, 0.25], [0.225, 0.25 * (1 - 0.0799)]))
    assert out["term_fired"].to_list() == [True, False]
    assert out["term_strength"][0] == pytest.approx(0.9)


def test_history_counts_earlier_spreads_only() -> None:
    out = detect_one(
        "term",
        _term([0.5, None, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5, 0.5]),
        settings(term_structure={"history_days": 2}),
    )
    assert out["term_history"].to_list() == [0, 1, 1, 2, 2]  # the missing day adds nothing; capped at 2
