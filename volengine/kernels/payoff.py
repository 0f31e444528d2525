"""Expiry payoff of option legs: exact max loss, max profit and breakevens of same-expiry structures.

The expiry payoff ``P(S) = entry + Σ q_i · intrinsic_i(S)`` is piecewise linear with kinks at the strikes, so
its extremes over ``S ≥ 0`` lie at ``S = 0``, at a strike, or at ``S → ∞`` (slope = Σ q of the calls); a
negative slope there means an unbounded loss (status ``UNBOUNDED_LOSS``), a positive one an unbounded profit
(``max_profit = inf``). Breakevens are the bounds of the profit region ``{S : P(S) > 0}``: the lowest upward
and the highest downward zero crossing (NaN where the region reaches 0 or ∞). The scalar core
:func:`_payoff_extremes_nb` also runs inside the structure builders (:mod:`volengine.kernels.structures`).
"""

from __future__ import annotations

import math
from enum import IntEnum
from typing import Any

import numpy as np
from numba import njit, prange

from volengine.errors import KernelInputError
from volengine.kernels._flags import PARALLEL, SCALAR
from volengine.kernels._wrap import readonly
from volengine.kernels.bsm import _black_price_one_nb

#: cashflows and payoffs within this of zero count as zero (float noise of sums of cent prices)
EPS = 1e-9
_PAY_OK, _PAY_UNBOUNDED, _PAY_EMPTY, _PAY_BAD = 0, 1, 2, 3


class PayoffStatus(IntEnum):
    """Outcome of :func:`payoff_extremes` per group of legs."""

    OK = 0
    UNBOUNDED_LOSS = 1
    EMPTY = 2
    BAD_INPUT = 3


@njit(**SCALAR)
def _root_nb(x0: float, v0: float, x1: float, v1: float) -> float:
    """Zero of the line through (x0, v0) and (x1, v1)."""
    if v1 == v0:
        return x0
    return x0 + (0.0 - v0) * (x1 - x0) / (v1 - v0)


@njit(**SCALAR)
def _payoff_extremes_nb(strike: Any, is_call: Any, qty: Any, n: int, entry: float, nodes: Any, vals: Any,
                        res: Any) -> int:  # fmt: skip
    """Max loss, max profit and breakevens of the legs ``[:n]`` into ``res[0:4]``; returns a payoff status.

    ``nodes`` and ``vals`` are work buffers of length >= n + 1. ``res`` = (max_loss, max_profit, breakeven_low,
    breakeven_high); max_loss is ``inf`` with status UNBOUNDED_LOSS, max_profit ``inf`` when unbounded.
    """
    for f in range(4):
        res[f] = np.nan
    if n <= 0:
        return _PAY_EMPTY
    nodes[0] = 0.0
    m = 1
    slope = 0.0
    for i in range(n):
        k, q = strike[i], qty[i]
        if not (math.isfinite(k) and k > 0.0 and math.isfinite(q)):
            return _PAY_BAD
        if is_call[i] != 0:
            slope += q
        # insertion into the sorted distinct nodes (n is a handful of legs)
        pos = m
        while pos > 1 and nodes[pos - 1] > k:
            pos -= 1
        if nodes[pos - 1] == k:
            continue
        for s in range(m, pos, -1):
            nodes[s] = nodes[s - 1]
        nodes[pos] = k
        m += 1
    if not math.isfinite(entry):
        return _PAY_BAD
    lo_v = math.inf
    hi_v = -math.inf
    for a in range(m):
        x = nodes[a]
        v = entry
        for i in range(n):
            if is_call[i] != 0:
                v += qty[i] * max(x - strike[i], 0.0)
            else:
                v += qty[i] * max(strike[i] - x, 0.0)
        vals[a] = v
        lo_v = min(lo_v, v)
        hi_v = max(hi_v, v)
    status = _PAY_OK
    if slope < 0.0:
        res[0] = math.inf
        status = _PAY_UNBOUNDED
    else:
        res[0] = -lo_v
    res[1] = math.inf if slope > 0.0 else hi_v
    last_x, last_v = nodes[m - 1], vals[m - 1]
    # lower bound of the profit region: first upward crossing
    if vals[0] <= EPS:
        for a in range(m - 1):
            if vals[a] <= EPS < vals[a + 1]:
                res[2] = _root_nb(nodes[a], vals[a], nodes[a + 1], vals[a + 1])
                break
        if math.isnan(res[2]) and slope > 0.0 and last_v <= EPS:
            res[2] = last_x - last_v / slope
    # upper bound: last downward crossing (none if the region runs to infinity)
    if last_v > EPS:
        if slope < 0.0:
            res[3] = last_x + last_v / (-slope)
    elif slope <= 0.0:
        for a in range(m - 2, -1, -1):
            if vals[a] > EPS >= vals[a + 1]:
                res[3] = _root_nb(nodes[a], vals[a], nodes[a + 1], vals[a + 1])
                break
    return status


