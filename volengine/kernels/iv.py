"""Implied volatility: Black-76 and Black-Scholes-Merton, over flat arrays.

The solver works in Black's normalised coordinates. With ``x = ln(F/K)`` and total volatility
``s = vol sqrt(t)``, every option is first reduced to an out-of-the-money call at ``x <= 0`` (in-the-money
options lose their intrinsic value, puts map to calls by ``x -> -x``); its normalised price is

    b(x, s) = e^{x/2} N(x/s + s/2) - e^{-x/2} N(x/s - s/2),     0 < b < e^{x/2},

increasing in ``s``, convex below the inflection point ``s_c = sqrt(2|x|)`` and concave above it. The
solver picks the branch by comparing with ``b(x, s_c)`` and iterates a third-order Householder step on an
objective that is nearly linear on that branch:

* lower branch (deep out of the money, small ``s``): ``ln b(s) - ln b*``;
* upper branch: ``ln c(s) - ln c*`` with the complement ``c = e^{x/2} - b = e^{x/2} N(-x/s - s/2) +
  e^{-x/2} N(x/s - s/2)``, a sum of two positive terms, so no cancellation near the upper bound.

Starting points come from asymptotics: the leading Gaussian tail of ``b`` on the lower branch, and
``c ~ (e^{x/2} + e^{-x/2}) N(-s/2)`` with a rational inverse-normal on the upper one. Every iterate is kept
inside a bracket that each evaluation narrows; a step that would leave it is replaced by bisection, so the
iteration cannot diverge. Rows are NaN with a reason code (:class:`~volengine.kernels.enums.IVStatus`) where
no volatility reproduces the price.

The design follows the ideas of P. Jäckel, "Let's be rational", Wilmott (2015) 40-53 (normalised Black,
branch split at the inflection point, Householder iterations on transformed objectives); the code, guesses
and objectives are our own.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from volengine.errors import KernelInputError
from volengine.kernels._flags import PARALLEL, SCALAR
from volengine.kernels._normal import INV_SQRT_2PI, _ncdf_nb, _ninv_guess_nb
from volengine.kernels._wrap import finish, flat_args, out_buffer
from volengine.kernels.enums import (
    IV_ABOVE_MAX,
    IV_BAD_INPUT,
    IV_BELOW_INTRINSIC,
    IV_EXPIRED,
    IV_NOT_CONVERGED,
    IV_OK,
    IV_VOL_TOO_HIGH,
)

#: upper end of the volatility search range (per sqrt(year)); solutions above it are NaN (VOL_TOO_HIGH)
MAX_VOL = 10.0
_MAX_ITER = 60
_STEP_TOL = 1e-4
_LINEAR_FRACTION = 0.5
_TANGENT_FRACTION = 0.01
_LOG_2PI = 1.8378770664093453


@njit(**SCALAR)
def _total_vol_nb(x: float, beta: float, comp: float, s_max: float) -> tuple[float, int]:
    """Solve ``b(x, s) = beta`` for ``s`` (``x <= 0``, ``0 < beta``, ``comp = e^{x/2} - beta > 0``)."""
    ex2 = math.exp(0.5 * x)
    iex2 = 1.0 / ex2
    xx = x * x
    if x < 0.0:
        s_c = math.sqrt(-2.0 * x)
        b_c = 0.5 * ex2 - iex2 * _ncdf_nb(-s_c)  # at s_c: x/s + s/2 = 0 and x/s - s/2 = -s_c
    else:
        s_c = 0.0
        b_c = 0.0
    lower = beta < b_c
    if lower:
        sign = 1.0
        target = math.log(beta)
        lo, hi = 0.0, s_c
        ell = -2.0 * target - _LOG_2PI  # x^2/s^2 + s^2/4 ~ ell (leading Gaussian tail of b)
        if ell > -x:
            w = 2.0 * (ell - math.sqrt(ell * ell - xx))
            s = math.sqrt(w)
            den = xx - 0.25 * w * w
            if den > 0.0 and s < 0.9 * s_c:
                # include the algebraic prefactor s^3 / (x^2 - s^4/4) of the tail expansion once
                ell2 = ell + 2.0 * math.log(s * w / den)
                if ell2 > -x:
                    w = 2.0 * (ell2 - math.sqrt(ell2 * ell2 - xx))
                    s = math.sqrt(w)
        else:
            s = s_c
        # b is convex below s_c, so the tangent at s_c (slope e^{x/2}/sqrt(2 pi) there) bounds the root from
        # above; within two decades of b(s_c) it is the better guess, deeper in the tail the asymptotic one
        s_tan = s_c + (beta - b_c) / (ex2 * INV_SQRT_2PI)
        if s_tan > 0.0 and (s_tan < s or beta > _TANGENT_FRACTION * b_c):
            s = s_tan
        # close below s_c b is nearly linear in s: iterate on b itself there, on ln b deeper in the tail
        use_log = beta < _LINEAR_FRACTION * b_c
        if not (s > lo and s < hi):
            s = 0.5 * s_c
    else:
        sign = -1.0
        use_log = True
        target = math.log(comp)
        lo, hi = s_c, np.inf
        q = comp / (ex2 + iex2)
        s = -2.0 * _ninv_guess_nb(q) if q < 0.5 else s_c
        if not (s > lo):
            s = s_c + 0.5 * max(s_c, 0.1)
    for _ in range(_MAX_ITER):
        h = x / s
        th = 0.5 * s
        if lower:
            y = ex2 * _ncdf_nb(h + th) - iex2 * _ncdf_nb(h - th)
        else:
            y = ex2 * _ncdf_nb(-h - th) + iex2 * _ncdf_nb(h - th)
        if not (y > 0.0):
            # underflow: on the lower branch s is too small, on the upper one too large
            if lower:
                lo = s
            else:
                hi = s
            s_new = 0.5 * (lo + hi) if hi < np.inf else 2.0 * s
        else:
            vega = INV_SQRT_2PI * math.exp(-0.5 * (h * h + th * th))  # db/ds
            a = xx / (s * s * s) - 0.25 * s  # (d2b/ds2) / (db/ds)
            b3 = a * a - 3.0 * xx / (s * s * s * s) - 0.25  # (d3b/ds3) / (db/ds)
            if use_log:
                f = math.log(y) - target
                w = sign * vega / y  # d(ln y)/ds
                eta = a - w
                tau = b3 - 3.0 * a * w + 2.0 * w * w
            else:
                f = y - beta
                w = vega
                eta = a
                tau = b3
            if sign * f < 0.0:
                lo = s
            else:
                hi = s
            if f == 0.0:
                return s, IV_OK
            if lo > s_max:
                return np.nan, IV_VOL_TOO_HIGH
            nstep = -f / w
            step = nstep * (1.0 + 0.5 * eta * nstep) / (1.0 + nstep * (eta + tau * nstep / 6.0))
            s_new = s + step
            if abs(step) <= _STEP_TOL * s:
                # a fourth-order step this small leaves an error far below float64 resolution; checked
                # before the bracket test because at the root rounding noise can put s + step on a bound
                return s_new, IV_OK
            if not (s_new > lo and s_new < hi):
                s_new = 0.5 * (lo + hi) if hi < np.inf else 2.0 * s
        if hi < np.inf and hi - lo <= 4e-16 * hi:
            return 0.5 * (lo + hi), IV_OK
        s = s_new
    return np.nan, IV_NOT_CONVERGED


@njit(**SCALAR)
def _black_iv_one_nb(price: float, fwd: float, strike: float, t: float, disc: float, c: int) -> tuple[float, int]:
    """Black-76 implied volatility of one option and its status code."""
    ok = math.isfinite(price) and math.isfinite(fwd) and math.isfinite(strike) and math.isfinite(t)
    ok = ok and math.isfinite(disc) and fwd > 0.0 and strike > 0.0 and disc > 0.0
    if not ok:
        return np.nan, IV_BAD_INPUT
    if t <= 0.0:
        return np.nan, IV_EXPIRED
    is_call = c != 0
    p = price / disc
    intrinsic = max(fwd - strike, 0.0) if is_call else max(strike - fwd, 0.0)
    if not (p > intrinsic):
        return np.nan, IV_BELOW_INTRINSIC
    # distance to the no-arbitrage upper bound (F for calls, K for puts), computed in one subtraction
    comp = (fwd - p) if is_call else (strike - p)
    if not (comp > 0.0):
        return np.nan, IV_ABOVE_MAX
    root = math.sqrt(fwd * strike)
    x = -abs(math.log(fwd / strike))
    sqt = math.sqrt(t)
    s, status = _total_vol_nb(x, (p - intrinsic) / root, comp / root, MAX_VOL * sqt)
    if status != IV_OK:
        return np.nan, status
    vol = s / sqt
    if vol > MAX_VOL:
        return np.nan, IV_VOL_TOO_HIGH
    return vol, IV_OK


@njit(**PARALLEL)
def black_iv_nb(price, fwd, strike, t, disc, is_call, steps, out, status):  # type: ignore[no-untyped-def]
    """Black-76 implied volatilities into ``out`` and int8 ``status`` (0 = solved), both shape (n,).

    Inputs are 1-D arrays of length n or 1 with ``steps`` (int64, 6) = 1 for full-length, 0 for broadcast.
    """
    s0, s1, s2, s3, s4, s5 = steps[0], steps[1], steps[2], steps[3], steps[4], steps[5]
    for i in prange(out.shape[0]):
        v, st = _black_iv_one_nb(price[i * s0], fwd[i * s1], strike[i * s2], t[i * s3], disc[i * s4], is_call[i * s5])
        out[i] = v
        status[i] = st


@njit(**PARALLEL)
def bs_iv_nb(price, spot, strike, t, rate, div, is_call, steps, out, status):  # type: ignore[no-untyped-def]
    """Black-Scholes-Merton implied volatilities (forward ``S e^{(r-q)t}``, discount ``e^{-rt}``)."""
    s0, s1, s2, s3, s4, s5, s6 = steps[0], steps[1], steps[2], steps[3], steps[4], steps[5], steps[6]
    for i in prange(out.shape[0]):
        spot_i = spot[i * s1]
        tt = t[i * s3]
        r = rate[i * s4]
        q = div[i * s5]
        if spot_i > 0.0 and math.isfinite(r) and math.isfinite(q) and math.isfinite(tt):
            fwd = spot_i * math.exp((r - q) * tt)
            disc = math.exp(-r * tt)
        else:
            fwd = np.nan
            disc = np.nan
        v, st = _black_iv_one_nb(price[i * s0], fwd, strike[i * s2], tt, disc, is_call[i * s6])
        out[i] = v
        status[i] = st


KERNELS = (black_iv_nb, bs_iv_nb)

_F8 = np.float64
_I1 = np.int8


def _status_buffer(status, shape):  # type: ignore[no-untyped-def]
    if status is None:
        return np.empty(shape, dtype=np.int8)
    if not isinstance(status, np.ndarray) or status.dtype != np.int8 or status.shape != shape:
        msg = f"'status' must be an int8 ndarray of shape {shape}"
        raise KernelInputError(msg)
    if not (status.flags.c_contiguous and status.flags.writeable):
        msg = "'status' must be writable and C-contiguous"
        raise KernelInputError(msg)
    return status


def implied_vol(price, spot, strike, t, rate, div, is_call, out=None, *, status=None):  # type: ignore[no-untyped-def]
    """Black-Scholes-Merton implied volatility (European exercise, continuous dividend yield).

    Parameters
    ----------
    price : array_like
        Option prices (premium per share).
    spot, strike, t, rate, div, is_call : array_like
        As in :func:`volengine.kernels.bs_price`.
    out : ndarray of float64, optional
        Output buffer of the broadcast shape.
    status : ndarray of int8, optional, keyword-only
        Filled with an :class:`~volengine.kernels.enums.IVStatus` code per row (0 = solved).

    Returns
    -------
    ndarray of float64
        Volatility per sqrt(year); NaN exactly where no volatility in ``(0, MAX_VOL]`` reproduces the price:
        non-finite or non-positive inputs, ``t <= 0``, price at or below the discounted intrinsic value, price
        at or above the upper bound (call ``S e^{-qt}``, put ``K e^{-rt}``), or a solution above ``MAX_VOL``.

    Examples
    --------
    >>> round(float(implied_vol(10.450583572185577, 100.0, 100.0, 1.0, 0.05, 0.0, True)), 12)
    0.2
    """
    names = ("price", "spot", "strike", "t", "rate", "div", "is_call")
    shape, a, steps = flat_args((price, spot, strike, t, rate, div, is_call), names, (_F8,) * 6 + (_I1,))
    res = out_buffer(out, shape)
    st = _status_buffer(status, shape)
    bs_iv_nb(*a, steps, res.reshape(-1), st.reshape(-1))
    return finish(res, given=out is not None)


def black_implied_vol(price, forward, strike, t, discount, is_call, out=None, *, status=None):  # type: ignore[no-untyped-def]
    """Black-76 implied volatility from a forward and a discount factor (e.g. from put-call parity).

    Parameters
    ----------
    price : array_like
        Option prices.
    forward, strike, t, discount, is_call : array_like
        As in :func:`volengine.kernels.black_price`.
    out : ndarray of float64, optional
        Output buffer of the broadcast shape.
    status : ndarray of int8, optional, keyword-only
        Filled with an :class:`~volengine.kernels.enums.IVStatus` code per row.

    Returns
    -------
    ndarray of float64, NaN exactly on rows without a solution (see :func:`implied_vol`).

    Examples
    --------
    >>> round(float(black_implied_vol(7.9655674554058, 100.0, 100.0, 1.0, 1.0, False)), 12)
    0.2
    """
    names = ("price", "forward", "strike", "t", "discount", "is_call")
    shape, a, steps = flat_args((price, forward, strike, t, discount, is_call), names, (_F8,) * 5 + (_I1,))
    res = out_buffer(out, shape)
    st = _status_buffer(status, shape)
    black_iv_nb(*a, steps, res.reshape(-1), st.reshape(-1))
    return finish(res, given=out is not None)
