"""Tests of ``volengine.kernels.realized``: hand values, the naive twin, NaN rules, estimator sanity.

Random tests use a seeded ``np.random.default_rng``; they pass for any seed in 0-19. Two seeds run by
default; ``VOLENGINE_TEST_SEEDS=all`` (or a comma list) runs others.
"""

from __future__ import annotations

import importlib.util
import itertools
import math
import os
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from numpy.testing import assert_allclose

from volengine.errors import KernelInputError
from volengine.kernels.enums import RVMethod
from volengine.kernels.realized import KERNELS, realized_vol


def _load_naive() -> ModuleType:
    # tests/ has no __init__.py files, so the twin is loaded by path rather than imported as a package
    path = Path(__file__).resolve().parents[1] / "reference" / "naive_rv.py"
    spec = importlib.util.spec_from_file_location("naive_rv", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


naive_rv = _load_naive()

METHODS = ["close_to_close", "parkinson", "garman_klass", "rogers_satchell", "yang_zhang"]
#: rows of NaN at the start of each segment, beyond window - 1: these methods need the previous close
LAG = {"close_to_close": 1, "parkinson": 0, "garman_klass": 0, "rogers_satchell": 0, "yang_zhang": 1}
#: which price fields each method reads
READS = {
    "close_to_close": {"close"},
    "parkinson": {"high", "low"},
    "garman_klass": {"open", "high", "low", "close"},
    "rogers_satchell": {"open", "high", "low", "close"},
    "yang_zhang": {"open", "high", "low", "close"},
}
FIELDS = ["open", "high", "low", "close"]
PPY = 252


def _seeds() -> list[int]:
    spec = os.environ.get("VOLENGINE_TEST_SEEDS", "0,11")
    return list(range(20)) if spec == "all" else [int(s) for s in spec.split(",")]


@pytest.fixture(params=_seeds())
def rng(request: pytest.FixtureRequest) -> np.random.Generator:
    return np.random.default_rng(request.param)


def _random_bars(rng: np.random.Generator, n: int, vol: float = 0.02) -> dict[str, np.ndarray]:
    """GBM-like OHLC bars: random-walk closes, an overnight gap to the open, high/low beyond both."""
    close = 50.0 * np.exp(np.cumsum(rng.normal(0.0, vol, n)))
    open_ = np.r_[50.0, close[:-1]] * np.exp(rng.normal(0.0, vol / 3, n))
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0.0, vol / 2, n)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0.0, vol / 2, n)))
    return {"open": open_, "high": high, "low": low, "close": close}


def _rv(bars: dict[str, np.ndarray], window: int, method: str, **kwargs: object) -> np.ndarray:
    return realized_vol(bars["open"], bars["high"], bars["low"], bars["close"], window, method, **kwargs)


def _naive(bars: dict[str, np.ndarray], window: int, method: str, **kwargs: object) -> np.ndarray:
    return naive_rv.realized_vol(bars["open"], bars["high"], bars["low"], bars["close"], window, method, **kwargs)


# --------------------------------------------------------------------------------------------- hand values

# five consistent bars (low <= open, close <= high); window 3
OPEN = [100.0, 102.0, 101.0, 103.0, 104.0]
HIGH = [103.0, 104.0, 103.0, 106.0, 107.0]
LOW = [99.0, 100.0, 99.0, 102.0, 102.0]
CLOSE = [102.0, 101.0, 102.0, 105.0, 103.0]
NAN = math.nan


def _var3(a: float, b: float, c: float) -> float:
    m = (a + b + c) / 3
    return ((a - m) ** 2 + (b - m) ** 2 + (c - m) ** 2) / 2


def _hand(method: str) -> np.ndarray:
    return realized_vol(OPEN, HIGH, LOW, CLOSE, 3, method)


