"""Hypothesis properties of the pricing and IV kernels: parity, bounds, monotonicity, IV round trip and
NaN exactly on ill-posed rows."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import assume, given
from hypothesis import strategies as st
from strategies import expiries, options, vols

from volengine.kernels import black_price, bs_greeks, bs_price, implied_vol


def _p(o: dict, **kw: float | bool) -> float:
    a = o | kw
    return float(bs_price(a["spot"], a["strike"], a["t"], a["rate"], a["div"], a["vol"], a["is_call"]))


@given(options())
def test_put_call_parity(o: dict) -> None:
    call = _p(o, is_call=True)
    put = _p(o, is_call=False)
    forward_value = o["spot"] * math.exp(-o["div"] * o["t"]) - o["strike"] * math.exp(-o["rate"] * o["t"])
    scale = o["spot"] + o["strike"]
    assert abs((call - put) - forward_value) <= 1e-12 * scale


@given(options())
def test_price_within_no_arbitrage_bounds(o: dict) -> None:
    price = _p(o)
    s_disc = o["spot"] * math.exp(-o["div"] * o["t"])
    k_disc = o["strike"] * math.exp(-o["rate"] * o["t"])
    intrinsic = max(s_disc - k_disc, 0.0) if o["is_call"] else max(k_disc - s_disc, 0.0)
    upper = s_disc if o["is_call"] else k_disc
    tol = 1e-12 * (o["spot"] + o["strike"])
    assert intrinsic - tol <= price <= upper + tol


@given(options(), st.floats(min_value=1.001, max_value=1.5))
def test_monotone_in_strike(o: dict, bump: float) -> None:
    lo, hi = _p(o), _p(o, strike=o["strike"] * bump)
    tol = 1e-12 * o["spot"]
    if o["is_call"]:
        assert hi <= lo + tol
    else:
        assert hi >= lo - tol


@given(options(), vols)
def test_monotone_in_vol(o: dict, other: float) -> None:
    lo_vol, hi_vol = sorted((o["vol"], other))
    assert _p(o, vol=hi_vol) >= _p(o, vol=lo_vol) - 1e-12 * o["spot"]
    assert float(bs_greeks(o["spot"], o["strike"], o["t"], o["rate"], o["div"], o["vol"], o["is_call"]).vega) >= 0


@given(options(), expiries)
def test_undiscounted_black_price_grows_with_expiry(o: dict, other: float) -> None:
    t1, t2 = sorted((o["t"], other))
    fwd = o["spot"]
    p1 = float(black_price(fwd, o["strike"], t1, 1.0, o["vol"], o["is_call"]))
    p2 = float(black_price(fwd, o["strike"], t2, 1.0, o["vol"], o["is_call"]))
    assert p2 >= p1 - 1e-12 * fwd


@given(options())
def test_implied_vol_round_trip(o: dict) -> None:
    price = _p(o)
    g = bs_greeks(o["spot"], o["strike"], o["t"], o["rate"], o["div"], o["vol"], o["is_call"])
    fwd = o["spot"] * math.exp((o["rate"] - o["div"]) * o["t"])
    disc = math.exp(-o["rate"] * o["t"])
    itm = (fwd > o["strike"]) if o["is_call"] else (o["strike"] > fwd)
    intrinsic = disc * (max(fwd - o["strike"], 0.0) if o["is_call"] else max(o["strike"] - fwd, 0.0))
    noise = 4 * np.finfo(float).eps * (price + o["spot"] * itm) / max(float(g.vega), 1e-300)
    assume(price - intrinsic > 1e-12 * fwd * disc and noise <= 1e-8)
    iv = float(implied_vol(price, o["spot"], o["strike"], o["t"], o["rate"], o["div"], o["is_call"]))
    assert abs(iv - o["vol"]) <= 1e-8


@given(options(), st.floats(min_value=0.0, max_value=1.0))
def test_nan_exactly_outside_the_bounds(o: dict, frac: float) -> None:
    s_disc = o["spot"] * math.exp(-o["div"] * o["t"])
    k_disc = o["strike"] * math.exp(-o["rate"] * o["t"])
    intrinsic = max(s_disc - k_disc, 0.0) if o["is_call"] else max(k_disc - s_disc, 0.0)
    upper = s_disc if o["is_call"] else k_disc
    args = (o["spot"], o["strike"], o["t"], o["rate"], o["div"], o["is_call"])
    below = intrinsic * frac * (1 - 1e-9)
    assert np.isnan(implied_vol(below, *args))
    above = upper * (1 + frac + 1e-12)
    assert np.isnan(implied_vol(above, *args))
    inside = intrinsic + (upper - intrinsic) * (0.05 + 0.9 * frac)
    iv = float(implied_vol(inside, *args))
    if not np.isnan(iv):
        assert abs(_p(o, vol=iv) - inside) <= 1e-9 * upper
    assert np.isnan(implied_vol(inside, o["spot"], o["strike"], 0.0, o["rate"], o["div"], o["is_call"]))