@njit(**PARALLEL)
def payoff_extremes_nb(offsets: Any, strike: Any, is_call: Any, qty: Any, entry: Any, out: Any, status: Any) -> None:
    """Exact expiry-payoff extremes per group of legs (see the module notes).

    ``offsets`` (int64, n_groups + 1) delimits the legs of each group in ``strike``, ``is_call`` (int8),
    ``qty`` (signed contracts per structure, float64); ``entry`` (n_groups,) is the signed entry cashflow
    (+ credit) in points. ``out`` (n_groups, 4) receives max_loss, max_profit, breakeven_low, breakeven_high
    in points (per share); ``status`` (int8, n_groups) a :class:`PayoffStatus`.
    """
    for g in prange(offsets.size - 1):
        lo, hi = offsets[g], offsets[g + 1]
        n = hi - lo
        nodes = np.empty(n + 1)
        vals = np.empty(n + 1)
        status[g] = _payoff_extremes_nb(strike[lo:hi], is_call[lo:hi], qty[lo:hi], n, entry[g], nodes, vals, out[g])


@njit(**SCALAR)
def _calendar_value_nb(s: float, k: float, kb: float, c: int, tau: float, growth: float, disc: float, iv: float,
                       debit: float) -> float:  # fmt: skip
    """Long calendar (``kb == k``) or diagonal at the front expiry: Black back leg (strike ``kb``) minus the
    front's intrinsic value (strike ``k``) minus the debit."""
    back = _black_price_one_nb(s * growth, kb, tau, disc, iv, c)
    front = max(s - k, 0.0) if c != 0 else max(k - s, 0.0)
    return back - front - debit


@njit(**PARALLEL)
def calendar_model_nb(strike: Any, back_strike: Any, is_call: Any, tau: Any, growth: Any, disc: Any, iv: Any,
                      debit: Any, out: Any) -> None:  # fmt: skip
    """Model max profit ``V(K)`` and the zeros of ``V`` below and above ``K`` of long calendars and diagonals.

    ``V`` peaks at the short front strike ``K``: below it only the back leg moves (V rises with S for calls,
    falls for puts), beyond it the short leg's delta of one outweighs the back leg's. Per structure (n,):
    strike (the front's), back_strike, int8 is_call, ``tau`` = years from the front to the back expiry, ``growth`` =
    F_back / F_front, ``disc`` = D_back / D_front, the back leg's ``iv`` and the ``debit`` (points). ``out``
    (n, 3) receives max_profit, breakeven_low, breakeven_high; a breakeven is NaN when ``V(K) <= 0`` or ``V``
    has no sign change within ``K · e^{±max(8 σ √τ, 0.05)}`` (bisection, 100 halvings).
    """
    for i in prange(strike.size):
        k, kb, c = strike[i], back_strike[i], is_call[i]
        args = (tau[i], growth[i], disc[i], iv[i], debit[i])
        peak = _calendar_value_nb(k, k, kb, c, *args)
        out[i, 0], out[i, 1], out[i, 2] = peak, np.nan, np.nan
        if not (peak > 0.0):
            continue
        span = math.exp(max(8.0 * iv[i] * math.sqrt(max(tau[i], 0.0)), 0.05))
        for side in range(2):
            outer = k / span if side == 0 else k * span
            if not _calendar_value_nb(outer, k, kb, c, *args) <= 0.0:
                continue
            a, b = outer, k  # V(a) <= 0 < V(b)
            for _ in range(100):
                m = 0.5 * (a + b)
                if _calendar_value_nb(m, k, kb, c, *args) > 0.0:
                    b = m
                else:
                    a = m
            out[i, 1 + side] = 0.5 * (a + b)


KERNELS = [payoff_extremes_nb, calendar_model_nb]


def _f64(a: Any) -> np.ndarray[Any, Any]:
    return readonly(np.require(np.asarray(a, dtype=np.float64), np.float64, "C"))


def _i64(a: Any) -> np.ndarray[Any, Any]:
    return readonly(np.require(np.asarray(a, dtype=np.int64), np.int64, "C"))


