"""Confusion matrix, balanced accuracy and transition counts by hand, then the classifier against the
synthetic market's true regimes."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from volengine.datasets import SyntheticMarket, synthetic_market
from volengine.errors import DataError
from volengine.regime import REGIME_STATES, classify
from volengine.regime.evaluate import balanced_accuracy, confusion, transition_counts

G, P, U, D, C = "LOW_VOL_GRIND", "HIGH_VOL_PANIC", "TREND_UP", "TREND_DOWN", "CHOP"
REGIMES = [G, P, U, D, C]


def test_confusion_counts_truth_rows_against_predicted_columns() -> None:
    truth = [C, C, C, U, U, P, "WARMUP", None, G]
    pred = [C, U, C, U, D, P, C, C, "WARMUP"]
    m = confusion(pl.Series(pred, dtype=pl.Enum(REGIME_STATES)), truth)
    assert m.columns == ["truth", *REGIMES]
    counts = m.select(REGIMES).to_numpy()
    want = np.zeros((5, 5), dtype=int)
    for t, p in ((C, C), (C, U), (C, C), (U, U), (U, D), (P, P)):
        want[REGIMES.index(t), REGIMES.index(p)] += 1
    np.testing.assert_array_equal(counts, want)
    assert m["truth"].cast(pl.String).to_list() == REGIMES


def test_balanced_accuracy_is_the_mean_recall_of_the_true_classes() -> None:
    truth = [C, C, C, C, U, P, P]
    pred = [C, C, C, U, U, C, P]
    # recalls: CHOP 3/4, UP 1/1, PANIC 1/2; GRIND and DOWN never true, so not averaged
    assert balanced_accuracy(pred, truth) == pytest.approx((0.75 + 1.0 + 0.5) / 3, abs=1e-15)
    assert balanced_accuracy(truth, truth) == 1.0
    assert math.isnan(balanced_accuracy(["WARMUP"], [C]))
    # constant predictions score the chance level 1/k whatever the class frequencies
    assert balanced_accuracy([C] * 7, truth) == pytest.approx(1 / 3, abs=1e-15)


def test_labels_are_checked() -> None:
    with pytest.raises(DataError, match="'PANIC' at row 1"):
        confusion([C, "PANIC"], [C, C])
    with pytest.raises(DataError, match="one label per day"):
        balanced_accuracy([C], [C, C])


def test_transition_counts() -> None:
    seq = ["WARMUP", "WARMUP", C, C, U, U, U, None, U, C]
    tc = transition_counts(seq)
    assert tc.columns == ["from", *REGIME_STATES]
    got = {(f, t): n for f, *row in tc.iter_rows() for t, n in zip(REGIME_STATES, row, strict=True) if n}
    assert got == {("WARMUP", "WARMUP"): 1, ("WARMUP", C): 1, (C, C): 1, (C, U): 1, (U, U): 2, (U, C): 1}
    last = transition_counts(seq, last=3)  # None, U, C: no pair across the null, then U -> C
    assert last.select(REGIME_STATES).to_numpy().sum() == 1
    with pytest.raises(DataError, match="'last'"):
        transition_counts(seq, last=0)


# ------------------------------------------------------------------------------- synthetic truth


@pytest.fixture(scope="module")
def market() -> SyntheticMarket:
    return synthetic_market(seed=0, start="2012-01-03", end="2016-12-30", with_chains=False)


def _scored(m: SyntheticMarket, *, use_index: bool) -> pl.DataFrame:
    out = classify(m.bars, m.vol_index if use_index else None)
    truth = m.truth.select("date", "underlying", pl.col("regime").cast(pl.String).alias("truth"))
    return out.select("date", "underlying", pl.col("regime").cast(pl.String)).join(truth, on=["date", "underlying"])


@pytest.mark.parametrize(("use_index", "floor", "panic_recall"), [(True, 0.45, 0.5), (False, 0.38, 0.25)])
def test_classifier_recovers_the_synthetic_regimes(
    market: SyntheticMarket, *, use_index: bool, floor: float, panic_recall: float
) -> None:
    scored = _scored(market, use_index=use_index)
    ba = balanced_accuracy(scored["regime"], scored["truth"])
    m = confusion(scored["regime"], scored["truth"])
    print(f"\nsynthetic seed 0, 2012-2016, vol index={use_index}: balanced accuracy {ba:.3f}\n{m}")
    assert ba > floor  # chance is 0.2
    counts = m.select(REGIMES).to_numpy()
    recall = np.diag(counts) / counts.sum(axis=1)
    precision = np.diag(counts) / counts.sum(axis=0)
    assert recall[1] > panic_recall
    assert precision[1] > 0.35
    # a calm grinding market is never called PANIC
    assert counts[0, 1] == 0
