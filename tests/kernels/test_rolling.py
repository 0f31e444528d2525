"""Tests of ``volengine.kernels.rolling``: hand values, the naive twin, segments, NaN days, truncation."""

from __future__ import annotations

import numpy as np
import pytest
from naive_rolling import trailing_percentile as naive_percentile
from naive_rolling import trailing_rank as naive_rank
from numpy.testing import assert_allclose, assert_array_equal

from volengine.errors import KernelInputError
from volengine.kernels import trailing_percentile, trailing_rank


def test_percentile_hand_values_exclude_the_current_value_and_count_strictly_below() -> None:
    x = [10.0, 20.0, 20.0, 5.0, 30.0]
    # day 2: history [10, 20], 20 is not strictly below 20 -> 50; day 3: [10, 20, 20] none below 5 -> 0
    assert_allclose(trailing_percentile(x, 3, min_periods=1), [np.nan, 100.0, 50.0, 0.0, 100.0])
    # window 2 keeps only the last two values: day 4 sees [20, 5]
    assert_allclose(trailing_percentile(x, 2, min_periods=2), [np.nan, np.nan, 50.0, 0.0, 100.0])


def test_percentile_without_enough_history_is_nan_never_an_invented_50() -> None:
    out = trailing_percentile(np.arange(10.0), 252)
    assert np.isnan(out).all()


def test_nan_days_are_not_values_of_the_history() -> None:
    x = [1.0, np.nan, 3.0, np.nan, 2.0]
    assert_allclose(trailing_percentile(x, 2, min_periods=2), [np.nan, np.nan, np.nan, np.nan, 50.0])
    assert_allclose(trailing_rank(x, 3, min_periods=3), [np.nan, np.nan, np.nan, np.nan, 50.0])


@pytest.mark.parametrize("window", [1, 3, 17])
def test_both_match_their_naive_twins_with_segments_and_nans(rng: np.random.Generator, window: int) -> None:
    n = 300
    x = rng.normal(size=n).round(1)  # rounding makes ties common
    x[rng.random(n) < 0.1] = np.nan
    seg = np.repeat([4, 1, 9], [120, 100, 80])
    m = max(1, window // 2)
    got = trailing_percentile(x, window, min_periods=m, segment=seg)
    assert_allclose(got, naive_percentile(list(x), list(seg), window, m), rtol=0, atol=1e-12)
    got = trailing_rank(x, window, min_periods=m, segment=seg)
    assert_allclose(got, naive_rank(list(x), list(seg), window, m), rtol=0, atol=1e-12)


def test_windows_never_cross_segments() -> None:
    x = np.array([1.0, 2.0, 3.0, 0.5, 0.6])
    out = trailing_percentile(x, 5, min_periods=1, segment=[0, 0, 0, 1, 1])
    assert np.isnan(out[3])  # first row of segment 1 has no history, although segment 0 precedes it
    assert out[4] == 100.0


def test_truncation_invariance(rng: np.random.Generator) -> None:
    x = rng.normal(size=200)
    full = trailing_percentile(x, 30, min_periods=10)
    for d in rng.integers(0, 200, 10):
        assert_array_equal(trailing_percentile(x[: d + 1], 30, min_periods=10)[-1], full[d])


def test_out_buffer_and_bad_arguments() -> None:
    buf = np.empty(4)
    assert trailing_rank([1.0, 2.0, 3.0, 4.0], 2, out=buf) is buf
    with pytest.raises(KernelInputError, match="window"):
        trailing_percentile([1.0], 0)
    with pytest.raises(KernelInputError, match="min_periods"):
        trailing_percentile([1.0], 3, min_periods=9)
    with pytest.raises(KernelInputError, match="1-D"):
        trailing_rank(np.ones((2, 2)), 2)
    with pytest.raises(KernelInputError, match="segment"):
        trailing_rank([1.0, 2.0, 3.0], 2, segment=[0, 1, 0])
