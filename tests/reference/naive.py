"""Slow, obvious reference twins of the pricing and implied-volatility kernels.

Plain Python floats and ``math``, one option at a time, textbook formulas, no shortcuts. The kernels must
agree with these to rounding; the twins are checked against mpmath in ``tests/kernels/test_bsm.py``.
"""

from __future__ import annotations

import math


def ncdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def npdf(x: float) -> float:
    return math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def bs_price(spot: float, strike: float, t: float, rate: float, div: float, vol: float, is_call: bool) -> float:
    values = [spot, strike, t, rate, div, vol]
    if any(not math.isfinite(v) for v in values) or spot <= 0 or strike <= 0 or vol < 0:
        return math.nan
    if t <= 0:
        return max(spot - strike, 0.0) if is_call else max(strike - spot, 0.0)
    fwd_disc = spot * math.exp(-div * t)
    k_disc = strike * math.exp(-rate * t)
    if vol == 0:
        return max(fwd_disc - k_disc, 0.0) if is_call else max(k_disc - fwd_disc, 0.0)
    d1 = (math.log(spot / strike) + (rate - div + 0.5 * vol * vol) * t) / (vol * math.sqrt(t))
    d2 = d1 - vol * math.sqrt(t)
    if is_call:
        return fwd_disc * ncdf(d1) - k_disc * ncdf(d2)
    return k_disc * ncdf(-d2) - fwd_disc * ncdf(-d1)


def bs_greeks(spot: float, strike: float, t: float, rate: float, div: float, vol: float, is_call: bool) -> dict:
    """Textbook analytic Greeks for t > 0 and vol > 0 (canonical units)."""
    sqt = math.sqrt(t)
    d1 = (math.log(spot / strike) + (rate - div + 0.5 * vol * vol) * t) / (vol * sqt)
    d2 = d1 - vol * sqt
    eq = math.exp(-div * t)
    er = math.exp(-rate * t)
    pdf = npdf(d1)
    common_theta = -spot * eq * pdf * vol / (2 * sqt)
    vega = spot * eq * pdf * sqt
    charm_common = eq * pdf * (2 * (rate - div) * t - d2 * vol * sqt) / (2 * t * vol * sqt)
    if is_call:
        delta = eq * ncdf(d1)
        theta = common_theta - rate * strike * er * ncdf(d2) + div * spot * eq * ncdf(d1)
        rho = strike * t * er * ncdf(d2)
        charm = div * eq * ncdf(d1) - charm_common
    else:
        delta = -eq * ncdf(-d1)
        theta = common_theta + rate * strike * er * ncdf(-d2) - div * spot * eq * ncdf(-d1)
        rho = -strike * t * er * ncdf(-d2)
        charm = -div * eq * ncdf(-d1) - charm_common
    return {
        "price": bs_price(spot, strike, t, rate, div, vol, is_call),
        "delta": delta,
        "gamma": eq * pdf / (spot * vol * sqt),
        "vega": vega,
        "theta": theta,
        "rho": rho,
        "vanna": -eq * pdf * d2 / vol,
        "volga": vega * d1 * d2 / vol,
        "charm": charm,
    }


def black_price(fwd: float, strike: float, t: float, disc: float, vol: float, is_call: bool) -> float:
    if t <= 0 or vol == 0:
        return disc * (max(fwd - strike, 0.0) if is_call else max(strike - fwd, 0.0))
    sv = vol * math.sqrt(t)
    d1 = math.log(fwd / strike) / sv + 0.5 * sv
    d2 = d1 - sv
    if is_call:
        return disc * (fwd * ncdf(d1) - strike * ncdf(d2))
    return disc * (strike * ncdf(-d2) - fwd * ncdf(-d1))


def bs_implied_vol(price: float, spot: float, strike: float, t: float, rate: float, div: float, is_call: bool) -> float:
    """Bisection on the naive price over vol in (0, 10]; NaN outside the no-arbitrage bounds."""
    if t <= 0 or price <= 0 or not math.isfinite(price):
        return math.nan
    lo_price = bs_price(spot, strike, t, rate, div, 0.0, is_call)
    hi_bound = spot * math.exp(-div * t) if is_call else strike * math.exp(-rate * t)
    if price <= lo_price or price >= hi_bound:
        return math.nan
    lo, hi = 0.0, 10.0
    if bs_price(spot, strike, t, rate, div, hi, is_call) < price:
        return math.nan
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if bs_price(spot, strike, t, rate, div, mid, is_call) < price:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-15:
            break
    return 0.5 * (lo + hi)
