"""VRP detector: ratio and percentile rules, combine any/all, PANIC, the strength ladder, history_mode."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from edge_frames import features, naive_percentile, random_features, settings
from numpy.testing import assert_allclose

from volengine.edges import detect_one


def _ratio_frame(prior: list[float], last: float, *, regime: str = "CHOP") -> pl.DataFrame:
    """IV fixed at 0.20; RV chosen so that IV/RV follows ``prior`` then ``last``."""
    ratios = [*prior, last]
    return features(
        {
            "atm_iv": [0.2] * len(ratios),
            "vrp_rv": [0.2 / r for r in ratios],
            "regime": ["CHOP"] * len(prior) + [regime],
        }
    )


def _prior(n_below: int, last: float, size: int = 10) -> list[float]:
    """``size`` earlier ratios of which ``n_below`` are below ``last`` (so the percentile is 10·n_below)."""
    below = [last - 0.01 * (i + 1) for i in range(n_below)]
    above = [last + 0.01 * (i + 1) for i in range(size - n_below)]
    return below + above


SMALL = {"lookback_days": 10, "min_history_days": 10}


def test_ratio_rule_fires_exactly_at_the_threshold_without_history() -> None:
    # 0.325 / 0.25 is exact in binary: the ratio equals the 1.3 threshold bit for bit
    out = detect_one("vrp", features({"atm_iv": [0.325, 0.325 - 1e-12], "vrp_rv": [0.25, 0.25]}))
    assert out["vrp_ratio"][0] == 1.3
    assert out["vrp_fired"].to_list() == [True, False]
    row = out.row(0, named=True)
    assert row["vrp_signal"] == "vrp"
    assert row["vrp_direction"] == "short"
    assert row["vrp_history_mode"] == 0  # default minimum history is 252 values
    assert row["vrp_ratio_percentile"] is None  # no invented percentile
    assert row["vrp_strength"] == pytest.approx(0.2)  # base rung, no bonus without a percentile
    assert row["vrp_rationale"] == "IV 32.5% vs RV 25.0% = 1.30 ratio (pctl n/a: 0 of 252 values)"
    assert out.row(1, named=True)["vrp_signal"] is None


def test_min_atm_iv_boundary_and_zero_rv() -> None:
    frame = features({"atm_iv": [0.10, 0.0999, 0.30, None], "vrp_rv": [0.05, 0.05, 0.0, 0.0]})
    out = detect_one("vrp", frame)
    assert out["vrp_fired"].to_list() == [True, False, False, False]
    assert out["vrp_ratio"].to_list()[:3] == [2.0, pytest.approx(1.998), 1.0]  # ratio := 1 when RV = 0
    assert out["vrp_ratio"][3] is None  # no IV: no ratio, even with RV = 0


@pytest.mark.parametrize(
    ("n_below", "ratio_ok", "fires", "strength"),
    [
        (6, True, True, 0.2),  # pctl 60: base rung, ratio alone fires
        (7, True, True, 0.4),  # pctl 70: weak rung
        (8, True, True, 0.9),  # pctl 80: threshold rung + both-bonus
        (9, True, True, 1.0),  # pctl 90: strong rung, bonus capped at 1
        (10, True, True, 1.0),
        (7, False, False, None),  # pctl 70 and ratio 1.2: nothing holds
        (8, False, True, 0.7),  # percentile alone, no bonus
        (9, False, True, 1.0),
    ],
)
def test_strength_ladder_and_both_bonus(n_below: int, ratio_ok: bool, fires: bool, strength: float | None) -> None:
    last = 1.4 if ratio_ok else 1.2
    out = detect_one("vrp", _ratio_frame(_prior(n_below, last), last), settings(vrp=SMALL))
    row = out.row(-1, named=True)
    assert row["vrp_ratio_percentile"] == pytest.approx(10.0 * n_below)
    assert row["vrp_history"] == 10
    assert row["vrp_history_mode"] == 1
    assert row["vrp_fired"] is fires
    assert row["vrp_strength"] == (pytest.approx(strength) if strength is not None else None)
    if fires:
        assert row["vrp_rationale"].endswith(f"ratio (pctl {10 * n_below})")


def test_combine_all_needs_both_conditions_and_history() -> None:
    cfg = settings(vrp={**SMALL, "combine": "all"})
    ratio_only = _ratio_frame(_prior(7, 1.4), 1.4)  # ratio 1.4 >= 1.3, pctl 70 < 80
    pctl_only = _ratio_frame(_prior(9, 1.2), 1.2)
    both = _ratio_frame(_prior(9, 1.4), 1.4)
    assert [detect_one("vrp", f, cfg)["vrp_fired"][-1] for f in (ratio_only, pctl_only, both)] == [False, False, True]
    # below the minimum history the percentile is missing, so `all` can never fire
    early = features({"atm_iv": [0.4] * 3, "vrp_rv": [0.1] * 3})
    assert not detect_one("vrp", early, cfg)["vrp_fired"].any()
    assert detect_one("vrp", early, settings(vrp=SMALL))["vrp_fired"].all()  # `any`: ratio fires, mode 0


@pytest.mark.parametrize(("n", "fires"), [(18, False), (19, True)])
def test_panic_needs_the_panic_percentile(n: int, fires: bool) -> None:
    # 20 earlier values, n of them below: pctl 90 (< 95, blocked in PANIC) and 95 (fires)
    last = 1.5
    frame = _ratio_frame(_prior(n, last, size=20), last, regime="HIGH_VOL_PANIC")
    out = detect_one("vrp", frame, settings(vrp={"lookback_days": 20, "min_history_days": 20}))
    assert out["vrp_ratio_percentile"][-1] == pytest.approx(5.0 * n)
    assert out["vrp_fired"][-1] is fires
    calm = detect_one("vrp", frame.with_columns(pl.lit("CHOP").cast(frame["regime"].dtype).alias("regime")))
    assert calm["vrp_fired"][-1]  # outside PANIC the ratio alone suffices


def test_panic_without_history_does_not_fire_on_the_ratio() -> None:
    frame = features({"atm_iv": [0.5], "vrp_rv": [0.1], "regime": ["HIGH_VOL_PANIC"]})
    assert not detect_one("vrp", frame)["vrp_fired"][0]


def test_history_mode_flips_exactly_at_min_history() -> None:
    n = 6
    frame = features({"atm_iv": [0.3] * n, "vrp_rv": [0.1] * n})
    out = detect_one("vrp", frame, settings(vrp={"lookback_days": 4, "min_history_days": 4}))
    assert out["vrp_history"].to_list() == [0, 1, 2, 3, 4, 4]  # capped at lookback_days
    assert out["vrp_history_mode"].to_list() == [0, 0, 0, 0, 1, 1]
    assert out["vrp_ratio_percentile"].to_list()[3:] == [None, 0.0, 0.0]  # equal values are not below


def test_percentiles_match_the_naive_definition_across_underlyings_and_gaps(rng: np.random.Generator) -> None:
    frame = random_features(rng, n_days=30)
    cfg = settings(vrp={"lookback_days": 7, "min_history_days": 5})
    out = detect_one("vrp", frame, cfg)
    for sym in ("IWM", "QQQ", "SPY"):
        mine = out.filter(pl.col("underlying") == sym)
        src = frame.filter(pl.col("underlying") == sym)
        iv, rv = src["atm_iv"].to_numpy(), src["vrp_rv"].to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(rv == 0, np.where(np.isnan(iv), np.nan, 1.0), iv / rv)
        for name, x in (("ratio", ratio), ("iv", iv), ("rv", rv)):
            got = mine[f"vrp_{name}_percentile"].fill_null(np.nan).to_numpy()
            assert_allclose(got, naive_percentile(list(x), 7, 5), rtol=0, atol=1e-12, err_msg=f"{sym} {name}")
