"""The branch-free maths behind the vectorised pricing paths, and the agreement of both paths."""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest
from numba import njit
from numpy.testing import assert_allclose

from volengine.kernels import black_price, bs_greeks, bs_price
from volengine.kernels._simd import _erfc_nb, _exp_nb, _log_nb

mp.mp.dps = 40


@njit
def _apply(kind: int, x: np.ndarray) -> np.ndarray:
    out = np.empty_like(x)
    for i in range(x.size):
        if kind == 0:
            out[i] = _erfc_nb(x[i])
        elif kind == 1:
            out[i] = _exp_nb(x[i])
        else:
            out[i] = _log_nb(x[i])
    return out


def _rel(ours: np.ndarray, ref: list) -> np.ndarray:
    r = np.array([float(v) for v in ref])
    return np.abs(ours - r) / np.abs(r)


def test_erfc_within_a_few_ulps_of_mpmath() -> None:
    rng = np.random.default_rng(11)
    x = np.concatenate([rng.uniform(-6.0, 26.0, 3000), rng.uniform(-1e-3, 1e-3, 200), np.linspace(-8, 26.5, 800)])
    rel = _rel(_apply(0, x), [mp.erfc(mp.mpf(v)) for v in x])
    assert rel.max() <= 8 * np.finfo(float).eps, f"worst {rel.max():.3g} at {x[rel.argmax()]}"


def test_erfc_tails_and_nan() -> None:
    out = _apply(0, np.array([27.0, 40.0, 1e300, np.inf, -np.inf, -40.0, np.nan, 0.0]))
    # erfc(27) ~ 1e-318 is subnormal: gradual underflow with a few digits left, not zero or garbage
    assert_allclose(out[0], float(mp.erfc(27)), rtol=1e-4)
    assert (out[1:4] == 0.0).all()
    assert (out[4:6] == 2.0).all()
    assert np.isnan(out[6])
    assert abs(out[7] - 1.0) <= 2 * np.finfo(float).eps


def test_exp_and_log_within_one_or_two_ulps() -> None:
    rng = np.random.default_rng(12)
    x = rng.uniform(-700.0, 700.0, 3000)
    assert _rel(_apply(1, x), [mp.exp(mp.mpf(v)) for v in x]).max() <= 2 * np.finfo(float).eps
    y = np.concatenate([np.exp(rng.uniform(-700, 700, 2000)), rng.uniform(0.5, 2.0, 1000)])
    ref = [mp.log(mp.mpf(v)) for v in y]
    err = np.abs(_apply(2, y) - np.array([float(v) for v in ref]))
    assert (err <= 2 * np.finfo(float).eps * np.maximum(np.abs(np.array([float(v) for v in ref])), 1.0)).all()


def test_vector_path_agrees_with_broadcast_path(rng: np.random.Generator) -> None:
    n = 5000
    strike = rng.uniform(40, 200, n)
    t = np.exp(rng.uniform(np.log(1 / 365), np.log(5), n))
    vol = rng.uniform(0.01, 3.0, n)
    is_call = rng.random(n) < 0.5
    full = bs_price(np.full(n, 100.0), strike, t, np.full(n, 0.03), np.full(n, 0.01), vol, is_call)
    bcast = bs_price(100.0, strike, t, 0.03, 0.01, vol, is_call)  # scalars -> the generic kernel
    assert_allclose(full, bcast, rtol=5e-13, atol=1e-13)
    gf = bs_greeks(np.full(n, 100.0), strike, t, np.full(n, 0.03), np.full(n, 0.01), vol, is_call).as_dict()
    gb = bs_greeks(100.0, strike, t, 0.03, 0.01, vol, is_call).as_dict()
    for name in gf:
        scale = np.abs(gb[name]).max()
        assert_allclose(gf[name], gb[name], rtol=1e-11, atol=1e-13 * scale, err_msg=name)
    bf = black_price(np.full(n, 101.0), strike, t, np.full(n, 0.97), vol, is_call)
    bb = black_price(101.0, strike, t, 0.97, vol, is_call)
    assert_allclose(bf, bb, rtol=5e-13, atol=1e-13)


@pytest.mark.parametrize("func", ["price", "greeks"])
def test_edge_rows_inside_full_arrays_match_the_scalar_rules(func: str) -> None:
    # every special row, mixed into full-length arrays, must come out exactly as computed one by one
    spot = np.array([100.0, 100.0, 100.0, np.nan, -5.0, 100.0, 100.0, np.inf, 100.0, 100.0])
    strike = np.array([90.0, 110.0, 95.0, 100.0, 100.0, 0.0, 100.0, 100.0, 100.0, 100.0])
    t = np.array([0.0, -1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 2.0])
    vol = np.array([0.2, 0.2, 0.0, 0.2, 0.2, 0.2, -0.1, 0.2, 0.2, 0.3])
    rate = np.array([0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 800.0, 0.02])
    is_call = np.array([True, False, True, True, True, True, True, True, True, False])
    div = np.zeros(10)
    if func == "price":
        full = bs_price(spot, strike, t, rate, div, vol, is_call)
        one = [bs_price(spot[i], strike[i], t[i], rate[i], 0.0, vol[i], is_call[i]) for i in range(10)]
        assert_allclose(full, one, rtol=1e-13, equal_nan=True)
        assert full[0] == 10.0
        assert full[1] == 10.0
        assert np.isnan(full[[3, 4, 5, 6, 7]]).all()
    else:
        full = bs_greeks(spot, strike, t, rate, div, vol, is_call).data
        for i in range(10):
            one = bs_greeks(spot[i], strike[i], t[i], rate[i], 0.0, vol[i], is_call[i]).data
            assert_allclose(full[:, i], one, rtol=1e-12, atol=1e-15, equal_nan=True, err_msg=str(i))