def test_close_to_close_by_hand() -> None:
    r = [math.log(101 / 102), math.log(102 / 101), math.log(105 / 102), math.log(103 / 105)]
    expected = [
        NAN,
        NAN,
        NAN,
        math.sqrt(252 * _var3(r[0], r[1], r[2])),
        math.sqrt(252 * _var3(r[1], r[2], r[3])),
    ]
    assert_allclose(_hand("close_to_close"), expected, rtol=1e-13)
    # open/high/low are not needed for close_to_close
    assert_allclose(realized_vol(None, None, None, CLOSE, 3, "close_to_close"), expected, rtol=1e-13)


def test_parkinson_by_hand() -> None:
    hl2 = [math.log(103 / 99) ** 2, math.log(104 / 100) ** 2, math.log(103 / 99) ** 2]
    hl2 += [math.log(106 / 102) ** 2, math.log(107 / 102) ** 2]
    expected = [NAN, NAN] + [
        math.sqrt(252 * (hl2[t - 2] + hl2[t - 1] + hl2[t]) / 3 / (4 * math.log(2))) for t in (2, 3, 4)
    ]
    assert_allclose(_hand("parkinson"), expected, rtol=1e-13)


def test_garman_klass_by_hand() -> None:
    gk = [
        0.5 * math.log(HIGH[i] / LOW[i]) ** 2 - (2 * math.log(2) - 1) * math.log(CLOSE[i] / OPEN[i]) ** 2
        for i in range(5)
    ]
    # bar 0 spelled out once: 0.5 ln(103/99)^2 - (2 ln 2 - 1) ln(102/100)^2
    assert gk[0] == 0.5 * math.log(103 / 99) ** 2 - (2 * math.log(2) - 1) * math.log(1.02) ** 2
    expected = [NAN, NAN] + [math.sqrt(252 * (gk[t - 2] + gk[t - 1] + gk[t]) / 3) for t in (2, 3, 4)]
    assert_allclose(_hand("garman_klass"), expected, rtol=1e-13)


def _rs(i: int) -> float:
    return math.log(HIGH[i] / CLOSE[i]) * math.log(HIGH[i] / OPEN[i]) + math.log(LOW[i] / CLOSE[i]) * math.log(
        LOW[i] / OPEN[i]
    )


def test_rogers_satchell_by_hand() -> None:
    # bar 0: ln(103/102) ln(103/100) + ln(99/102) ln(99/100)
    assert _rs(0) == math.log(103 / 102) * math.log(1.03) + math.log(99 / 102) * math.log(0.99)
    expected = [NAN, NAN] + [math.sqrt(252 * (_rs(t - 2) + _rs(t - 1) + _rs(t)) / 3) for t in (2, 3, 4)]
    assert_allclose(_hand("rogers_satchell"), expected, rtol=1e-13)


def test_yang_zhang_by_hand() -> None:
    k = 0.34 / (1.34 + (3 + 1) / (3 - 1))  # n = 3: k = 0.34 / 3.34
    assert k == pytest.approx(0.34 / 3.34, rel=1e-15)
    overnight = [NAN] + [math.log(OPEN[i] / CLOSE[i - 1]) for i in range(1, 5)]  # ln(102/102) = 0, ln(101/101), ...
    intraday = [math.log(CLOSE[i] / OPEN[i]) for i in range(5)]

    def yz(t: int) -> float:
        var_o = _var3(overnight[t - 2], overnight[t - 1], overnight[t])
        var_c = _var3(intraday[t - 2], intraday[t - 1], intraday[t])
        var_rs = (_rs(t - 2) + _rs(t - 1) + _rs(t)) / 3
        return math.sqrt(252 * (var_o + k * var_c + (1 - k) * var_rs))

    expected = [NAN, NAN, NAN, yz(3), yz(4)]
    assert_allclose(_hand("yang_zhang"), expected, rtol=1e-13)


def test_hand_values_are_not_degenerate() -> None:
    """The hand series must tell the estimators apart, or the tests above could pass by accident."""
    last = [_hand(m)[-1] for m in METHODS]
    assert min(last) > 0.05
    assert len({round(v, 6) for v in last}) == len(METHODS)


# ----------------------------------------------------------------------------------------------- naive twin

