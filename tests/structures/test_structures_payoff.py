"""Expiry payoff extremes against the closed forms of seed-spec §2.7 and a dense-grid brute force; the
calendar model against an independent Black-76."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from naive_structures import grid_payoff_extremes
from numpy.testing import assert_allclose

from volengine.errors import KernelInputError
from volengine.structures import PayoffStatus, calendar_model, expiry_payoff, payoff_extremes


def _one(strikes: list[float], calls: list[bool], qty: list[float], entry: float) -> dict[str, float]:
    out = payoff_extremes([0, len(strikes)], strikes, calls, qty, [entry])
    return {k: float(v[0]) for k, v in out.items()}


# (legs as (strike, is_call, qty), entry, max_loss, max_profit, breakeven_low, breakeven_high)
CLOSED_FORMS = {
    "put credit 100/95 for 1.20": ([(100, False, -1), (95, False, 1)], 1.2, 3.8, 1.2, 98.8, math.nan),
    "call credit 100/105 for 1.20": ([(100, True, -1), (105, True, 1)], 1.2, 3.8, 1.2, math.nan, 101.2),
    "call debit 100/105 for 2.10": ([(100, True, 1), (105, True, -1)], -2.1, 2.1, 2.9, 102.1, math.nan),
    "put debit 100/95 for 2.10": ([(100, False, 1), (95, False, -1)], -2.1, 2.1, 2.9, math.nan, 97.9),
    "condor 90/95/105/110 for 1.50": (
        [(90, False, 1), (95, False, -1), (105, True, -1), (110, True, 1)], 1.5, 3.5, 1.5, 93.5, 106.5),
    "unequal condor 85/95/105/110 for 1.50": (
        [(85, False, 1), (95, False, -1), (105, True, -1), (110, True, 1)], 1.5, 8.5, 1.5, 93.5, 106.5),
    "iron butterfly 95/100/100/105 for 3.10": (
        [(95, False, 1), (100, False, -1), (100, True, -1), (105, True, 1)], 3.1, 1.9, 3.1, 96.9, 103.1),
    "call butterfly 95/100/105 for 1.40": ([(95, True, 1), (100, True, -2), (105, True, 1)], -1.4, 1.4, 3.6,
                                           96.4, 103.6),
    # a wider upper wing loses below the body's peak: -debit left, -(10 - 5) - debit right
    "unequal call butterfly 95/100/110 for 0.90": ([(95, True, 1), (100, True, -2), (110, True, 1)], -0.9, 5.9,
                                                   4.1, 95.9, 104.1),
    "unequal put butterfly 90/100/105 for 0.80": ([(90, False, 1), (100, False, -2), (105, False, 1)], -0.8, 5.8,
                                                  4.2, 95.8, 104.2),
    "cash-secured put 100 for 2": ([(100, False, -1)], 2.0, 98.0, 2.0, 98.0, math.nan),
}  # fmt: skip


@pytest.mark.parametrize("name", list(CLOSED_FORMS))
def test_payoff_extremes_match_the_closed_forms(name: str) -> None:
    legs, entry, max_loss, max_profit, low, high = CLOSED_FORMS[name]
    k, c, q = (list(x) for x in zip(*legs, strict=True))
    got = _one([float(v) for v in k], c, [float(v) for v in q], entry)
    assert got["status"] == PayoffStatus.OK
    assert_allclose([got["max_loss"], got["max_profit"], got["breakeven_low"], got["breakeven_high"]],
                    [max_loss, max_profit, low, high], rtol=0, atol=1e-12)  # fmt: skip


def test_unbounded_structures_are_flagged() -> None:
    naked_call = _one([100.0], [True], [-1.0], 2.0)
    assert naked_call["status"] == PayoffStatus.UNBOUNDED_LOSS
    assert naked_call["max_loss"] == math.inf
    assert naked_call["breakeven_high"] == 102.0
    ratio = _one([100.0, 105.0], [True, True], [1.0, -2.0], 0.5)  # call ratio spread: short more than long
    assert ratio["status"] == PayoffStatus.UNBOUNDED_LOSS
    long_call = _one([100.0], [True], [1.0], -2.0)
    assert long_call["status"] == PayoffStatus.OK
    assert long_call["max_profit"] == math.inf
    assert long_call["max_loss"] == 2.0
    assert long_call["breakeven_low"] == 102.0
    assert math.isnan(long_call["breakeven_high"])


def test_groups_and_degenerate_input() -> None:
    out = payoff_extremes([0, 2, 2, 3], [100.0, 95.0, -5.0], [False, False, True], [-1.0, 1.0, 1.0], [1.2, 0.0, 1.0])
    assert out["status"].tolist() == [PayoffStatus.OK, PayoffStatus.EMPTY, PayoffStatus.BAD_INPUT]
    assert_allclose(out["max_loss"], [3.8, np.nan, np.nan], atol=1e-12)
    with pytest.raises(KernelInputError, match="offsets"):
        payoff_extremes([0, 3], [100.0, 95.0], [False, False], [-1.0, 1.0], [1.0])
    with pytest.raises(KernelInputError, match="entry"):
        payoff_extremes([0, 2], [100.0, 95.0], [False, False], [-1.0, 1.0], [1.0, 2.0])


@st.composite
def leg_sets(draw: st.DrawFn) -> tuple[list[float], list[bool], list[float], float]:
    """1-4 legs on a $5 grid from 50 to 150, quantities ±1/±2, any entry in [-10, 10] points."""
    n = draw(st.integers(1, 4))
    strikes = draw(st.lists(st.sampled_from([float(k) for k in range(50, 155, 5)]), min_size=n, max_size=n))
    calls = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    qty = draw(st.lists(st.sampled_from([-2.0, -1.0, 1.0, 2.0]), min_size=n, max_size=n))
    entry = draw(st.floats(-10.0, 10.0).map(lambda x: round(x, 2)))
    return strikes, calls, qty, entry


@given(leg_sets())
def test_payoff_extremes_equal_a_dense_grid_brute_force(
    legs: tuple[list[float], list[bool], list[float], float],
) -> None:
    strikes, calls, qty, entry = legs
    got = _one(strikes, calls, qty, entry)
    ref = grid_payoff_extremes(strikes, calls, qty, entry)
    assert (got["status"] == PayoffStatus.UNBOUNDED_LOSS) == ref["unbounded_loss"]
    # defined risk: a finite max loss exactly when no net short call remains
    assert math.isfinite(got["max_loss"]) == (sum(q for q, c in zip(qty, calls, strict=True) if c) >= 0)
    for name in ("max_loss", "max_profit", "breakeven_low", "breakeven_high"):
        assert_allclose(got[name], ref[name], rtol=0, atol=1e-9, err_msg=name)
    for name in ("breakeven_low", "breakeven_high"):
        if math.isfinite(got[name]):
            assert abs(expiry_payoff(strikes, calls, qty, entry, [got[name]])[0]) <= 1e-9


def test_expiry_payoff_on_a_grid() -> None:
    spots = np.array([80.0, 92.5, 100.0, 107.5, 120.0])
    pay = expiry_payoff([90.0, 95.0, 105.0, 110.0], [False, False, True, True], [1, -1, -1, 1], 1.5, spots)
    assert_allclose(pay, [-3.5, -1.0, 1.5, -1.0, -3.5], atol=1e-12)


def _black(fwd: float, k: float, t: float, disc: float, vol: float, *, call: bool) -> float:
    sd = vol * math.sqrt(t)
    d1 = (math.log(fwd / k) + 0.5 * sd * sd) / sd
    n = lambda x: 0.5 * math.erfc(-x / math.sqrt(2.0))  # noqa: E731
    if call:
        return disc * (fwd * n(d1) - k * n(d1 - sd))
    return disc * (k * n(sd - d1) - fwd * n(-d1))


@pytest.mark.parametrize("call", [True, False])
def test_calendar_model_against_an_independent_black(call: bool) -> None:
    k, tf, tb, r, q, vol, spot, debit = 100.0, 10 / 365, 31 / 365, 0.04, 0.01, 0.22, 100.4, 1.2
    ff, fb = spot * math.exp((r - q) * tf), spot * math.exp((r - q) * tb)
    df, db = math.exp(-r * tf), math.exp(-r * tb)
    got = calendar_model([k], [call], [tf], [tb], [ff], [fb], [df], [db], [vol], [debit])

    def value(s: float) -> float:
        back = _black(s * math.exp((r - q) * (tb - tf)), k, tb - tf, math.exp(-r * (tb - tf)), vol, call=call)
        return back - (max(s - k, 0.0) if call else max(k - s, 0.0)) - debit

    assert_allclose(got["max_profit"][0], value(k), rtol=1e-12)
    low, high = got["breakeven_low"][0], got["breakeven_high"][0]
    assert low < k < high
    assert abs(value(low)) < 1e-9
    assert abs(value(high)) < 1e-9
    unprofitable = calendar_model([k], [call], [tf], [tb], [ff], [fb], [df], [db], [vol], [50.0])
    assert unprofitable["max_profit"][0] < 0
    assert np.isnan(unprofitable["breakeven_low"][0])


@pytest.mark.parametrize("call", [True, False])
def test_diagonal_model_against_an_independent_black(call: bool) -> None:
    # the long back leg 5 in the money of the short front one: V peaks at the front strike
    k, tf, tb, r, q, vol, spot, debit = 100.0, 10 / 365, 31 / 365, 0.04, 0.01, 0.22, 100.4, 4.6
    kb = k - 5.0 if call else k + 5.0
    ff, fb = spot * math.exp((r - q) * tf), spot * math.exp((r - q) * tb)
    df, db = math.exp(-r * tf), math.exp(-r * tb)
    got = calendar_model([k], [call], [tf], [tb], [ff], [fb], [df], [db], [vol], [debit], back_strike=[kb])

    def value(s: float) -> float:
        back = _black(s * math.exp((r - q) * (tb - tf)), kb, tb - tf, math.exp(-r * (tb - tf)), vol, call=call)
        return back - (max(s - k, 0.0) if call else max(k - s, 0.0)) - debit

    assert_allclose(got["max_profit"][0], value(k), rtol=1e-12)
    grid = np.linspace(60.0, 140.0, 8001)
    assert max(value(s) for s in grid) <= value(k) + 1e-12
    low, high = got["breakeven_low"][0], got["breakeven_high"][0]
    # towards the long strike the back leg keeps its intrinsic value: V stays near width - debit > 0 there,
    # so only the side away from it has a breakeven (the other is NaN)
    far = low if call else high
    assert abs(value(far)) < 1e-9
    assert np.isnan(high if call else low)
