"""Black-Scholes-Merton and Black-76 prices and Greeks over flat arrays.

Conventions (canonical, raw model units; presentation code converts):

* ``t`` in years, ``rate`` and ``div`` continuously compounded per year, ``vol`` per sqrt(year);
* vega per 1.00 of vol, theta per year of calendar time passing (``-dV/dtau``), rho per 1.00 of rate,
  vanna ``d2V/dS dvol``, volga ``d2V/dvol2``, charm ``d(delta)/dt`` as time passes (``-d(delta)/dtau``);
* ``t <= 0`` prices at intrinsic value (delta +/-1 in the money, 0 otherwise; other Greeks 0);
* ``vol == 0`` gives the deterministic limit; negative vol, non-positive spot/strike/forward/discount or any
  non-finite input gives NaN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit, prange

from volengine.kernels._flags import EXACT, PARALLEL, PARALLEL_EXACT, SCALAR
from volengine.kernels._normal import INV_SQRT_2PI, _ncdf_nb, _npdf_nb
from volengine.kernels._simd import _exp_nb, _log_nb, _ncdf_fast_nb
from volengine.kernels._wrap import finish, flat_args, out_buffer

GREEK_NAMES: tuple[str, ...] = ("price", "delta", "gamma", "vega", "theta", "rho", "vanna", "volga", "charm")
_PRICE_ARGS = ("spot", "strike", "t", "rate", "div", "vol", "is_call")
_BLACK_ARGS = ("forward", "strike", "t", "discount", "vol", "is_call")
_F8 = np.float64
_I1 = np.int8


# --------------------------------------------------------------------------------------------- scalar cores
@njit(**SCALAR)
def _black_undiscounted_nb(fwd: float, strike: float, sv: float, theta: float) -> float:
    """Undiscounted Black price for total volatility ``sv = vol * sqrt(t) > 0``; ``theta`` is +1 call, -1 put.

    Relative accuracy is a few ulps times the cancellation factor ``F N(w d1) / price`` of the closed form
    (large only far out of the money at small total volatility), since ``erfc`` itself is good to ~4 ulps.
    """
    d1 = math.log(fwd / strike) / sv + 0.5 * sv
    d2 = d1 - sv
    return theta * (fwd * _ncdf_nb(theta * d1) - strike * _ncdf_nb(theta * d2))


@njit(**SCALAR)
def _bs_price_one_nb(spot: float, strike: float, t: float, rate: float, div: float, vol: float, c: int) -> float:
    theta = 1.0 if c != 0 else -1.0
    if not (math.isfinite(spot) and math.isfinite(strike) and math.isfinite(t)):
        return np.nan
    if not (math.isfinite(rate) and math.isfinite(div) and math.isfinite(vol)):
        return np.nan
    if spot <= 0.0 or strike <= 0.0 or vol < 0.0:
        return np.nan
    if t <= 0.0:
        return max(theta * (spot - strike), 0.0)
    disc = math.exp(-rate * t)
    fwd = spot * math.exp((rate - div) * t)
    sv = vol * math.sqrt(t)
    if sv == 0.0:
        return disc * max(theta * (fwd - strike), 0.0)
    return disc * _black_undiscounted_nb(fwd, strike, sv, theta)


@njit(**SCALAR)
def _black_price_one_nb(fwd: float, strike: float, t: float, disc: float, vol: float, c: int) -> float:
    theta = 1.0 if c != 0 else -1.0
    if not (math.isfinite(fwd) and math.isfinite(strike) and math.isfinite(t)):
        return np.nan
    if not (math.isfinite(disc) and math.isfinite(vol)):
        return np.nan
    if fwd <= 0.0 or strike <= 0.0 or disc <= 0.0 or vol < 0.0:
        return np.nan
    sv = vol * math.sqrt(t) if t > 0.0 else 0.0
    if sv == 0.0:
        return disc * max(theta * (fwd - strike), 0.0)
    return disc * _black_undiscounted_nb(fwd, strike, sv, theta)


@njit(**SCALAR)
def _bs_greeks_one_nb(
    spot: float, strike: float, t: float, rate: float, div: float, vol: float, c: int, out: Any, i: int
) -> None:
    """Write price and the eight Greeks of one option into column ``i`` of ``out`` (shape (9, n))."""
    theta = 1.0 if c != 0 else -1.0
    ok = math.isfinite(spot) and math.isfinite(strike) and math.isfinite(t) and math.isfinite(rate)
    ok = ok and math.isfinite(div) and math.isfinite(vol) and spot > 0.0 and strike > 0.0 and vol >= 0.0
    if not ok:
        for k in range(9):
            out[k, i] = np.nan
        return
    for k in range(2, 9):
        out[k, i] = 0.0
    if t <= 0.0:
        itm = theta * (spot - strike) > 0.0
        out[0, i] = max(theta * (spot - strike), 0.0)
        out[1, i] = theta if itm else 0.0
        return
    sqt = math.sqrt(t)
    disc = math.exp(-rate * t)
    dq = math.exp(-div * t)
    sv = vol * sqt
    if sv == 0.0:
        # deterministic limit: the option is worth its discounted forward intrinsic value
        itm = theta * (spot * dq - strike * disc) > 0.0
        out[0, i] = max(theta * (spot * dq - strike * disc), 0.0)
        if itm:
            out[1, i] = theta * dq
            out[4, i] = theta * (div * spot * dq - rate * strike * disc)
            out[5, i] = theta * strike * t * disc
            out[8, i] = theta * div * dq
        else:
            out[1, i] = 0.0
        return
    d1 = (math.log(spot / strike) + (rate - div) * t) / sv + 0.5 * sv
    d2 = d1 - sv
    nd1 = _ncdf_nb(theta * d1)
    nd2 = _ncdf_nb(theta * d2)
    pdf = _npdf_nb(d1)
    sdq = spot * dq
    kdr = strike * disc
    vega = sdq * pdf * sqt
    out[0, i] = theta * (sdq * nd1 - kdr * nd2)
    out[1, i] = theta * dq * nd1
    out[2, i] = dq * pdf / (spot * sv)
    out[3, i] = vega
    out[4, i] = -sdq * pdf * vol / (2.0 * sqt) - theta * rate * kdr * nd2 + theta * div * sdq * nd1
    out[5, i] = theta * strike * t * disc * nd2
    out[6, i] = -dq * pdf * d2 / vol
    out[7, i] = vega * d1 * d2 / vol
    out[8, i] = theta * div * dq * nd1 - dq * pdf * (2.0 * (rate - div) * t - d2 * sv) / (2.0 * t * sv)


# --------------------------------------------------------------------------------------------- array kernels
@njit(**PARALLEL)
def bs_price_nb(spot, strike, t, rate, div, vol, is_call, steps, out):  # type: ignore[no-untyped-def]
    """Black-Scholes-Merton prices into ``out`` (shape (n,)).

    Inputs are 1-D float64 arrays (``is_call`` int8) of length n or 1; ``steps`` (int64, shape (7,)) is 1 for
    a full-length input and 0 for a broadcast scalar. NaN where an input is non-finite or out of domain.
    """
    s0, s1, s2, s3, s4, s5, s6 = steps[0], steps[1], steps[2], steps[3], steps[4], steps[5], steps[6]
    for i in prange(out.shape[0]):
        out[i] = _bs_price_one_nb(
            spot[i * s0], strike[i * s1], t[i * s2], rate[i * s3], div[i * s4], vol[i * s5], is_call[i * s6]
        )


@njit(**PARALLEL)
def black_price_nb(fwd, strike, t, disc, vol, is_call, steps, out):  # type: ignore[no-untyped-def]
    """Black-76 prices into ``out``; same array contract as :func:`bs_price_nb` with 6 inputs."""
    s0, s1, s2, s3, s4, s5 = steps[0], steps[1], steps[2], steps[3], steps[4], steps[5]
    for i in prange(out.shape[0]):
        out[i] = _black_price_one_nb(fwd[i * s0], strike[i * s1], t[i * s2], disc[i * s3], vol[i * s4], is_call[i * s5])


@njit(**PARALLEL)
def bs_greeks_nb(spot, strike, t, rate, div, vol, is_call, steps, out):  # type: ignore[no-untyped-def]
    """Price and Greeks into ``out`` of shape (9, n), rows in :data:`GREEK_NAMES` order."""
    s0, s1, s2, s3, s4, s5, s6 = steps[0], steps[1], steps[2], steps[3], steps[4], steps[5], steps[6]
    for i in prange(out.shape[1]):
        _bs_greeks_one_nb(
            spot[i * s0],
            strike[i * s1],
            t[i * s2],
            rate[i * s3],
            div[i * s4],
            vol[i * s5],
            is_call[i * s6],
            out,
            i,
        )


# ------------------------------------------------------------------------------ vectorised fast paths
# When every input is a full-length array the kernels below run instead: the same formulas on the
# branch-free ``_simd`` maths, which LLVM vectorises. Rows outside the plain domain (t <= 0, vol <= 0,
# non-finite or non-positive inputs, exponent overflow) are written as NaN by the vector loop and then
# recomputed by the scalar cores above in a second, rarely-taken pass, so both paths agree on every row.
# That pass is a serial loop: Numba fuses adjacent prange loops, and a fused body with a scalar call in a
# branch would no longer vectorise.
_INF = np.inf


@njit(**EXACT)
def _plain_nb(underlying: float, strike: float, t: float, vol: float) -> bool:
    """True where the closed form applies: positive finite underlying, strike, time and vol."""
    ok = (underlying > 0.0) & (underlying < _INF) & (strike > 0.0) & (strike < _INF)
    return ok & (t > 0.0) & (t < _INF) & (vol > 0.0) & (vol < _INF)


@njit(**PARALLEL_EXACT)
def bs_price_fast_nb(spot, strike, t, rate, div, vol, is_call, out):  # type: ignore[no-untyped-def]
    """Black-Scholes-Merton prices for full-length 1-D inputs (no broadcasting); see module notes."""
    n = out.shape[0]
    for i in prange(n):
        s, k, tt, r, q, v = spot[i], strike[i], t[i], rate[i], div[i], vol[i]
        theta = 1.0 if is_call[i] != 0 else -1.0
        ok = _plain_nb(s, k, tt, v) & (abs(r * tt) < 700.0) & (abs(q * tt) < 700.0)
        sv = v * math.sqrt(tt)
        d1 = (_log_nb(s / k) + (r - q) * tt) / sv + 0.5 * sv
        d2 = d1 - sv
        value = theta * (
            s * _exp_nb(-q * tt) * _ncdf_fast_nb(theta * d1) - k * _exp_nb(-r * tt) * _ncdf_fast_nb(theta * d2)
        )
        out[i] = value if ok else np.nan
    for i in range(n):  # serial on purpose: a second prange would be fused into the vector loop
        if out[i] != out[i]:
            out[i] = _bs_price_one_nb(spot[i], strike[i], t[i], rate[i], div[i], vol[i], is_call[i])


@njit(**PARALLEL_EXACT)
def black_price_fast_nb(fwd, strike, t, disc, vol, is_call, out):  # type: ignore[no-untyped-def]
    """Black-76 prices for full-length 1-D inputs; see module notes."""
    n = out.shape[0]
    for i in prange(n):
        f, k, tt, d, v = fwd[i], strike[i], t[i], disc[i], vol[i]
        theta = 1.0 if is_call[i] != 0 else -1.0
        ok = _plain_nb(f, k, tt, v) & (d > 0.0) & (d < _INF)
        sv = v * math.sqrt(tt)
        d1 = _log_nb(f / k) / sv + 0.5 * sv
        d2 = d1 - sv
        value = d * theta * (f * _ncdf_fast_nb(theta * d1) - k * _ncdf_fast_nb(theta * d2))
        out[i] = value if ok else np.nan
    for i in range(n):  # serial on purpose: a second prange would be fused into the vector loop
        if out[i] != out[i]:
            out[i] = _black_price_one_nb(fwd[i], strike[i], t[i], disc[i], vol[i], is_call[i])


@njit(**PARALLEL_EXACT)
def bs_greeks_fast_nb(spot, strike, t, rate, div, vol, is_call, out):  # type: ignore[no-untyped-def]
    """Price and Greeks into ``out`` (9, n) for full-length 1-D inputs; see module notes."""
    n = out.shape[1]
    for i in prange(n):
        s, k, tt, r, q, v = spot[i], strike[i], t[i], rate[i], div[i], vol[i]
        theta = 1.0 if is_call[i] != 0 else -1.0
        ok = _plain_nb(s, k, tt, v) & (abs(r * tt) < 700.0) & (abs(q * tt) < 700.0)
        sqt = math.sqrt(tt)
        sv = v * sqt
        d1 = (_log_nb(s / k) + (r - q) * tt) / sv + 0.5 * sv
        d2 = d1 - sv
        disc = _exp_nb(-r * tt)
        dq = _exp_nb(-q * tt)
        nd1 = _ncdf_fast_nb(theta * d1)
        nd2 = _ncdf_fast_nb(theta * d2)
        pdf = INV_SQRT_2PI * _exp_nb(max(-0.5 * d1 * d1, -745.0))
        sdq = s * dq
        kdr = k * disc
        vega = sdq * pdf * sqt
        nan = np.nan
        out[0, i] = theta * (sdq * nd1 - kdr * nd2) if ok else nan
        out[1, i] = theta * dq * nd1
        out[2, i] = dq * pdf / (s * sv)
        out[3, i] = vega
        out[4, i] = -sdq * pdf * v / (2.0 * sqt) - theta * r * kdr * nd2 + theta * q * sdq * nd1
        out[5, i] = theta * k * tt * disc * nd2
        out[6, i] = -dq * pdf * d2 / v
        out[7, i] = vega * d1 * d2 / v
        out[8, i] = theta * q * dq * nd1 - dq * pdf * (2.0 * (r - q) * tt - d2 * sv) / (2.0 * tt * sv)
    for i in range(n):  # serial on purpose: a second prange would be fused into the vector loop
        if out[0, i] != out[0, i]:
            _bs_greeks_one_nb(spot[i], strike[i], t[i], rate[i], div[i], vol[i], is_call[i], out, i)


KERNELS = (bs_price_nb, black_price_nb, bs_greeks_nb, bs_price_fast_nb, black_price_fast_nb, bs_greeks_fast_nb)


# --------------------------------------------------------------------------------------------- public API
def bs_price(spot, strike, t, rate, div, vol, is_call, out=None):  # type: ignore[no-untyped-def]
    """Black-Scholes-Merton price with a continuous dividend yield.

    Parameters
    ----------
    spot, strike : array_like
        Underlying price and strike (> 0).
    t : array_like
        Time to expiry in years; ``t <= 0`` prices at intrinsic value.
    rate, div : array_like
        Continuously compounded risk-free rate and dividend (or borrow) yield per year.
    vol : array_like
        Volatility per sqrt(year), >= 0.
    is_call : array_like of bool or int
        True / 1 for calls, False / 0 for puts.
    out : ndarray of float64, optional
        Buffer of the broadcast shape to write into (avoids an allocation).

    Returns
    -------
    ndarray of float64 (or a float64 scalar for scalar inputs), NaN on out-of-domain rows.

    Notes
    -----
    ``C = S e^{-qT} N(d1) - K e^{-rT} N(d2)``, ``d1 = [ln(S/K) + (r - q + vol^2/2) T] / (vol sqrt T)``;
    N is evaluated as ``erfc(-x / sqrt 2) / 2`` for tail accuracy.

    Examples
    --------
    >>> round(float(bs_price(100.0, 100.0, 1.0, 0.05, 0.0, 0.2, True)), 6)
    10.450584
    """
    shape, a, steps = flat_args((spot, strike, t, rate, div, vol, is_call), _PRICE_ARGS, (_F8,) * 6 + (_I1,))
    res = out_buffer(out, shape)
    if steps.all():
        bs_price_fast_nb(*a, res.reshape(-1))
    else:
        bs_price_nb(*a, steps, res.reshape(-1))
    return finish(res, given=out is not None)


def black_price(forward, strike, t, discount, vol, is_call, out=None):  # type: ignore[no-untyped-def]
    """Black-76 price of an option on a forward: ``D [F N(d1) - K N(d2)]`` for a call.

    Parameters
    ----------
    forward, strike : array_like
        Forward price of the underlying for the option's expiry and strike (> 0).
    t : array_like
        Time to expiry in years; ``t <= 0`` gives the discounted intrinsic value.
    discount : array_like
        Discount factor to the payment date, in (0, inf).
    vol : array_like
        Volatility per sqrt(year), >= 0.
    is_call : array_like of bool or int
        True / 1 for calls, False / 0 for puts.
    out : ndarray of float64, optional
        Output buffer of the broadcast shape.

    Examples
    --------
    >>> round(float(black_price(100.0, 100.0, 1.0, 1.0, 0.2, False)), 6)
    7.965567
    """
    shape, a, steps = flat_args((forward, strike, t, discount, vol, is_call), _BLACK_ARGS, (_F8,) * 5 + (_I1,))
    res = out_buffer(out, shape)
    if steps.all():
        black_price_fast_nb(*a, res.reshape(-1))
    else:
        black_price_nb(*a, steps, res.reshape(-1))
    return finish(res, given=out is not None)


@dataclass(frozen=True, eq=False)
class Greeks:
    """Price and Greeks of a book of options, each a float64 array of the broadcast shape.

    Units are canonical: delta per $1 of spot, gamma per $1 per $1, vega per 1.00 of vol, theta per year,
    rho per 1.00 of rate, vanna per $1 per 1.00 vol, volga per (1.00 vol)^2, charm per year. Use
    :meth:`display_units` for desk units (vega per vol point, theta per calendar day, rho per 1 %).
    """

    data: np.ndarray  # shape (9, *shape); attributes are views of its rows

    @property
    def price(self) -> np.ndarray:
        return self.data[0]

    @property
    def delta(self) -> np.ndarray:
        return self.data[1]

    @property
    def gamma(self) -> np.ndarray:
        return self.data[2]

    @property
    def vega(self) -> np.ndarray:
        return self.data[3]

    @property
    def theta(self) -> np.ndarray:
        return self.data[4]

    @property
    def rho(self) -> np.ndarray:
        return self.data[5]

    @property
    def vanna(self) -> np.ndarray:
        return self.data[6]

    @property
    def volga(self) -> np.ndarray:
        return self.data[7]

    @property
    def charm(self) -> np.ndarray:
        return self.data[8]

    def as_dict(self) -> dict[str, np.ndarray]:
        """The nine arrays by name (views, no copy)."""
        return {name: self.data[k] for k, name in enumerate(GREEK_NAMES)}

    def display_units(self) -> dict[str, np.ndarray]:
        """Desk units: ``vega_pt`` per vol point, ``theta_day`` per calendar day (/365), ``rho_pct`` per 1 %."""
        d = self.as_dict()
        return {
            "price": d["price"],
            "delta": d["delta"],
            "gamma": d["gamma"],
            "vega_pt": d["vega"] / 100.0,
            "theta_day": d["theta"] / 365.0,
            "rho_pct": d["rho"] / 100.0,
            "vanna_pt": d["vanna"] / 100.0,
            "volga_pt": d["volga"] / 10_000.0,
            "charm_day": d["charm"] / 365.0,
        }

    def to_polars(self):  # type: ignore[no-untyped-def]
        """A polars DataFrame with one float64 column per quantity (flattened, canonical units)."""
        import polars as pl  # lazy: kernels stay importable without the data layer

        return pl.DataFrame({k: np.ravel(v) for k, v in self.as_dict().items()})

    def __len__(self) -> int:
        return int(np.prod(self.data.shape[1:], dtype=np.int64))


def bs_greeks(spot, strike, t, rate, div, vol, is_call, out=None) -> Greeks:  # type: ignore[no-untyped-def]
    """Black-Scholes-Merton price and Greeks (delta, gamma, vega, theta, rho, vanna, volga, charm).

    Parameters are those of :func:`bs_price`. ``out``, if given, is a float64 C-contiguous buffer of shape
    ``(9, *broadcast_shape)`` that the result's arrays will view (reuse it across chunks to avoid
    allocations).

    Returns
    -------
    Greeks
        Arrays in canonical units (see :class:`Greeks`).

    Notes
    -----
    Analytic formulas (Hull, *Options, Futures and Other Derivatives*, ch. 19; Haug, *The Complete Guide to
    Option Pricing Formulas*, 2nd ed., ch. 2): ``vega = S e^{-qT} n(d1) sqrt T``,
    ``theta = -S e^{-qT} n(d1) vol / (2 sqrt T) - w r K e^{-rT} N(w d2) + w q S e^{-qT} N(w d1)`` with
    ``w = +1`` (call) / ``-1`` (put), ``vanna = -e^{-qT} n(d1) d2 / vol``, ``volga = vega d1 d2 / vol``,
    ``charm = w q e^{-qT} N(w d1) - e^{-qT} n(d1) [2 (r - q) T - d2 vol sqrt T] / (2 T vol sqrt T)``.

    Examples
    --------
    >>> g = bs_greeks(100.0, 100.0, 1.0, 0.05, 0.0, 0.2, True)
    >>> round(float(g.delta), 6), round(float(g.vega), 6)
    (0.636831, 37.524035)
    """
    shape, a, steps = flat_args((spot, strike, t, rate, div, vol, is_call), _PRICE_ARGS, (_F8,) * 6 + (_I1,))
    full = (9, *shape)
    if out is None:
        buf = np.empty(full, dtype=np.float64)
    else:
        buf = out_buffer(out, full)
    n = int(np.prod(shape, dtype=np.int64))
    if steps.all():
        bs_greeks_fast_nb(*a, buf.reshape(9, n))
    else:
        bs_greeks_nb(*a, steps, buf.reshape(9, n))
    return Greeks(buf)