SEGMENT_LENGTHS = [41, 3, 97, 12, 1, 60, 40]  # incl. shorter than every window, and whole multiples of some
SEGMENT_IDS = [5, 2, 9, 3, 8, 1, 4]  # unsorted: only contiguity matters


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("window", [2, 3, 5, 20, 40])
@pytest.mark.parametrize("has_bad_prices", [False, True])
def test_matches_naive_twin(rng: np.random.Generator, method: str, window: int, has_bad_prices: bool) -> None:
    n = sum(SEGMENT_LENGTHS)
    bars = _random_bars(rng, n)
    if has_bad_prices:
        for field in FIELDS:
            rows = rng.choice(n, size=3, replace=False)
            bars[field][rows] = rng.choice([np.nan, 0.0, -1.0, np.inf], size=3)
    segment = np.repeat(SEGMENT_IDS, SEGMENT_LENGTHS)
    got = _rv(bars, window, method, segment=segment)
    expected = _naive(bars, window, method, segment=segment)
    if window <= 5:
        assert np.isfinite(expected).sum() > n // 2
    # equal_nan (the default) also checks that the NaN positions agree
    assert_allclose(got, expected, rtol=1e-12, atol=0)


@pytest.mark.parametrize("method", ["close_to_close", "yang_zhang"])
@pytest.mark.parametrize("window", [5, 21, 60])
def test_variance_stays_exact_next_to_a_jump(method: str, window: int) -> None:
    """A strong trend with tiny noise next to a 150 % jump: the shifted-sum variance must fall back.

    Without the exact two-pass fallback the close_to_close error here is ~1e-9 (window 5) to ~5e-12.
    """
    rng = np.random.default_rng(3)
    n = 300
    r = 0.01 + 1e-4 * rng.standard_normal(n)
    r[150] = 1.5
    close = 100.0 * np.exp(np.cumsum(r))
    open_ = np.r_[100.0, close[:-1]] * np.exp(1e-7 * rng.standard_normal(n))
    bars = {"open": open_, "high": np.maximum(open_, close) * 1.001, "low": np.minimum(open_, close) * 0.999}
    bars["close"] = close
    assert_allclose(_rv(bars, window, method), _naive(bars, window, method), rtol=1e-12, atol=0)


# --------------------------------------------------------------------------------------- segments and NaN


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("window", [2, 7, 20])
def test_segments_equal_separate_runs(rng: np.random.Generator, method: str, window: int) -> None:
    lengths = [30, 5, 64, 21]
    bars = _random_bars(rng, sum(lengths))
    segment = np.repeat([3, 1, 2, 0], lengths)
    whole = _rv(bars, window, method, segment=segment)
    bounds = np.cumsum([0, *lengths])
    parts = [_rv({f: v[a:b] for f, v in bars.items()}, window, method) for a, b in itertools.pairwise(bounds)]
    assert_allclose(whole, np.concatenate(parts), rtol=1e-14, atol=0)
    # and ignoring the segments would give something else (the windows would cross the boundaries)
    assert not np.allclose(whole, _rv(bars, window, method), equal_nan=True)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("window", [2, 5, 20])
def test_nan_prefix_length(rng: np.random.Generator, method: str, window: int) -> None:
    lengths = [window - 1, window, window + 1, 3 * window, 1]
    bars = _random_bars(rng, sum(lengths))
    out = _rv(bars, window, method, segment=np.repeat(np.arange(len(lengths)), lengths))
    prefix = window - 1 + LAG[method]
    start = 0
    for length in lengths:
        seg = out[start : start + length]
        assert np.isnan(seg[:prefix]).all()
        assert np.isfinite(seg[prefix:]).all()
        assert (seg[prefix:] > 0).all()
        start += length


def _poisoned_rows(method: str, field: str, j: int, window: int, seg_end: int) -> set[int]:
    """Rows whose window reads ``field`` at row ``j`` (the segment of ``j`` ends before ``seg_end``)."""
    if field not in READS[method]:
        return set()
    last = j + window - 1
    if field == "close" and LAG[method]:
        last += 1  # close j is also the previous close of bar j + 1
    return set(range(j, min(last, seg_end - 1) + 1))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("bad", [np.nan, 0.0, -2.0, np.inf])