def _i8(a: Any) -> np.ndarray[Any, Any]:
    arr = np.asarray(a)
    if arr.dtype == np.bool_:
        arr = arr.view(np.int8)
    return readonly(np.require(arr.astype(np.int8, copy=False), np.int8, "C"))


def _check_offsets(offsets: np.ndarray[Any, Any], n: int, name: str = "offsets") -> None:
    if offsets.ndim != 1 or offsets.size < 1 or offsets[0] != 0 or offsets[-1] != n or np.any(np.diff(offsets) < 0):
        msg = f"argument '{name}' must be non-decreasing int64 offsets from 0 to {n}; got {offsets[:5]}..."
        raise KernelInputError(msg)


def _check_lengths(n: int, **arrays: np.ndarray[Any, Any]) -> None:
    for name, arr in arrays.items():
        if arr.ndim != 1 or arr.shape[0] != n:
            msg = f"argument '{name}' must be 1-D of length {n}; got shape {arr.shape}"
            raise KernelInputError(msg)


def payoff_extremes(offsets: Any, strike: Any, is_call: Any, qty: Any, entry: Any) -> dict[str, np.ndarray[Any, Any]]:
    """Exact max loss, max profit and breakevens at expiry of groups of same-expiry option legs.

    Parameters
    ----------
    offsets : array_like of int of shape (n_groups + 1,)
        Group ``g`` holds legs ``offsets[g]:offsets[g + 1]``.
    strike : array_like of float of shape (n_legs,)
        Strikes in points (> 0).
    is_call : array_like of bool of shape (n_legs,)
        True for calls, False for puts.
    qty : array_like of float of shape (n_legs,)
        Signed quantities (+ long, − short) per structure.
    entry : array_like of float of shape (n_groups,)
        Signed entry cashflow in points (+ credit received, − debit paid).

    Returns
    -------
    dict of str to ndarray
        ``max_loss``, ``max_profit`` (points per share; ``inf`` when unbounded), ``breakeven_low`` and
        ``breakeven_high`` (the bounds of the region where the payoff is positive; NaN where it reaches 0 or
        ∞, or is empty), and ``status`` (int8, :class:`PayoffStatus`; UNBOUNDED_LOSS for any net short call).

    Notes
    -----
    The payoff ``entry + Σ q·intrinsic(S)`` is piecewise linear in ``S`` with kinks at the strikes, so it is
    evaluated exactly at ``S = 0``, at each strike, and extended with its slope ``Σ q_calls`` beyond the last.

    Examples
    --------
    >>> out = payoff_extremes([0, 2], [100.0, 95.0], [False, False], [-1.0, 1.0], [1.2])
    >>> float(out["max_loss"][0]), float(out["max_profit"][0]), float(out["breakeven_low"][0])
    (3.8, 1.2, 98.8)
    """
    off = _i64(offsets)
    k, c, q, e = _f64(strike), _i8(is_call), _f64(qty), _f64(entry)
    _check_offsets(off, k.size)
    _check_lengths(k.size, strike=k, is_call=c, qty=q)
    _check_lengths(off.size - 1, entry=e)
    out = np.empty((off.size - 1, 4))
    status = np.empty(off.size - 1, dtype=np.int8)
    payoff_extremes_nb(off, k, c, q, e, out, status)
    names = ("max_loss", "max_profit", "breakeven_low", "breakeven_high")
    return {**{name: out[:, i].copy() for i, name in enumerate(names)}, "status": status}


def calendar_model(strike: Any, is_call: Any, tau: Any, growth: Any, disc: Any, iv: Any, debit: Any,
                   back_strike: Any = None) -> np.ndarray[Any, Any]:  # fmt: skip
    """Run :func:`calendar_model_nb` (``back_strike`` defaults to ``strike``: calendars); returns an (n, 3)
    array (max_profit, breakeven_low, breakeven_high)."""
    k = _f64(strike)
    kb = k if back_strike is None else _f64(back_strike)
    args = [_f64(a) for a in (tau, growth, disc, iv, debit)]
    c = _i8(is_call)
    _check_lengths(k.size, back_strike=kb, is_call=c, tau=args[0], growth=args[1], disc=args[2], iv=args[3],
                   debit=args[4])  # fmt: skip
    out = np.empty((k.size, 3))
    calendar_model_nb(k, kb, c, *args, out)
    return out


def warm() -> None:
    """Compile (or load) the payoff kernels on one vertical and one calendar."""
    payoff_extremes([0, 2], [100.0, 95.0], [False, False], [-1.0, 1.0], [1.0])
    calendar_model([100.0], [True], [0.05], [1.0], [1.0], [0.2], [1.0])
