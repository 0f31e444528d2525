"""Expiry payoff of option legs, exact extremes, and the model payoff of calendars.

* :func:`expiry_payoff`: ``entry + Σ q · intrinsic(S)`` on a grid of spots (per share, points), for plots and
  checks; risk numbers come from :func:`payoff_extremes` (exact, :mod:`volengine.kernels.payoff`).
* :func:`calendar_model`: a long calendar's value at the front expiry when the back leg is priced with Black
  at its own IV; its value at ``S = K`` is the model max profit, its zeros the model breakevens.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from volengine.kernels.payoff import PayoffStatus, payoff_extremes
from volengine.kernels.payoff import calendar_model as _calendar_kernel

__all__ = ["PayoffStatus", "calendar_model", "expiry_payoff", "payoff_extremes"]


def expiry_payoff(strike: Any, is_call: Any, qty: Any, entry: float, spots: Any) -> np.ndarray[Any, Any]:
    """Payoff at expiry of one structure on a grid of underlying prices.

    Parameters
    ----------
    strike, is_call, qty : array_like of shape (n_legs,)
        Leg strikes (points), rights (True = call) and signed quantities.
    entry : float
        Signed entry cashflow in points (+ credit).
    spots : array_like of shape (m,)
        Underlying prices at expiry.

    Returns
    -------
    ndarray of shape (m,)
        ``entry + Σ q · intrinsic(S)`` in points per share (dollars: × multiplier × contracts).

    Examples
    --------
    >>> expiry_payoff([100.0, 95.0], [False, False], [-1, 1], 1.2, [90.0, 97.0, 110.0]).round(2).tolist()
    [-3.8, -1.8, 1.2]
    """
    k = np.asarray(strike, dtype=np.float64)[None, :]
    c = np.asarray(is_call, dtype=bool)[None, :]
    q = np.asarray(qty, dtype=np.float64)[None, :]
    s = np.asarray(spots, dtype=np.float64)[:, None]
    intrinsic = np.where(c, np.maximum(s - k, 0.0), np.maximum(k - s, 0.0))
    return entry + (q * intrinsic).sum(axis=1)


def calendar_model(
    strike: Any,
    is_call: Any,
    t_front: Any,
    t_back: Any,
    fwd_front: Any,
    fwd_back: Any,
    disc_front: Any,
    disc_back: Any,
    iv_back: Any,
    debit: Any,
    back_strike: Any = None,
) -> dict[str, np.ndarray[Any, Any]]:
    """Model max profit and breakevens of long calendars (short front, long back, one strike) and diagonals.

    At the front expiry the front leg is worth its intrinsic value and the back leg, with ``τ = t_back −
    t_front`` left, is priced with Black-76 at its own IV on the forward ``S · F_back / F_front`` (the carry
    the two chains' forwards imply) and discount ``D_back / D_front``. ``V(S) = back(S) − front(S) − debit``.

    Parameters
    ----------
    strike, is_call, t_front, t_back, fwd_front, fwd_back, disc_front, disc_back, iv_back, debit : array_like
        One value per calendar; times in years, ``debit`` > 0 in points; ``strike`` is the front's.
    back_strike : array_like, optional
        The back leg's strike (diagonals); the front's when omitted (calendars).

    Returns
    -------
    dict of str to ndarray
        ``max_profit`` = ``V(K)`` (the model's value at the front strike, where calendars and diagonals peak), and
        ``breakeven_low`` / ``breakeven_high``, the zeros of ``V`` below and above ``K`` (bisection; NaN when
        ``V(K) <= 0``, an input is missing, or no sign change lies within ``K · e^{±max(8 σ √τ, 0.05)}``).
    """
    f64 = [np.asarray(a, dtype=np.float64) for a in (t_front, t_back, fwd_front, fwd_back, disc_front, disc_back)]
    tf, tb, ff, fb, df, db = f64
    with np.errstate(divide="ignore", invalid="ignore"):
        out = _calendar_kernel(strike, np.asarray(is_call, dtype=bool), tb - tf, fb / ff, db / df, iv_back, debit,
                               back_strike)  # fmt: skip
    return {"max_profit": out[:, 0], "breakeven_low": out[:, 1], "breakeven_high": out[:, 2]}