@pytest.mark.parametrize("j", [37, 59, 60, 95])  # middle, last row of segment 0, first of segment 1, near end
def test_bad_price_poisons_exactly_its_windows(method: str, field: str, bad: float, j: int) -> None:
    window = 6
    lengths = [60, 40]
    bars = _random_bars(np.random.default_rng(5), sum(lengths))
    segment = np.repeat([0, 1], lengths)
    clean = _rv(bars, window, method, segment=segment)
    bars[field][j] = bad
    dirty = _rv(bars, window, method, segment=segment)
    seg_end = 60 if j < 60 else 100
    poisoned = _poisoned_rows(method, field, j, window, seg_end)
    was_nan = np.isnan(clean)
    became_nan = {int(i) for i in np.flatnonzero(np.isnan(dirty) & ~was_nan)}
    assert became_nan == {i for i in poisoned if not was_nan[i]}
    assert poisoned <= set(np.flatnonzero(np.isnan(dirty)).tolist())
    keep = ~np.isnan(dirty)
    assert_allclose(dirty[keep], clean[keep], rtol=1e-13, atol=0)


def test_inconsistent_bars_with_negative_variance_give_nan() -> None:
    # high = low below the close: Garman-Klass's -(2 ln 2 - 1) ln(C/O)^2 dominates, the variance is < 0
    o = [100.0, 100.0, 100.0]
    c = [110.0, 110.0, 110.0]
    hl = [100.5, 100.5, 100.5]
    out = realized_vol(o, hl, hl, c, 2, "garman_klass")
    assert np.isnan(out).all()


def test_window_longer_than_history_and_empty_input() -> None:
    assert np.isnan(realized_vol(OPEN, HIGH, LOW, CLOSE, 6, "parkinson")).all()
    assert np.isnan(realized_vol(OPEN, HIGH, LOW, CLOSE, 5, "yang_zhang")).all()
    assert realized_vol(OPEN, HIGH, LOW, CLOSE, 5, "parkinson")[-1] > 0
    # a window far beyond the data must not try to allocate window-sized scratch
    assert np.isnan(realized_vol(OPEN, HIGH, LOW, CLOSE, 10**12, "yang_zhang")).all()
    empty = realized_vol([], [], [], [], 5)
    assert empty.shape == (0,)
    assert empty.dtype == np.float64


# ------------------------------------------------------------------------------------- estimator sanity


def _gbm_bars(
    rng: np.random.Generator, n_bars: int, steps: int, sigma: float, overnight_frac: float = 0.0
) -> dict[str, np.ndarray]:
    """Driftless GBM bars with exact continuous-path highs and lows.

    Each bar is ``steps`` Gaussian log-increments; within each step the maximum (minimum) of the Brownian
    bridge between its end points is drawn exactly, ``(a + b +- sqrt((b - a)^2 - 2 s^2 ln U)) / 2``, so the
    bars carry no discretisation bias in high/low (a plain max over 50 points would bias the range
    estimators ~10 % low). ``overnight_frac`` of the daily variance falls between close and next open.
    """
    var_day = sigma**2 / PPY
    s = math.sqrt(var_day * (1.0 - overnight_frac) / steps)
    path = np.cumsum(rng.normal(0.0, s, (n_bars, steps)), axis=1)
    gap = rng.normal(0.0, math.sqrt(var_day * overnight_frac), n_bars)
    x_open = np.cumsum(gap + np.r_[0.0, path[:-1, -1]])
    a = x_open[:, None] + np.c_[np.zeros(n_bars), path[:, :-1]]
    b = x_open[:, None] + path
    spread = np.sqrt((b - a) ** 2 - 2.0 * s**2 * np.log(rng.uniform(size=(2, n_bars, steps))))
    high = ((a + b + spread[0]) / 2).max(axis=1)
    low = ((a + b - spread[1]) / 2).min(axis=1)
    return {
        "open": 100 * np.exp(x_open),
        "high": 100 * np.exp(high),
        "low": 100 * np.exp(low),
        "close": 100 * np.exp(b[:, -1]),
    }


