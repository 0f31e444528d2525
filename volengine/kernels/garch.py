"""GARCH(1,1) variance filtering with piecewise-constant parameters (refits without look-ahead).

The parameters of refit j, estimated on returns up to row ``fit_end[j]``, are used from that row until the
next refit; each block re-runs the recursion from the first return with its own parameters, so the filtered
variance on day d is a function of returns ≤ d only.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

from volengine.kernels._flags import SERIAL

#: weight decay and length of the variance backcast (the convention of the arch package)
BACKCAST_DECAY = 0.94
BACKCAST_LENGTH = 75


@njit(**SERIAL)
def _backcast_nb(eps: Any, lo: int, hi: int) -> float:
    """Exponentially weighted mean of the first squared residuals in ``eps[lo:hi]`` (NaN skipped)."""
    num = 0.0
    den = 0.0
    w = 1.0
    k = 0
    for i in range(lo, hi):
        if k >= BACKCAST_LENGTH:
            break
        e = eps[i]
        if math.isfinite(e):
            num += w * e * e
            den += w
            w *= BACKCAST_DECAY
            k += 1
    return num / den if den > 0.0 else np.nan


@njit(**SERIAL)
def _garch_forecast_nb(eps: Any, fit_end: Any, omega: Any, alpha: Any, beta: Any, horizon: int, out: Any) -> None:
    """Mean conditional variance over the next ``horizon`` steps, per row, with refit-blocked parameters.

    ``eps`` float64 (n,): residuals (NaN rows are skipped and carry the variance forward); ``fit_end`` int64
    (k,) ascending rows where refit j ends; ``omega/alpha/beta`` float64 (k,). Rows before ``fit_end[0]`` are
    NaN. The backcast is taken over the returns before the first fit end so every block starts alike.
    """
    n = eps.size
    for i in range(n):
        out[i] = np.nan
    k = fit_end.size
    if k == 0:
        return
    back = _backcast_nb(eps, 0, fit_end[0] + 1)
    for j in range(k):
        lo = fit_end[j]
        hi = fit_end[j + 1] if j + 1 < k else n
        o, a, b = omega[j], alpha[j], beta[j]
        if not (math.isfinite(o) and math.isfinite(a) and math.isfinite(b)):
            continue
        persist = a + b
        s2 = back
        e2 = back
        for i in range(hi):
            # variance of row i given residuals up to i - 1, then the one-step forecast for row i + 1
            s2 = o + a * e2 + b * s2
            e = eps[i]
            if math.isfinite(e):
                e2 = e * e
            if i >= lo:
                nxt = o + a * e2 + b * s2
                if persist < 1.0:
                    lr = o / (1.0 - persist)
                    total = 0.0
                    p = 1.0
                    for _ in range(horizon):
                        total += lr + p * (nxt - lr)
                        p *= persist
                    out[i] = total / horizon
                else:
                    out[i] = nxt


KERNELS = [_garch_forecast_nb]


def garch_forecast(eps: Any, fit_end: Any, omega: Any, alpha: Any, beta: Any, horizon: int) -> np.ndarray[Any, Any]:
    """Mean GARCH(1,1) variance over the next ``horizon`` steps per row (same units as ``eps²``).

    Parameters
    ----------
    eps : array_like of shape (n,)
        Residuals in date order (NaN allowed).
    fit_end : array_like of int of shape (k,)
        Ascending rows at which each parameter set was estimated (using rows ≤ that row).
    omega, alpha, beta : array_like of shape (k,)
        Parameters of each refit.
    horizon : int
        Steps averaged, >= 1.

    Returns
    -------
    ndarray of shape (n,), float64
        NaN before the first fit.
    """
    from volengine.kernels._wrap import readonly

    e = readonly(np.require(np.asarray(eps), np.float64, "C"))
    f = readonly(np.require(np.asarray(fit_end), np.int64, "C"))
    par = [readonly(np.require(np.asarray(x), np.float64, "C")) for x in (omega, alpha, beta)]
    out = np.empty(e.size)
    _garch_forecast_nb(e, f, par[0], par[1], par[2], max(int(horizon), 1), out)
    return out
