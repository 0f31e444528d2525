"""Gamma detector: pin zone and distance, pin before negative gamma, strength caps and PANIC bonus."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
from edge_frames import features, settings

from volengine.config import SignalKind
from volengine.edges import detect_one


def _gamma(net: list[float | None], dist: list[float | None], zone: list[bool | None], **extra: Any) -> pl.DataFrame:
    n = len(net)
    cols = {"gex_net": net, "gex_price_vs_max_pct": dist, "gex_in_pin_zone": zone, "gex_max_strike": [450.0] * n}
    return features({**cols, **extra})


@pytest.mark.parametrize(
    ("dist", "zone", "signal", "strength"),
    [
        (0.2, True, SignalKind.GAMMA_PIN, 0.84),  # 0.6 + (0.5 - 0.2) * 0.8
        (-0.2, True, SignalKind.GAMMA_PIN, 0.84),
        (0.0, True, SignalKind.GAMMA_PIN, 1.0),  # 0.6 + 0.5 * 0.8
        (0.5, True, None, None),  # distance must be strictly below pin_max_distance_pct
        (0.2, False, None, None),
        (0.2, None, None, None),
    ],
)
def test_pin(dist: float, zone: bool | None, signal: SignalKind | None, strength: float | None) -> None:
    row = detect_one("gamma", _gamma([1e9], [dist], [zone])).row(0, named=True)
    assert row["gamma_signal"] == signal
    assert row["gamma_strength"] == (None if strength is None else pytest.approx(strength))
    if signal is not None:
        assert row["gamma_direction"] == "short"
        assert row["gamma_history_mode"] == 1


def test_pin_strength_is_clipped_to_one() -> None:
    cfg = settings(gamma={"pin_gain_strength": 2.0})
    assert detect_one("gamma", _gamma([1e9], [0.0], [True]), cfg)["gamma_strength"][0] == 1.0


@pytest.mark.parametrize(
    ("net", "regime", "strength"),
    [
        (-5e8, "CHOP", 0.5),
        (-2e9, "CHOP", 0.8),  # capped at negative_max_strength
        (-5e8, "HIGH_VOL_PANIC", 0.7),
        (-2e9, "HIGH_VOL_PANIC", 1.0),  # 0.8 + 0.2
        (0.0, "CHOP", None),
        (3e9, "HIGH_VOL_PANIC", None),
    ],
)
def test_negative_gamma(net: float, regime: str, strength: float | None) -> None:
    row = detect_one("gamma", _gamma([net], [2.0], [False], regime=[regime])).row(0, named=True)
    assert row["gamma_fired"] is (strength is not None)
    assert row["gamma_strength"] == (None if strength is None else pytest.approx(strength))
    if strength is not None:
        assert row["gamma_signal"] == SignalKind.GAMMA_NEGATIVE
        assert row["gamma_direction"] == "long"


def test_negative_strength_cap_one_with_large_bonus() -> None:
    cfg = settings(gamma={"negative_max_strength": 1.0, "panic_negative_bonus_strength": 0.5})
    out = detect_one("gamma", _gamma([-5e9], [2.0], [False], regime=["HIGH_VOL_PANIC"]), cfg)
    assert out["gamma_strength"][0] == 1.0


def test_pin_wins_over_negative_gamma() -> None:
    out = detect_one("gamma", _gamma([-2e9, -2e9], [0.1, 0.7], [True, True]))
    assert out["gamma_signal"].to_list() == ["gamma_pin", "gamma_negative"]
    assert out["gamma_rationale"][1] == ("net dealer GEX $-2.00B per 1% move (calls_positive); max-gamma strike 450.00")
    assert out["gamma_rationale"][0] == "spot 0.10% from max-gamma strike 450.00, inside the pin zone (limit 0.5%)"