def _mean_vol(bars: dict[str, np.ndarray], method: str) -> float:
    vol = _rv(bars, 20, method)
    return math.sqrt(np.nanmean(vol**2))  # mean variance, so no Jensen bias from the square root


@pytest.mark.parametrize("method", METHODS)
def test_estimators_recover_known_sigma(rng: np.random.Generator, method: str) -> None:
    sigma = 0.25
    bars = _gbm_bars(rng, 4000, 50, sigma)
    # worst over seeds 0-19: 2.4 % for close_to_close (the least efficient), <= 1.1 % for the others
    assert _mean_vol(bars, method) == pytest.approx(sigma, rel=0.04)


@pytest.mark.parametrize("method", METHODS)
def test_overnight_gaps_seen_only_by_close_to_close_and_yang_zhang(rng: np.random.Generator, method: str) -> None:
    sigma, overnight_frac = 0.25, 0.3
    bars = _gbm_bars(rng, 4000, 50, sigma, overnight_frac)
    sees_gaps = LAG[method] == 1
    target = sigma if sees_gaps else sigma * math.sqrt(1.0 - overnight_frac)
    assert _mean_vol(bars, method) == pytest.approx(target, rel=0.04)


# --------------------------------------------------------------------------------- invariances and API


@pytest.mark.parametrize("method", METHODS)
def test_scale_invariance(rng: np.random.Generator, method: str) -> None:
    bars = _random_bars(rng, 150)
    scaled = {f: 37.3 * v for f, v in bars.items()}
    base = _rv(bars, 10, method)
    assert_allclose(_rv(scaled, 10, method), base, rtol=1e-12, atol=0)
    assert np.isfinite(base).sum() > 100


@pytest.mark.parametrize("method", METHODS)
def test_periods_per_year_scales_by_its_square_root(rng: np.random.Generator, method: str) -> None:
    bars = _random_bars(rng, 80)
    assert_allclose(_rv(bars, 10, method, periods_per_year=52), _rv(bars, 10, method) * math.sqrt(52 / 252), rtol=1e-14)


def test_method_accepts_enum_and_any_case() -> None:
    base = realized_vol(OPEN, HIGH, LOW, CLOSE, 3, "rogers_satchell")
    assert_allclose(realized_vol(OPEN, HIGH, LOW, CLOSE, 3, RVMethod.ROGERS_SATCHELL), base, rtol=0)
    assert_allclose(realized_vol(OPEN, HIGH, LOW, CLOSE, 3, "Rogers_Satchell"), base, rtol=0)
    assert_allclose(
        realized_vol(OPEN, HIGH, LOW, CLOSE, 3), realized_vol(OPEN, HIGH, LOW, CLOSE, 3, "yang_zhang"), rtol=0
    )


def test_out_is_filled_and_returned_and_may_alias_an_input(rng: np.random.Generator) -> None:
    bars = _random_bars(rng, 50)
    expected = _rv(bars, 5, "yang_zhang")
    out = np.full(50, -7.0)
    assert _rv(bars, 5, "yang_zhang", out=out) is out
    assert_allclose(out, expected, rtol=0)
    aliased = dict(bars, close=bars["close"].copy())
    _rv(aliased, 5, "yang_zhang", out=aliased["close"])
    assert_allclose(aliased["close"], expected, rtol=0)


def _good_args() -> dict[str, object]:
    return {"open": OPEN, "high": HIGH, "low": LOW, "close": CLOSE, "window": 3, "method": "garman_klass"}


