"""The score table rule by rule, the decision (ties, fallback, confidence, WARMUP), the PANIC vol gate,
hysteresis against a slow twin, no look-ahead, and the three data levels."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import polars as pl
import pytest
from conftest import business_days, make_bars, vix_like
from polars.testing import assert_frame_equal

from volengine.config import Regime, Settings, with_overrides
from volengine.errors import KernelInputError
from volengine.kernels.regime import hysteresis
from volengine.regime import (
    REGIME_STATES,
    SCORE_COLUMNS,
    RegimeDtype,
    classify,
    classify_features,
    feature_names,
    scoring_rules,
)

NAMES = feature_names()
GRIND, PANIC, UP, DOWN, CHOP = "LOW_VOL_GRIND", "HIGH_VOL_PANIC", "TREND_UP", "TREND_DOWN", "CHOP"
SCORE = dict(zip([str(r) for r in Regime], SCORE_COLUMNS, strict=True))


def feature_rows(*rows: dict[str, Any]) -> pl.DataFrame:
    """One day per dict: every feature null (no rule fires) except the given ones; never WARMUP."""
    base: dict[str, Any] = dict.fromkeys(NAMES.columns)
    base.update(ma200=100.0, drawdown=-0.05, vix_source="index")
    schema = dict.fromkeys(NAMES.columns, pl.Float64) | {"days_since_high": pl.Int64, "vix_source": pl.String}
    data = [base | row for row in rows]
    frame = pl.DataFrame(data, schema=schema)
    return frame.with_columns(pl.Series("date", business_days(frame.height))).select("date", *NAMES.columns)


def settings_with(**sections: dict[str, Any]) -> Settings:
    return with_overrides(Settings(), {"regime": sections})


def scores_of(out: pl.DataFrame, row: int = 0) -> dict[str, float]:
    return {r: out[c][row] for r, c in SCORE.items()}


# ------------------------------------------------------------------------------------- score table

# (rule, features that trip exactly it, points by regime) from the seed-spec §2.4 table
TABLE = [
    ("VIX >= 35", {"vix": 36.2}, {PANIC: 3.0}),
    ("VIX at 35", {"vix": 35.0}, {PANIC: 3.0}),
    ("VIX >= 25", {"vix": 25.0}, {PANIC: 1.5}),
    ("rv5 >= 0.30", {"rv5": 0.30}, {PANIC: 2.0}),
    ("rv5/rv20 >= 1.5", {"rv5_rv20": 1.5}, {PANIC: 1.5}),
    ("drawdown <= -20%", {"drawdown": -0.20}, {PANIC: 1.5, DOWN: 1.0}),
    ("drawdown <= -10%", {"drawdown": -0.10}, {PANIC: 0.5, DOWN: 1.0}),
    ("price_vs_ma50 < -0.03", {"price_vs_ma50": -0.031}, {DOWN: 1.5}),
    ("price_vs_ma50 > 0.03", {"price_vs_ma50": 0.031}, {UP: 1.5}),
    ("price_vs_ma200 < -0.03", {"price_vs_ma200": -0.031}, {DOWN: 1.0}),
    ("price_vs_ma200 > 0.03", {"price_vs_ma200": 0.031}, {UP: 1.0}),
    ("MA20/MA50 < 0.98", {"ma20_ma50": 0.979}, {DOWN: 1.0}),
    ("MA20/MA50 > 1.02", {"ma20_ma50": 1.021}, {UP: 1.0}),
    ("return_20 < -0.05", {"return_20d": -0.051}, {DOWN: 1.0}),
    ("return_20 > 0.05", {"return_20d": 0.051}, {UP: 1.0}),
    ("days_since_high < 10", {"days_since_high": 9}, {UP: 0.5, GRIND: 0.5}),
    ("VIX < 15", {"vix": 14.9}, {GRIND: 1.5}),
    ("rv20 < 0.10", {"rv20": 0.099}, {GRIND: 1.5}),
    ("rv5/rv20 < 0.8", {"rv5_rv20": 0.79}, {GRIND: 1.0}),
    ("0 < price_vs_ma20 < 0.03 and rv20 < 0.20", {"price_vs_ma20": 0.01, "rv20": 0.15}, {GRIND: 1.0}),
    ("abs(price_vs_ma50) < 0.01", {"price_vs_ma50": -0.009}, {CHOP: 1.0}),
    ("abs(MA20/MA50 - 1) < 0.01", {"ma20_ma50": 0.991}, {CHOP: 0.5}),
    ("abs(return_20) < 0.02 and rv20 > 0.10", {"return_20d": -0.019, "rv20": 0.15}, {CHOP: 1.0}),
    # just outside each threshold: nothing
    ("VIX 15..25", {"vix": 15.0}, {}),
    ("VIX below 25", {"vix": 24.99}, {}),
    ("rv5 below 0.30", {"rv5": 0.2999}, {}),
    ("rv5/rv20 at 0.8", {"rv5_rv20": 0.8}, {}),
    ("drawdown above -10%", {"drawdown": -0.0999}, {}),
    ("price_vs_ma50 at 0.03", {"price_vs_ma50": 0.03}, {}),
    ("days_since_high at 10", {"days_since_high": 10}, {}),
    ("price_vs_ma20 at 0", {"price_vs_ma20": 0.0, "rv20": 0.15}, {}),
    ("steady needs rv20 < 0.20", {"price_vs_ma20": 0.01, "rv20": 0.20}, {}),
    ("flat return needs rv20 > 0.10", {"return_20d": 0.0, "rv20": 0.10}, {}),
]


@pytest.mark.parametrize(("rule", "features", "points"), TABLE, ids=[t[0] for t in TABLE])
def test_each_rule_adds_its_points(rule: str, features: dict[str, Any], points: dict[str, float]) -> None:
    out = classify_features(feature_rows(features))
    assert scores_of(out) == {r: points.get(r, 0.0) for r in SCORE}, rule


def test_points_come_from_the_config() -> None:
    settings = settings_with(points={"vix_panic_score": 7.25, "near_high_grind_score": 0.25})
    out = classify_features(feature_rows({"vix": 40.0}, {"days_since_high": 0}), settings)
    assert scores_of(out, 0)[PANIC] == 7.25
    assert (scores_of(out, 1)[GRIND], scores_of(out, 1)[UP]) == (0.25, 0.5)
    stricter = settings_with(thresholds={"vix_panic_points": 45.0})
    assert scores_of(classify_features(feature_rows({"vix": 40.0}), stricter))[PANIC] == 1.5


def test_rules_sum_and_quote_their_numbers() -> None:
    crash = {"vix": 36.2, "vix_source": "proxy", "rv5": 0.61, "rv5_rv20": 1.7, "drawdown": -0.25,
             "price_vs_ma50": -0.08, "price_vs_ma200": -0.12, "ma20_ma50": 0.95, "return_20d": -0.15}  # fmt: skip
    out = classify_features(feature_rows(crash)).row(0, named=True)
    assert (out[SCORE[PANIC]], out[SCORE[DOWN]]) == (8.0, 5.5)
    assert out["regime"] == PANIC
    assert out["regime_confidence"] == 1.0
    assert out["regime_reason"].startswith(
        "Regime: HIGH_VOL_PANIC (score 8.0). VIX 36.2 >= 35 (proxy); rv5 0.61 >= 0.3; rv5/rv20 1.7 >= 1.5; "
        "drawdown -0.25 <= -0.2."
    )
    # without the VIX rules (VolMachine without a vol index) the crash reads TREND_DOWN, 5.5 against 5.0
    blind = classify_features(feature_rows(crash | {"vix": None})).row(0, named=True)
    assert (blind["regime"], blind[SCORE[PANIC]]) == (DOWN, 5.0)
    assert "Skipped (no data): vix" in blind["regime_reason"]


def test_reasons_are_those_of_the_regime_called_first_five_in_table_order() -> None:
    up = {"price_vs_ma50": 0.05, "price_vs_ma200": 0.1, "ma20_ma50": 1.03, "return_20d": 0.06, "days_since_high": 2,
          "vix": 14.0, "price_vs_ma20": 0.02, "rv20": 0.09, "rv5_rv20": 0.7, "rv5": 0.06}  # fmt: skip
    out = classify_features(feature_rows(up)).row(0, named=True)
    assert (out[SCORE[UP]], out[SCORE[GRIND]]) == (5.0, 5.5)
    assert out["regime"] == GRIND
    reasons = out["regime_reason"].split(". ", 1)[1].split("; ")
    assert reasons[:4] == ["days_since_high 2 < 10", "VIX 14.0 < 15", "rv20 0.09 < 0.1", "rv5/rv20 0.7 < 0.8"]
    assert len(reasons) == 5
    assert "price_vs_ma50" not in out["regime_reason"]
    short = classify_features(feature_rows(up), settings_with(decision={"max_rationale_reasons": 2})).row(0, named=True)
    assert short["regime_reason"] == "Regime: LOW_VOL_GRIND (score 5.5). days_since_high 2 < 10; VIX 14.0 < 15."


# --------------------------------------------------------------------------------------- decision


def test_ties_follow_the_tie_order() -> None:
    rows = feature_rows(
        {"vix": 30.0, "price_vs_ma50": -0.05},  # PANIC 1.5 = DOWN 1.5
        {"price_vs_ma50": 0.05, "vix": 14.0},  # UP 1.5 = GRIND 1.5
        {"price_vs_ma50": -0.05, "price_vs_ma200": 0.05, "ma20_ma50": 1.03},  # DOWN 1.5 < UP 2.0
        {"price_vs_ma200": 0.05, "return_20d": 0.0, "rv20": 0.15},  # UP 1.0 = CHOP 1.0
    )
    assert classify_features(rows)["regime"].to_list() == [PANIC, UP, UP, UP]
    reverse = settings_with(decision={"tie_order": [GRIND, CHOP, UP, DOWN, PANIC]})
    assert classify_features(rows, reverse)["regime"].to_list() == [DOWN, GRIND, UP, CHOP]


def test_a_best_score_below_one_falls_back_to_chop() -> None:
    rows = feature_rows({"ma20_ma50": 1.005, "days_since_high": 3}, {"rv5_rv20": 0.5}, {})
    out = classify_features(rows)
    assert out["regime"].to_list() == [CHOP, GRIND, CHOP]
    assert out["regime_confidence"].to_list() == [0.3, 0.2, 0.3]
    assert "No regime reaches 1 (best 0.5): fallback." in out["regime_reason"][0]
    assert out["regime_reason"][2] == (
        "Regime: CHOP (score 0.0). No regime reaches 1 (best 0.0): fallback. Skipped (no data): vix, rv5, "
        "rv5_rv20, price_vs_ma50, price_vs_ma200, ma20_ma50, return_20d, days_since_high, rv20, price_vs_ma20."
    )
    other = settings_with(decision={"fallback_regime": UP, "fallback_confidence": 0.1, "min_winning_score": 1.5})
    out = classify_features(rows, other)
    assert out["regime"].to_list() == [UP, UP, UP]
    assert out["regime_confidence"].to_list() == [0.1, 0.1, 0.1]


def test_confidence_is_score_over_five_capped_at_one() -> None:
    rows = feature_rows({"vix": 40.0}, {"vix": 40.0, "rv5": 0.5}, {"vix": 40.0, "rv5": 0.5, "rv5_rv20": 2.0})
    out = classify_features(rows)
    assert out["regime_confidence"].to_list() == [0.6, 1.0, 1.0]
    wider = classify_features(rows, settings_with(decision={"full_confidence_score": 10.0}))
    assert wider["regime_confidence"].to_list() == [0.3, 0.5, 0.65]


def test_warmup_until_the_long_features_exist(rng: np.random.Generator) -> None:
    bars = make_bars(rng, 300)
    out = classify(bars)
    regime = out["regime"].cast(pl.String).to_list()
    assert regime[:251] == ["WARMUP"] * 251
    assert "WARMUP" not in regime[251:]
    assert out["regime_confidence"][:251].to_list() == [0.0] * 251
    assert out.select(SCORE_COLUMNS)[:251].null_count().row(0) == (251,) * 5
    assert out["regime_reason"][199] == ("Regime: WARMUP (score 0). Missing: drawdown (252 bars); bars so far: 200.")
    assert out["regime_reason"][0].startswith("Regime: WARMUP (score 0). Missing: ma200 (200 bars), drawdown")
    # with a shorter drawdown window the long MA is the last feature to arrive
    shorter = classify(bars, None, settings_with(features={"drawdown_lookback_days": 120}))
    regime = shorter["regime"].cast(pl.String).to_list()
    assert regime[:199] == ["WARMUP"] * 199
    assert "WARMUP" not in regime[199:]


# ------------------------------------------------------------------------------------ PANIC gate


def test_panic_needs_an_elevated_vol_level() -> None:
    calm_spike = {"vix": 14.0, "rv5_rv20": 1.6, "rv20": 0.12}  # PANIC 1.5 = GRIND 1.5: PANIC by tie order
    rows = feature_rows(
        calm_spike,
        {"vix": 19.9, "rv5": 0.35, "rv20": 0.19},  # PANIC 2.0, gate closed
        {"vix": 20.0, "rv5": 0.35, "rv20": 0.19},  # gate open by VIX
        {"vix": None, "rv5": 0.35, "rv20": 0.2},  # gate open by rv20
    )
    out = classify_features(rows)
    assert out["regime"].to_list() == [GRIND, CHOP, PANIC, PANIC]
    assert out["regime_raw"].to_list() == [GRIND, CHOP, PANIC, PANIC]
    assert "HIGH_VOL_PANIC 1.5 blocked by the vol gate: VIX 14.0 < 20 and rv20 0.12 < 0.2." in out["regime_reason"][0]
    assert scores_of(out, 1)[PANIC] == 2.0  # the score stays the table's
    literal = classify_features(rows, settings_with(decision={"use_panic_vol_gate": False}))
    assert literal["regime"].to_list() == [PANIC, PANIC, PANIC, PANIC]
    moved = settings_with(thresholds={"vix_elevated_points": 19.0})
    assert classify_features(rows, moved)["regime"].to_list()[:2] == [GRIND, PANIC]


# ------------------------------------------------------------------------------------- hysteresis


def naive_hysteresis(
    dec: np.ndarray, raw: np.ndarray, rank: np.ndarray, dwell_min: int, confirm: int, margin: float, floor: float
) -> list[int]:
    out: list[int] = []
    cur, dwell, chal, streak = 0, 0, 0, 0
    for i, r in enumerate(raw.tolist()):
        if r == 0:
            cur, dwell, chal, streak = 0, 0, 0, 0
        elif cur == 0 or r == cur:
            dwell = dwell + 1 if r == cur else 1
            cur, chal, streak = r, 0, 0
        else:
            streak = streak + 1 if r == chal else 1
            chal = r
            d_cur, d_new = dec[i, cur - 1], dec[i, r - 1] - margin
            wins = d_new > d_cur or (d_new == d_cur and rank[r - 1] < rank[cur - 1])
            if dwell >= dwell_min and streak >= confirm and (d_cur < floor or wins):
                cur, dwell, chal, streak = r, 1, 0, 0
            else:
                dwell += 1
        out.append(cur)
    return out


def random_decisions(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    dec = rng.integers(0, 9, (n, 5)) * 0.5
    dec[rng.random(n) < 0.2, 1] = -np.inf
    rank = rng.permutation(5)
    order = np.argsort(rank)
    best = order[np.argmax(dec[:, order], axis=1)]
    raw = np.where(dec[np.arange(n), best] < 1.0, 5, best + 1)
    raw[rng.random(n) < 0.03] = 0
    return dec, raw.astype(np.int8), rank


def test_hysteresis_defaults_return_the_raw_winner(rng: np.random.Generator) -> None:
    dec, raw, rank = random_decisions(rng, 3000)
    np.testing.assert_array_equal(hysteresis(dec, raw, rank), raw)


@pytest.mark.parametrize(
    ("dwell", "confirm", "margin"), [(5, 1, 0.0), (0, 3, 0.0), (0, 1, 1.0), (3, 2, 0.5), (10, 4, 2.0)]
)
def test_hysteresis_matches_its_slow_twin(rng: np.random.Generator, dwell: int, confirm: int, margin: float) -> None:
    dec, raw, rank = random_decisions(rng, 2000)
    seg = np.repeat([0, 1, 2], [700, 600, 700])
    got = hysteresis(
        dec, raw, rank, segment=seg, min_dwell_days=dwell, confirm_days=confirm, switch_margin_score=margin
    )
    want = np.concatenate(
        [
            naive_hysteresis(dec[a:b], raw[a:b], rank, dwell, confirm, margin, 1.0)
            for a, b in ((0, 700), (700, 1300), (1300, 2000))
        ]
    )
    np.testing.assert_array_equal(got, want)
    assert (got != raw).any()


def _blip(days_a: int, days_b: int, days_after: int) -> tuple[np.ndarray, np.ndarray]:
    """A then B then A again as raw winners; A scores 3 when it wins, B 3.5 (A 3 on B's days)."""
    n = days_a + days_b + days_after
    raw = np.array([3] * days_a + [4] * days_b + [3] * days_after, dtype=np.int8)
    dec = np.zeros((n, 5))
    dec[:, 2] = 3.0
    dec[raw == 4, 3] = 3.5
    return dec, raw


def test_a_two_day_blip_inside_the_dwell_is_suppressed() -> None:
    dec, raw = _blip(3, 2, 5)
    got = hysteresis(dec, raw, np.arange(5), min_dwell_days=5)
    assert got.tolist() == [3] * 10
    # a long-lived incumbent may switch at once: dwell is the minimum stay, then B must last 5 days
    dec, raw = _blip(8, 2, 6)
    assert hysteresis(dec, raw, np.arange(5), min_dwell_days=5).tolist() == [3] * 8 + [4] * 5 + [3] * 3
    # confirmation suppresses the blip whatever the incumbent's age
    assert hysteresis(dec, raw, np.arange(5), confirm_days=3).tolist() == [3] * 16


def test_switch_margin() -> None:
    dec, raw = _blip(3, 3, 2)  # B beats A by 0.5 on its days
    assert hysteresis(dec, raw, np.arange(5), switch_margin_score=0.4).tolist() == [3, 3, 3, 4, 4, 4, 3, 3]
    assert hysteresis(dec, raw, np.arange(5), switch_margin_score=0.6).tolist() == [3] * 8
    # level after the margin: the tie order decides (UP before DOWN in arange, DOWN first in the other)
    assert hysteresis(dec, raw, np.arange(5), switch_margin_score=0.5).tolist() == [3] * 8
    assert hysteresis(dec, raw, np.array([4, 3, 1, 0, 2]), switch_margin_score=0.5).tolist()[3] == 4


def test_hysteresis_resets_on_warmup_and_drops_a_non_viable_incumbent() -> None:
    raw = np.array([3, 3, 0, 4, 4, 5, 5], dtype=np.int8)
    dec = np.zeros((7, 5))
    dec[:2, 2] = 3.0
    dec[3:5, 3] = 2.0
    dec[5:, 4] = 0.5  # fallback days: DOWN is no longer viable, so no margin holds it
    got = hysteresis(dec, raw, np.arange(5), switch_margin_score=5.0, min_winning_score=1.0)
    assert got.tolist() == [3, 3, 0, 4, 4, 5, 5]
    with pytest.raises(KernelInputError, match="shape"):
        hysteresis(dec[:, :4], raw, np.arange(5))
    with pytest.raises(KernelInputError, match="permutation"):
        hysteresis(dec, raw, [0, 0, 1, 2, 3])
    with pytest.raises(KernelInputError, match="codes"):
        hysteresis(dec, raw + 6, np.arange(5))


def test_classify_applies_hysteresis_and_reports_it(rng: np.random.Generator) -> None:
    bars = make_bars(rng, 600)
    index = vix_like(bars, rng)
    plain = classify(bars, index)
    sticky = classify(bars, index, settings_with(hysteresis={"min_dwell_days": 5, "switch_margin_score": 1.0}))
    assert_frame_equal(plain["regime"].to_frame(), plain["regime_raw"].alias("regime").to_frame())
    assert (plain["regime_raw"] == sticky["regime_raw"]).all()
    held = sticky.filter(pl.col("regime") != pl.col("regime_raw"))
    assert held.height > 0
    assert held["regime_reason"].str.contains("Held by hysteresis: raw").all()
    assert sticky["regime_changed"].sum() < plain["regime_changed"].sum()
    changed = plain["regime"].cast(pl.String).to_list()
    assert plain["regime_changed"].to_list() == [False] + [a != b for a, b in itertools.pairwise(changed)]


# ---------------------------------------------------------------------------------- no look-ahead


def test_classify_cut_at_d_equals_row_d_of_the_full_run(rng: np.random.Generator) -> None:
    bars = make_bars(rng, 640)
    index = vix_like(bars, rng).filter(pl.int_range(pl.len()).is_between(150, 480))  # partial: proxy elsewhere
    settings = settings_with(hysteresis={"min_dwell_days": 3, "switch_margin_score": 0.5, "confirm_days": 2})
    full = classify(bars, index, settings)
    assert full["vix_source"].n_unique() == 3
    assert (full["regime"] != full["regime_raw"]).any()
    for d in [*rng.choice(np.arange(250, 640), 24, replace=False).tolist(), 0, 19, 251, 639]:
        cut = classify(bars.head(d + 1), index, settings)
        assert_frame_equal(cut.tail(1), full.slice(d, 1), check_exact=True)


# ------------------------------------------------------------------------------------- data levels


def test_three_data_levels(rng: np.random.Generator) -> None:
    bars = make_bars(rng)
    index = vix_like(bars, rng)
    only_bars = classify(bars)
    with_index = classify(bars, index)
    part = classify(bars, index.filter(pl.col("date") >= bars["date"][400]))
    assert set(only_bars["vix_source"].cast(pl.String)) == {"none", "proxy"}
    assert (with_index["vix_source"] == "index").all()
    src = part["vix_source"].cast(pl.String).to_list()
    assert set(src[20:400]) == {"proxy"}
    assert set(src[400:]) == {"index"}
    vix_reasons = only_bars.filter(pl.col("regime_reason").str.contains("VIX"))["regime_reason"]
    assert vix_reasons.len() > 0
    assert vix_reasons.str.contains(r"VIX [0-9.]+ [<>=]+ [0-9.]+ \(proxy\)").all()
    assert not with_index["regime_reason"].str.contains("(proxy)", literal=True).any()
    # the crash stretch (rows 360-400) reads PANIC at every data level
    for out in (only_bars, with_index, part):
        crash = out.slice(370, 30)["regime"]
        assert (crash == PANIC).mean() > 0.6, out["vix_source"][380]


def test_output_columns_dtypes_and_order(rng: np.random.Generator) -> None:
    bars = make_bars(rng, 300, underlying="SPY")
    out = classify(bars, vix_like(bars, rng))
    head = ["date", "underlying", "regime", "regime_confidence", "regime_reason", *SCORE_COLUMNS, "regime_raw",
            "regime_changed"]  # fmt: skip
    assert out.columns == [*head, *NAMES.columns]
    assert SCORE_COLUMNS == (
        "regime_score_low_vol_grind", "regime_score_high_vol_panic", "regime_score_trend_up",
        "regime_score_trend_down", "regime_score_chop",
    )  # fmt: skip
    assert (out.schema["regime"], out.schema["regime_raw"]) == (RegimeDtype, RegimeDtype)
    assert RegimeDtype == pl.Enum(REGIME_STATES)
    assert REGIME_STATES[0] == "WARMUP"
    assert out.schema["regime_confidence"] == pl.Float64
    assert out.schema["regime_changed"] == pl.Boolean
    assert len(scoring_rules()) == 22


def test_several_underlyings_are_classified_separately(rng: np.random.Generator) -> None:
    a, b = make_bars(rng, 400, underlying="SPY"), make_bars(rng, 330, underlying="IWM")
    index = vix_like(a, rng)
    settings = settings_with(hysteresis={"min_dwell_days": 4})
    both = classify(pl.concat([a, b]), index, settings)
    assert both["underlying"].cast(pl.String).to_list() == ["IWM"] * 330 + ["SPY"] * 400
    for part in (a, b):
        alone = classify(part, index, settings)
        assert_frame_equal(both.filter(pl.col("underlying") == part["underlying"][0]), alone)
    assert not both["regime_changed"][330]  # the first SPY row is not a change from IWM's last
