"""Tests of ``volengine.kernels.surface`` on Black-76 chains with known forward, discount and smile."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from volengine.errors import KernelInputError
from volengine.kernels import black_price, bs_greeks
from volengine.kernels.surface import (
    PARITY_FIELDS,
    SUMMARY_FIELDS,
    chain_summary,
    parity_forwards,
    term_interp,
)

F, D, T, SPOT = 101.3, 0.99, 0.5, 100.2


def _smile(k: np.ndarray) -> np.ndarray:
    return 0.2 - 0.1 * np.log(k / F)


def _chain(strikes: np.ndarray, vol: np.ndarray | float | None = None) -> dict[str, np.ndarray]:
    """Rows sorted by strike, call before put, Black prices as mids (bids 1 % under)."""
    k = np.repeat(strikes, 2)
    is_call = np.tile([1, 0], strikes.size).astype(np.int8)
    v = _smile(k) if vol is None else np.broadcast_to(vol, k.shape).astype(float)
    mid = black_price(F, k, T, D, v, is_call.astype(bool))
    rate = -math.log(D) / T
    div = rate - math.log(F / SPOT) / T
    delta = bs_greeks(SPOT, k, T, rate, div, v, is_call.astype(bool)).delta
    n = k.size
    return {"k": k, "c": is_call, "mid": mid, "bid": 0.99 * mid, "iv": v, "delta": delta, "n": n}


def _summary(ch: dict[str, np.ndarray]) -> dict[str, float]:
    n = ch["n"]
    one = np.ones(n)
    off = np.array([0, n], dtype=np.int64)
    res = chain_summary(off, ch["k"], ch["c"], ch["mid"], ch["bid"], ch["iv"], ch["delta"], one * SPOT, one * F,
                        one * T, one * D)  # fmt: skip
    return dict(zip(SUMMARY_FIELDS, res[0], strict=True))


def test_parity_forward_and_discount_are_exact_on_a_black_chain() -> None:
    ch = _chain(np.arange(80.0, 121.0))
    one = np.ones(ch["n"])
    res = parity_forwards(np.array([0, ch["n"]]), ch["k"], ch["c"], ch["mid"], one * SPOT, one * D, one * T)
    got = dict(zip(PARITY_FIELDS, res[0], strict=True))
    assert_allclose(got["parity_forward"], F, rtol=1e-12)
    assert_allclose(got["parity_discount"], D, rtol=1e-10)
    assert got["parity_pairs"] == 41
    assert got["parity_fit_pairs"] == 6


def test_one_bad_quote_near_the_money_does_not_move_the_forward() -> None:
    ch = _chain(np.arange(80.0, 121.0))
    j = int(np.flatnonzero((ch["k"] == 100.0) & (ch["c"] == 1))[0])
    ch["mid"][j] += 3.0  # a stale call quote at the strike nearest spot
    one = np.ones(ch["n"])
    res = parity_forwards(np.array([0, ch["n"]]), ch["k"], ch["c"], ch["mid"], one * SPOT, one * D, one * T)
    assert_allclose(res[0, 0], F, rtol=1e-12)  # median of 6 with one outlier: the two middle values are exact
    assert_allclose(res[0, 2], D, rtol=1e-10)  # Theil-Sen slope ignores the outlier too


def test_pairs_need_both_mids_and_an_empty_chain_is_nan() -> None:
    ch = _chain(np.array([100.0, 101.0]))
    ch["mid"][1] = np.nan  # put at 100 missing: only the 101 pair remains
    one = np.ones(ch["n"])
    res = parity_forwards(np.array([0, 2, 4]), ch["k"], ch["c"], ch["mid"], one * SPOT, one * D, one * T)
    assert np.isnan(res[0, 0])
    assert res[0, 1] == 0
    assert_allclose(res[1, 0], F, rtol=1e-12)
    assert np.isnan(res[1, 2])  # one pair cannot fit a slope


def test_atm_forward_and_wing_summaries() -> None:
    strikes = np.arange(80.0, 121.0)
    ch = _chain(strikes)
    got = _summary(ch)
    assert got["atm_strike"] == 100.0
    assert_allclose(got["atm_iv"], _smile(np.array([100.0]))[0], rtol=1e-14)
    # OTM smile interpolated linearly in log strike between 101 and 102 (the smile is linear in log K: exact)
    assert_allclose(got["atm_iv_fwd"], 0.2, rtol=1e-12)
    pdel, cdel = ch["delta"][ch["c"] == 0], ch["delta"][ch["c"] == 1]
    jp, jc = np.argmin(np.abs(pdel + 0.25)), np.argmin(np.abs(cdel - 0.25))
    assert got["put_strike_25d"] == strikes[jp]
    assert got["call_strike_25d"] == strikes[jc]
    assert_allclose([got["put_iv_25d"], got["call_iv_25d"]], _smile(strikes[[jp, jc]]), rtol=1e-14)
    # delta-interpolated IVs lie between the neighbouring listed IVs and reproduce the skew's sign
    assert got["put_iv_25d_interp"] > got["atm_iv_fwd"] > got["call_iv_25d_interp"]
    assert got["n_strikes"] == strikes.size


def test_model_free_variance_recovers_a_flat_black_variance() -> None:
    ch = _chain(np.arange(20.0, 400.0, 0.5), vol=0.2)
    assert_allclose(_summary(ch)["mfiv_var"], 0.04, rtol=2e-3)


def test_model_free_variance_stops_after_two_zero_bids() -> None:
    ch = _chain(np.arange(20.0, 400.0, 0.5), vol=0.2)
    far = (ch["k"] < 60.0) & (ch["c"] == 0)
    ch["bid"][far & (ch["k"] >= 58.0)] = 0.0  # two zero-bid puts at 58 and 58.5 (plus 59, 59.5): the walk ends
    base = _summary(_chain(np.arange(20.0, 400.0, 0.5), vol=0.2))["mfiv_var"]
    cut = _summary(ch)["mfiv_var"]
    assert cut < base  # the tail below 60 no longer counts
    assert_allclose(cut, base, rtol=5e-3)  # ... and it was small


def test_term_interpolation_is_linear_in_total_variance_and_flat_outside() -> None:
    off = np.array([0, 2], dtype=np.int64)
    t = np.array([0.1, 0.3])
    var = np.array([0.04, 0.09])
    out = term_interp(off, t, var, np.array([0.05, 0.2, 0.5]))
    # w(0.2) = (0.1 * 0.04 + 0.3 * 0.09) / 2 = 0.0155 -> 0.0775 a year
    assert_allclose(out[0], [0.04, 0.0775, 0.09], rtol=1e-14)
    lin = term_interp(off, t, np.array([-0.02, -0.04]), np.array([0.2]), total=False)
    assert_allclose(lin[0], [-0.03], rtol=1e-14)


def test_offsets_are_validated() -> None:
    with pytest.raises(KernelInputError, match="offsets"):
        term_interp(np.array([0, 5]), np.ones(3), np.ones(3), np.array([0.1]))