BAD_INPUTS = [
    ({"high": HIGH[:4]}, r"'high' must have the length of 'close' \(5\); got 4"),
    ({"close": np.ones((5, 1))}, r"'close' must be 1-D"),
    ({"open": ["a", "b", "c", "d", "e"]}, r"'open' cannot be converted to float64"),
    ({"low": None}, r"'low' is required for method 'garman_klass'"),
    ({"open": None, "method": "yang_zhang"}, r"'open' is required for method 'yang_zhang'"),
    ({"window": 1}, r"'window' must be >= 2"),
    ({"window": 2.5}, r"'window' must be an integer"),
    ({"window": True}, r"'window' must be an integer"),
    ({"periods_per_year": 0}, r"'periods_per_year' must be a finite number > 0; got 0"),
    ({"periods_per_year": -252}, r"'periods_per_year'"),
    ({"periods_per_year": math.nan}, r"'periods_per_year'"),
    ({"periods_per_year": math.inf}, r"'periods_per_year'"),
    ({"periods_per_year": "252"}, r"'periods_per_year'"),
    ({"method": "garman"}, r"'method' must be one of 'close_to_close', 'parkinson', 'garman_klass', "),
    ({"method": 2}, r"'method' must be one of .*'yang_zhang'.* got 2"),
    ({"segment": [0, 0, 1, 1, 0]}, r"'segment' .* id 0 reappears at row 4 .* rows 0\.\.1"),
    ({"segment": [0, 1, 1, 2, 1]}, r"id 1 reappears at row 4"),
    ({"segment": [0, 0, 1, 1]}, r"'segment' must be 1-D with one id per row \(length 5\)"),
    ({"segment": [0.0, 0.0, 1.0, 1.0, 1.0]}, r"'segment' must be an integer array"),
    ({"out": np.empty(5, dtype=np.float32)}, r"'out' must be a writable C-contiguous float64"),
    ({"out": np.empty(10)[::2]}, r"'out' must be a writable C-contiguous float64"),
    ({"out": np.empty(4)}, r"'out' must have shape \(5,\)"),
    ({"out": [0.0] * 5}, r"'out' must be a numpy.ndarray"),
]


@pytest.mark.parametrize(("patch", "match"), BAD_INPUTS)
def test_bad_inputs_raise_naming_the_argument(patch: dict[str, object], match: str) -> None:
    kwargs = {**_good_args(), **patch}
    with pytest.raises(KernelInputError, match=match):
        realized_vol(**kwargs)


def test_read_only_out_is_rejected() -> None:
    out = np.empty(5)
    out.flags.writeable = False
    with pytest.raises(KernelInputError, match=r"'out' .* writable=False"):
        realized_vol(OPEN, HIGH, LOW, CLOSE, 3, out=out)


def test_kernel_compiles_once(rng: np.random.Generator) -> None:
    bars = _random_bars(rng, 40)
    read_only = {f: v.copy() for f, v in bars.items()}
    for v in read_only.values():
        v.flags.writeable = False
    strided = {f: np.repeat(v, 2)[::2] for f, v in bars.items()}
    as_lists = {f: v.tolist() for f, v in bars.items()}
    as_int = {f: np.round(v * 100).astype(np.int64) for f, v in bars.items()}
    segment32 = np.repeat(np.array([1, 2], dtype=np.int32), 20)
    for method in METHODS:
        for variant in (bars, read_only, strided, as_lists, as_int):
            _rv(variant, 4, method)
            _rv(variant, 4, method, segment=segment32, out=np.empty(40), periods_per_year=365.25)
    realized_vol(None, None, None, bars["close"], 3, RVMethod.CLOSE_TO_CLOSE)
    for kernel in KERNELS:
        assert len(kernel.signatures) == 1, (kernel.__name__, kernel.signatures)


@pytest.mark.parametrize("method", METHODS)
def test_a_history_cut_anywhere_gives_bit_identical_rows(rng: np.random.Generator, method: str) -> None:
    """No look-ahead, to the last bit: the value on day d never depends on bars after d."""
    n, window = 700, 21
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = close * np.exp(rng.normal(0, 0.003, n))
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0, 0.004, n)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0, 0.004, n)))
    close[333] = np.nan
    full = realized_vol(open_, high, low, close, window, method=method)
    for d in range(window, n, 7):
        cut = realized_vol(open_[: d + 1], high[: d + 1], low[: d + 1], close[: d + 1], window, method=method)
        np.testing.assert_array_equal(cut, full[: d + 1])
