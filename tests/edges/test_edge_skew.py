"""Skew detector: percentile rules, PANIC, fallbacks, the signed reversion gate, IV and strength gates."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
from edge_frames import features, settings

from volengine.config import SignalKind
from volengine.edges import detect_one

SMALL: dict[str, Any] = {"lookback_days": 10, "min_history_days": 10}
BASE = [0.010 + 0.001 * i for i in range(10)]  # ten rising skews 0.010 ... 0.019


def _skew(values: list[float | None], **extra: Any) -> pl.DataFrame:
    """Call IV 0.20 and put IV 0.20 + skew, ATM IV 0.25."""
    n = len(values)
    put = [None if v is None else 0.20 + v for v in values]
    return features({"skew_put_iv_25d": put, "skew_call_iv_25d": [0.20] * n, "atm_iv": [0.25] * n, **extra})


def _last(values: list[float | None], cfg: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    out = detect_one("skew", _skew(values, **extra), settings(skew={**SMALL, **(cfg or {})}))
    return out.row(-1, named=True)


def test_metrics() -> None:
    row = detect_one("skew", features({"skew_put_iv_25d": [0.30], "skew_call_iv_25d": [0.20], "atm_iv": [0.25]})).row(
        0, named=True
    )
    assert row["skew_value"] == pytest.approx(0.10)
    assert row["skew_put_atm_ratio"] == pytest.approx(1.2)
    assert row["skew_call_atm_ratio"] == pytest.approx(0.8)
    assert row["skew_history"] == 0


@pytest.mark.parametrize(
    ("last", "pctl", "regime", "signal", "strength"),
    [
        (0.05, 100.0, "CHOP", SignalKind.SKEW_STEEP, 0.8),  # 0.6 + (100 - 90)/20 * 0.4
        (0.05, 100.0, "HIGH_VOL_PANIC", SignalKind.SKEW_STEEP, 0.4),
        (0.0185, 90.0, "CHOP", SignalKind.SKEW_STEEP, 0.6),  # exactly at the steep percentile
        (0.0175, 80.0, "CHOP", None, None),
        (0.0105, 10.0, "CHOP", SignalKind.SKEW_FLAT, 0.5),  # exactly at the flat percentile
        (0.001, 0.0, "CHOP", SignalKind.SKEW_FLAT, 0.65),  # 0.5 + (10 - 0)/20 * 0.3
        (0.001, 0.0, "HIGH_VOL_PANIC", SignalKind.SKEW_FLAT, 0.65),  # PANIC only changes steep
        (0.0115, 20.0, "CHOP", None, None),
    ],
)
def test_percentile_rules(
    last: float, pctl: float, regime: str, signal: SignalKind | None, strength: float | None
) -> None:
    row = _last([*BASE, last], regime=["CHOP"] * 10 + [regime])
    assert row["skew_percentile"] == pytest.approx(pctl)
    assert row["skew_history_mode"] == 1
    assert row["skew_signal"] == signal
    assert row["skew_strength"] == (None if strength is None else pytest.approx(strength))
    if signal is not None:
        assert row["skew_direction"] == ("short" if signal is SignalKind.SKEW_STEEP else "long")
        assert f"(pctl {pctl:.0f})" in row["skew_rationale"]


@pytest.mark.parametrize(
    ("skew", "regime", "signal", "strength"),
    [
        (0.125, "CHOP", SignalKind.SKEW_STEEP, 0.5),  # exactly at fallback_steep_skew (exact in binary)
        (0.125, "HIGH_VOL_PANIC", SignalKind.SKEW_STEEP, 0.3),
        (0.0625, "CHOP", None, None),
        (0.03125, "CHOP", SignalKind.SKEW_FLAT, 0.4),  # exactly at fallback_flat_skew
        (0.03125 + 1e-9, "CHOP", None, None),
    ],
)
def test_fallback_rules_below_min_history(
    skew: float, regime: str, signal: SignalKind | None, strength: float | None
) -> None:
    cfg = {"fallback_steep_skew": 0.125, "fallback_flat_skew": 0.03125}
    # put 0.375 / call 0.25 and friends: the difference is exact
    frame = features({"skew_put_iv_25d": [0.25 + skew], "skew_call_iv_25d": [0.25], "regime": [regime]})
    row = detect_one("skew", frame, settings(skew=cfg)).row(0, named=True)
    assert row["skew_percentile"] is None
    assert row["skew_history_mode"] == 0
    assert row["skew_signal"] == signal
    assert row["skew_strength"] == strength
    if signal is not None:
        assert row["skew_rationale"].startswith("25d put ")
        assert "(fallback: 0 of 10 values)" in row["skew_rationale"]


def test_fallback_ends_exactly_at_min_history() -> None:
    # 0.15 skew every day: fallback steep while history < 3, then percentile 0 (equal values are not below)
    out = detect_one("skew", _skew([0.15] * 5), settings(skew={"lookback_days": 5, "min_history_days": 3}))
    assert out["skew_history_mode"].to_list() == [0, 0, 0, 1, 1]
    assert out["skew_signal"].to_list() == ["skew_steep"] * 3 + ["skew_flat"] * 2


SPIKE = [*BASE, 0.060, 0.020, 0.021, 0.022, 0.023, 0.050]  # steep (p 90) while falling from the spike
RISING = [*BASE, 0.030, 0.031, 0.032, 0.033, 0.034, 0.040]  # steep (p 100) and still rising


def test_reversion_deltas() -> None:
    out = detect_one("skew", _skew(SPIKE), settings(skew=SMALL))
    assert out["skew_delta"][-1] == pytest.approx(0.050 - 0.060)
    assert out["skew_pctl_delta"][-1] == pytest.approx(90.0 - 100.0)
    assert out["skew_delta"].to_list()[:5] == [None] * 5  # nothing 5 entries back yet
    assert out["skew_pctl_delta"][14] is None  # the entry 5 back (row 9) had no percentile


def test_reversion_deltas_skip_missing_days() -> None:
    values = [0.01, None, 0.02, 0.03, None, 0.04, 0.05, 0.06]
    out = detect_one("skew", _skew(values), settings(skew={**SMALL, "reversion_lookback_values": 2}))
    # history entries: 0.01, 0.02, 0.03, 0.04, 0.05, 0.06; deltas against two entries back
    assert (
        out["skew_delta"].to_list()
        == [None, None, None, pytest.approx(0.02), None, pytest.approx(0.02)] + [pytest.approx(0.02)] * 2
    )


@pytest.mark.parametrize(
    ("values", "gated", "fires"),
    [
        (SPIKE, False, True),
        (SPIKE, True, True),  # skew -0.010 and pctl -10 vs 5 back: reverting
        (RISING, False, True),
        # +0.010 is large enough but upwards; pctl_delta 0 passes the direction clause only. An
        # abs()-based magnitude test (the VolMachine defect) would let it through.
        (RISING, True, False),
        ([-v for v in SPIKE], True, True),  # mirror image: flat (p 10) and rising back
        ([-v for v in RISING], True, False),
    ],
)
def test_reversion_gate_is_signed(values: list[float], gated: bool, fires: bool) -> None:
    row = _last(values, {"use_reversion_gate": gated, "fallback_flat_skew": -1.0})
    assert row["skew_fired"] is fires
    if fires:
        assert row["skew_signal"] == (SignalKind.SKEW_STEEP if values[-1] > 0 else SignalKind.SKEW_FLAT)


def test_reversion_gate_needs_the_minimum_move() -> None:
    # SPIKE moves -0.010 in skew and -10 in percentile: both minimums raised above that block it
    cfg = {"use_reversion_gate": True, "reversion_min_skew_change": 0.02, "reversion_min_percentile_change": 20.0}
    assert not _last(SPIKE, cfg)["skew_fired"]
    assert _last(SPIKE, {**cfg, "reversion_min_percentile_change": 10.0})["skew_fired"]


@pytest.mark.parametrize(("iv_pctl", "fires"), [(75.0, True), (75.1, False), (None, False)])
def test_flat_max_iv_percentile_gate(iv_pctl: float | None, fires: bool) -> None:
    n = len(BASE) + 1
    row = _last([*BASE, 0.001], {"flat_max_iv_percentile": 75.0}, iv_percentile=[50.0] * (n - 1) + [iv_pctl])
    assert row["skew_fired"] is fires
    # the gate never touches steep signals
    assert _last([*BASE, 0.05], {"flat_max_iv_percentile": 75.0}, iv_percentile=[None] * n)["skew_fired"]


def test_min_strength_drops_weak_signals() -> None:
    cfg = {"min_strength": 0.7}
    assert _last([*BASE, 0.05], cfg)["skew_strength"] == pytest.approx(0.8)  # p 100 -> 0.8 kept
    assert not _last([*BASE, 0.0185], cfg)["skew_fired"]  # p 90 -> 0.6 dropped
