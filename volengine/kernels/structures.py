"""Defined-risk structure kernels: chain strike increments, leg selection, pricing and validation.

Two kernels, each looping over groups in parallel (payoff extremes: :mod:`volengine.kernels.payoff`):

* :func:`chain_increment_nb`: the strike step of each chain (modal step near spot, snapped to a listed size).
* :func:`build_structures_nb`: one request per iteration: pick the expiry, place the legs on listed strikes,
  price them conservatively (sell at bid, buy at ask) and validate (seed-spec §2.7, §2.8), trying widths from
  the preferred one down in steps of the chain increment until one passes.

Contracts are flat per-row arrays in chain order; a chain's calls and puts are indexed separately through
``side_rows`` (row numbers, ascending strike within each chain) and ``side_off`` of shape (2, n_chains + 1):
side 0 = calls, side 1 = puts, chain ``c`` of side ``s`` is ``side_rows[side_off[s, c]:side_off[s, c + 1]]``.
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
from volengine.kernels.payoff import _PAY_OK, EPS, _check_lengths, _check_offsets, _f64, _i8, _i64, _payoff_extremes_nb


class BuildStatus(IntEnum):
    """Outcome of one structure request (or one width attempt); names are the seed-spec failure codes."""

    OK = 0
    NO_EXPIRY = 1
    SHORT_STRIKE_NOT_FOUND = 2
    LONG_STRIKE_NOT_FOUND = 3
    INVALID_QUOTE = 4
    CREDIT_NONPOSITIVE = 5
    DEBIT_NONPOSITIVE = 6
    LIQUIDITY_FAIL = 7
    VALIDATION_FAIL = 8
    UNSUPPORTED_EDGE = 9


class FailDetail(IntEnum):
    """Which rule a failed attempt broke (refines :class:`BuildStatus`)."""

    NONE = 0
    VOLUME = 1
    OPEN_INTEREST = 2
    SPREAD = 3
    UNBOUNDED_LOSS = 4
    MAX_LOSS_NONPOSITIVE = 5
    MAX_PROFIT_NONPOSITIVE = 6
    VERTICAL_MISMATCH = 7
    CREDIT_WIDTH = 8
    REWARD_RISK = 9
    LOSS_CAP = 10
    MARGIN = 11
    MULTIPLIER = 12
    SUBSTITUTION = 13
    CROSSED = 14
    NO_STRIKE = 15
    NO_CHAIN = 16
    WIDTH_ABOVE_MAX = 17
    NOT_TRADED = 18
    DIAGONAL = 19  # retired: diagonals are built now (the value stays so later codes keep their numbers)


class Kind(IntEnum):
    """Structure kinds understood by :func:`build_structures_nb` (``SKIP``: status set by the caller)."""

    SKIP = -1
    PUT_CREDIT = 0
    CALL_CREDIT = 1
    PUT_DEBIT = 2
    CALL_DEBIT = 3
    IRON_CONDOR = 4
    IRON_BUTTERFLY = 5
    CALL_BUTTERFLY = 6
    PUT_BUTTERFLY = 7
    CALENDAR = 8
    DIAGONAL = 9


#: columns of the per-request ``params`` matrix of :func:`build_structures_nb`
PARAM_FIELDS = (
    "strike_mode",  # 0 offset (ATM ± k·w), 1 delta (target abs delta)
    "offset_widths",  # k
    "width_points",  # preferred width: the search starts here
    "min_width_points",  # ... and stops here
    "delta_abs",  # target abs(delta) of the anchor leg (short strikes; a debit vertical's long)
    "target_dte_days",
    "min_dte_days",
    "max_dte_days",
    "center_strike",  # butterflies, calendars and diagonals: the body strike (NaN = ATM)
    "right",  # calendars and diagonals: 0 calls, 1 puts
    "front_min_dte_days",  # calendars and diagonals: the front is the first expiry with DTE >= this
    "back_gap_days",  # ... the back the first with DTE >= front DTE + this
    "min_volume",
    "min_open_interest",
    "max_spread_frac",  # (ask - bid) / mid
    "enforce_liquidity",  # 0 / 1
    "max_substitution_points",
    "min_credit_width_ratio",  # 0 = off
    "min_reward_risk_ratio",  # 0 = off
    "max_loss_cap_usd",  # NaN = off
    "max_margin_usd",  # NaN = off
    "vertical_tolerance_points",
    "strike_tolerance_points",
)
#: columns of the per-request ``values`` output (NaN unless the request built)
VALUE_FIELDS = (
    "width_points",  # the wider wing (verticals: the one width)
    "wing_low_points",  # wing below the body (put side); NaN if none
    "wing_high_points",  # wing above the body (call side); NaN if none
    "search_width_points",  # the width w of the attempt that built
    "entry_cashflow_points",  # + credit, - debit, conservative fill
    "mid_cashflow_points",
    "max_loss_points",
    "max_profit_points",  # inf when unbounded; NaN for calendars and diagonals (model value only)
    "breakeven_low",
    "breakeven_high",
    "net_delta",
    "net_gamma",
    "net_vega",
    "net_theta",
    "substitution_points",  # largest distance of a chosen strike from its target; 0 if none
    "min_leg_volume",
    "min_leg_open_interest",
    "max_leg_spread_frac",
    "atm_strike",
    "strike_increment",
    "multiplier",
)
N_PARAMS = len(PARAM_FIELDS)
N_VALUES = len(VALUE_FIELDS)
MAX_LEGS = 4

# plain ints for the kernels (numba reads module globals as compile-time constants)
_OK, _NO_EXPIRY, _SHORT_NF, _LONG_NF = 0, 1, 2, 3
_INVALID_QUOTE, _CREDIT_NP, _DEBIT_NP, _LIQUIDITY, _VALIDATION = 4, 5, 6, 7, 8
_D_NONE, _D_VOLUME, _D_OI, _D_SPREAD, _D_UNBOUNDED = 0, 1, 2, 3, 4
_D_MAX_LOSS, _D_MAX_PROFIT, _D_VERTICAL, _D_CREDIT_WIDTH, _D_REWARD_RISK = 5, 6, 7, 8, 9
_D_LOSS_CAP, _D_MARGIN, _D_MULTIPLIER, _D_SUBSTITUTION, _D_CROSSED, _D_NO_STRIKE = 10, 11, 12, 13, 14, 15
_PUT_CREDIT, _CALL_CREDIT, _PUT_DEBIT, _CALL_DEBIT = 0, 1, 2, 3
_CONDOR, _IRON_FLY, _CALL_FLY, _PUT_FLY, _CALENDAR, _DIAGONAL = 4, 5, 6, 7, 8, 9
_CALL, _PUT = 0, 1

(P_MODE, P_K, P_WIDTH, P_MIN_WIDTH, P_DELTA, P_TARGET_DTE, P_MIN_DTE, P_MAX_DTE, P_CENTER, P_RIGHT, P_FRONT_MIN,
 P_BACK_GAP, P_MIN_VOL, P_MIN_OI, P_MAX_SPREAD, P_ENFORCE, P_MAX_SUB, P_MIN_CW, P_MIN_RR, P_LOSS_CAP, P_MARGIN,
 P_VERT_TOL, P_STRIKE_TOL) = range(N_PARAMS)  # fmt: skip
(V_WIDTH, V_WING_LOW, V_WING_HIGH, V_SEARCH_W, V_ENTRY, V_MID_CF, V_MAX_LOSS, V_MAX_PROFIT, V_BE_LOW, V_BE_HIGH,
 V_DELTA, V_GAMMA, V_VEGA, V_THETA, V_SUB, V_MIN_VOL, V_MIN_OI, V_MAX_SPREAD, V_ATM, V_INC,
 V_MULT) = range(N_VALUES)  # fmt: skip


# ------------------------------------------------------------------------------------------ strike grid
@njit(**PARALLEL)
def chain_increment_nb(offsets: Any, strike: Any, spot: Any, window_frac: float, sizes: Any, out: Any) -> None:
    """Strike increment per chain: the modal step between distinct strikes within ± ``window_frac`` of spot.

    Ties go to the smaller step; with fewer than two strikes in the window the smallest step of the chain is
    used. The step snaps to the nearest of ``sizes`` (ascending; ties to the smaller). ``spot`` has one value
    per chain; ``out`` (n_chains,) is NaN for a chain with fewer than two distinct strikes.
    """
    for g in prange(offsets.size - 1):
        lo, hi = offsets[g], offsets[g + 1]
        steps = np.empty(max(hi - lo, 1))
        ns = 0
        smallest = math.inf
        prev = np.nan
        band = window_frac * spot[g]
        for i in range(lo, hi):
            k = strike[i]
            if not math.isnan(prev) and k > prev:
                d = k - prev
                smallest = min(smallest, d)
                if abs(prev - spot[g]) <= band and abs(k - spot[g]) <= band:
                    steps[ns] = d
                    ns += 1
            prev = k
        if ns == 0:
            step = smallest
        else:
            srt = np.sort(steps[:ns])
            step, best, run = srt[0], 0, 0
            for j in range(ns):
                run = run + 1 if j > 0 and abs(srt[j] - srt[j - 1]) <= 1e-9 else 1
                if run > best:
                    best, step = run, srt[j]
        if not math.isfinite(step):
            out[g] = np.nan
            continue
        snap, gap = step, math.inf
        for s in sizes:
            if abs(s - step) < gap - 1e-12:
                snap, gap = s, abs(s - step)
        out[g] = snap


# ------------------------------------------------------------------------------------------ strike search
@njit(**SCALAR)
def _lower_bound_nb(side_rows: Any, lo: int, hi: int, strike: Any, x: float, strict: int) -> int:
    """First position in [lo, hi) whose strike is >= x (> x when ``strict`` is 1); hi if none."""
    a, b = lo, hi
    while a < b:
        h = (a + b) // 2
        k = strike[side_rows[h]]
        if k < x or (strict == 1 and k == x):
            a = h + 1
        else:
            b = h
    return a


@njit(**SCALAR)
def _nearest_nb(side_rows: Any, lo: int, hi: int, strike: Any, target: float, prefer: int) -> int:
    """Position in [lo, hi) of the strike nearest ``target`` (ties: the higher when prefer > 0); -1 if empty."""
    if hi <= lo:
        return -1
    a = _lower_bound_nb(side_rows, lo, hi, strike, target, strict=0)
    if a == lo:
        return lo
    if a == hi:
        return hi - 1
    below = target - strike[side_rows[a - 1]]
    above = strike[side_rows[a]] - target
    if below < above:
        return a - 1
    if above < below:
        return a
    return a if prefer > 0 else a - 1


@njit(**SCALAR)
def _nearest_beyond_nb(side_rows: Any, lo: int, hi: int, strike: Any, target: float, bound: float,
                       direction: int, tol: float) -> int:  # fmt: skip
    """Nearest strike to ``target`` strictly below (direction < 0) or above ``bound``; ties toward ``bound``."""
    if direction < 0:
        top = _lower_bound_nb(side_rows, lo, hi, strike, bound - tol, strict=0)
        return _nearest_nb(side_rows, lo, top, strike, target, 1)
    bottom = _lower_bound_nb(side_rows, lo, hi, strike, bound + tol, strict=1)
    return _nearest_nb(side_rows, bottom, hi, strike, target, -1)


@njit(**SCALAR)
def _nearest_delta_nb(side_rows: Any, lo: int, hi: int, delta: Any, target: float) -> int:
    """Position in [lo, hi) whose own delta is nearest ``target`` (signed); ties: the lower strike."""
    best, gap = -1, math.inf
    for pos in range(lo, hi):
        d = delta[side_rows[pos]]
        if math.isfinite(d) and abs(d - target) < gap:
            best, gap = pos, abs(d - target)
    return best


@njit(**SCALAR)
def _atm_nb(side_rows: Any, side_off: Any, strike: Any, c: int, spot: float) -> float:
    """The listed strike (either right) nearest spot; ties: the lower. NaN for an empty chain."""
    best, gap = np.nan, math.inf
    for s in range(2):
        pos = _nearest_nb(side_rows, side_off[s, c], side_off[s, c + 1], strike, spot, -1)
        if pos >= 0:
            k = strike[side_rows[pos]]
            if abs(k - spot) < gap or (abs(k - spot) == gap and k < best):
                best, gap = k, abs(k - spot)
    return best


@njit(**SCALAR)
def _pick_expiry_nb(chain_dte: Any, lo: int, hi: int, min_dte: float, max_dte: float, target: float) -> int:
    """Chain in [lo, hi) with DTE in [min, max] closest to ``target``; ties: the earlier (smaller DTE)."""
    best, gap, best_dte = -1, math.inf, math.inf
    for c in range(lo, hi):
        d = chain_dte[c]
        if d < min_dte or d > max_dte:
            continue
        g = abs(d - target)
        if g < gap or (g == gap and d < best_dte):
            best, gap, best_dte = c, g, d
    return best


@njit(**SCALAR)
def _first_expiry_nb(chain_dte: Any, lo: int, hi: int, min_dte: float, max_dte: float) -> int:
    """Chain in [lo, hi) with the smallest DTE in [min, max]; -1 if none."""
    best, best_dte = -1, math.inf
    for c in range(lo, hi):
        d = chain_dte[c]
        if min_dte <= d <= max_dte and d < best_dte:
            best, best_dte = c, d
    return best


# ------------------------------------------------------------------------------------------ leg placement
@njit(**SCALAR)
def _fail_nb(fail: Any, detail: int, value: float, k: float, side: int) -> None:
    fail[0], fail[1], fail[2], fail[3] = detail, value, k, side


@njit(**SCALAR)
def _capped_nb(side_rows: Any, pos: int, strike: Any, target: float, side: int, p: Any, fail: Any,
               state: Any) -> int:  # fmt: skip
    """``pos`` if its strike is within the substitution cap of ``target`` (recording a substitution), else -1."""
    k = strike[side_rows[pos]]
    d = abs(k - target)
    if d > p[P_MAX_SUB] + EPS:
        _fail_nb(fail, _D_SUBSTITUTION, target, k, side)
        return -1
    if d > p[P_STRIKE_TOL]:
        state[0] = max(state[0], d)
    return pos


@njit(**SCALAR)
def _anchor_nb(side_rows: Any, lo: int, hi: int, strike: Any, delta: Any, by_delta: int, target: float,
               target_delta: float, prefer: int, side: int, p: Any, fail: Any, state: Any) -> int:  # fmt: skip
    """Position of a body leg: by its own delta, else the listed strike nearest ``target`` (capped)."""
    if hi <= lo:
        _fail_nb(fail, _D_NO_STRIKE, target, np.nan, side)
        return -1
    if by_delta == 1:
        pos = _nearest_delta_nb(side_rows, lo, hi, delta, target_delta)
        if pos < 0:
            _fail_nb(fail, _D_NO_STRIKE, target_delta, np.nan, side)
        return pos
    pos = _nearest_nb(side_rows, lo, hi, strike, target, prefer)
    return _capped_nb(side_rows, pos, strike, target, side, p, fail, state)


@njit(**SCALAR)
def _wing_nb(side_rows: Any, lo: int, hi: int, strike: Any, bound: float, direction: int, w: float, side: int,
             p: Any, fail: Any, state: Any) -> int:  # fmt: skip
    """Position of the wing at ``bound ± w``: that strike, else the nearest one beyond ``bound`` (capped)."""
    target = bound + direction * w
    pos = _nearest_beyond_nb(side_rows, lo, hi, strike, target, bound, direction, p[P_STRIKE_TOL])
    if pos < 0:
        _fail_nb(fail, _D_NO_STRIKE, target, bound, side)
        return -1
    return _capped_nb(side_rows, pos, strike, target, side, p, fail, state)


@njit(**SCALAR)
def _iron_wings_nb(side_rows: Any, plo: int, phi: int, clo: int, chi: int, strike: Any, sp: int, sc: int,
                   kp: float, kc: float, w: float, p: Any, fail: Any, state: Any, legs: Any,
                   qty: Any) -> tuple[int, int]:  # fmt: skip
    """Wings of an iron condor or butterfly around its short put (``kp``) and call (``kc``); the four legs."""
    lp = _wing_nb(side_rows, plo, phi, strike, kp, -1, w, _PUT, p, fail, state)
    if lp < 0:
        return _LONG_NF, 0
    lc = _wing_nb(side_rows, clo, chi, strike, kc, 1, w, _CALL, p, fail, state)
    if lc < 0:
        return _LONG_NF, 0
    legs[0], legs[1], legs[2], legs[3] = side_rows[lp], side_rows[sp], side_rows[sc], side_rows[lc]
    qty[0], qty[1], qty[2], qty[3] = 1.0, -1.0, -1.0, 1.0
    return _OK, 4


@njit(**SCALAR)
def _calendar_strike_nb(side_rows: Any, side_off: Any, strike: Any, cf: int, cb: int, side: int, target: float,
                        p: Any, fail: Any, state: Any) -> tuple[int, int]:  # fmt: skip
    """Front and back positions of the strike nearest ``target`` listed in both chains (ties: the lower)."""
    flo, fhi = side_off[side, cf], side_off[side, cf + 1]
    blo, bhi = side_off[side, cb], side_off[side, cb + 1]
    tol = p[P_STRIKE_TOL]
    best_f, best_b, gap = -1, -1, math.inf
    for pos in range(flo, fhi):
        k = strike[side_rows[pos]]
        b = _nearest_nb(side_rows, blo, bhi, strike, k, -1)
        if b >= 0 and abs(strike[side_rows[b]] - k) <= tol and abs(k - target) < gap:
            best_f, best_b, gap = pos, b, abs(k - target)
    if best_f < 0:
        _fail_nb(fail, _D_NO_STRIKE, target, np.nan, side)
        return -1, -1
    if gap > p[P_MAX_SUB] + EPS:
        _fail_nb(fail, _D_SUBSTITUTION, target, strike[side_rows[best_f]], side)
        return -1, -1
    if gap > tol:
        state[0] = max(state[0], gap)
    return best_f, best_b


@njit(**SCALAR)
def _place_nb(kd: int, c: int, cb: int, w: float, atm: float, p: Any, side_rows: Any, side_off: Any, strike: Any,
              delta: Any, legs: Any, qty: Any, fail: Any, state: Any) -> tuple[int, int]:  # fmt: skip
    """Legs (row numbers into ``legs``, signed quantities into ``qty``) of one attempt at width ``w``.

    Returns (status, n_legs); status is OK, SHORT_STRIKE_NOT_FOUND or LONG_STRIKE_NOT_FOUND.
    """
    by_delta = 1 if p[P_MODE] == 1.0 else 0
    k_off = p[P_K] * w
    center = p[P_CENTER] if math.isfinite(p[P_CENTER]) else atm
    if kd <= _CALL_DEBIT:
        side = _PUT if kd in (_PUT_CREDIT, _PUT_DEBIT) else _CALL
        out = -1 if side == _PUT else 1
        is_credit = kd in (_PUT_CREDIT, _CALL_CREDIT)
        lo, hi = side_off[side, c], side_off[side, c + 1]
        a = _anchor_nb(side_rows, lo, hi, strike, delta, by_delta=by_delta, target=atm + out * k_off,
                       target_delta=out * p[P_DELTA], prefer=out, side=side, p=p, fail=fail, state=state)  # fmt: skip
        if a < 0:
            return (_SHORT_NF if is_credit else _LONG_NF), 0
        b = _wing_nb(side_rows, lo, hi, strike, strike[side_rows[a]], out, w, side, p, fail, state)
        if b < 0:
            return (_LONG_NF if is_credit else _SHORT_NF), 0
        legs[0], legs[1] = side_rows[a], side_rows[b]
        qty[0], qty[1] = (-1.0, 1.0) if is_credit else (1.0, -1.0)
        return _OK, 2
    if kd == _CONDOR:
        plo, phi = side_off[_PUT, c], side_off[_PUT, c + 1]
        clo, chi = side_off[_CALL, c], side_off[_CALL, c + 1]
        sp = _anchor_nb(side_rows, plo, phi, strike, delta, by_delta=by_delta, target=atm - k_off,
                        target_delta=-p[P_DELTA], prefer=-1, side=_PUT, p=p, fail=fail, state=state)  # fmt: skip
        if sp < 0:
            return _SHORT_NF, 0
        sc = _anchor_nb(side_rows, clo, chi, strike, delta, by_delta=by_delta, target=atm + k_off,
                        target_delta=p[P_DELTA], prefer=1, side=_CALL, p=p, fail=fail, state=state)  # fmt: skip
        if sc < 0:
            return _SHORT_NF, 0
        kp, kc = strike[side_rows[sp]], strike[side_rows[sc]]
        if kp > kc + p[P_STRIKE_TOL]:
            _fail_nb(fail, _D_CROSSED, kp, kc, -1)
            return _SHORT_NF, 0
        return _iron_wings_nb(side_rows, plo, phi, clo, chi, strike, sp, sc, kp, kc, w, p, fail, state, legs, qty)
    if kd == _IRON_FLY:
        plo, phi = side_off[_PUT, c], side_off[_PUT, c + 1]
        clo, chi = side_off[_CALL, c], side_off[_CALL, c + 1]
        sc = _anchor_nb(side_rows, clo, chi, strike, delta, by_delta=0, target=center, target_delta=0.0,
                        prefer=-1, side=_CALL, p=p, fail=fail, state=state)  # fmt: skip
        if sc < 0:
            return _SHORT_NF, 0
        k = strike[side_rows[sc]]
        sp = _nearest_nb(side_rows, plo, phi, strike, k, -1)
        if sp < 0 or abs(strike[side_rows[sp]] - k) > p[P_STRIKE_TOL]:
            _fail_nb(fail, _D_NO_STRIKE, k, np.nan, _PUT)
            return _SHORT_NF, 0
        return _iron_wings_nb(side_rows, plo, phi, clo, chi, strike, sp, sc, k, k, w, p, fail, state, legs, qty)
    if kd == _CALL_FLY or kd == _PUT_FLY:
        side = _CALL if kd == _CALL_FLY else _PUT
        lo, hi = side_off[side, c], side_off[side, c + 1]
        m = _anchor_nb(side_rows, lo, hi, strike, delta, by_delta=0, target=center, target_delta=0.0,
                       prefer=-1, side=side, p=p, fail=fail, state=state)  # fmt: skip
        if m < 0:
            return _SHORT_NF, 0
        k = strike[side_rows[m]]
        a = _wing_nb(side_rows, lo, hi, strike, k, -1, w, side, p, fail, state)
        if a < 0:
            return _LONG_NF, 0
        b = _wing_nb(side_rows, lo, hi, strike, k, 1, w, side, p, fail, state)
        if b < 0:
            return _LONG_NF, 0
        legs[0], legs[1], legs[2] = side_rows[a], side_rows[m], side_rows[b]
        qty[0], qty[1], qty[2] = 1.0, -2.0, 1.0
        return _OK, 3
    side = _PUT if p[P_RIGHT] == 1.0 else _CALL
    if kd == _DIAGONAL:
        # sell the front at the body (ATM ± k·w out of the money, or by delta), buy the back w in the money
        out = -1 if side == _PUT else 1
        a = _anchor_nb(side_rows, side_off[side, c], side_off[side, c + 1], strike, delta, by_delta=by_delta,
                       target=center + out * k_off, target_delta=out * p[P_DELTA], prefer=out, side=side, p=p,
                       fail=fail, state=state)  # fmt: skip
        if a < 0:
            return _SHORT_NF, 0
        b = _wing_nb(side_rows, side_off[side, cb], side_off[side, cb + 1], strike, strike[side_rows[a]], -out, w,
                     side, p, fail, state)  # fmt: skip
        if b < 0:
            return _LONG_NF, 0
        legs[0], legs[1] = side_rows[a], side_rows[b]
        qty[0], qty[1] = -1.0, 1.0
        return _OK, 2
    # calendar: sell the front, buy the back, one strike
    f, b = _calendar_strike_nb(side_rows, side_off, strike, c, cb, side, center, p, fail, state)
    if f < 0:
        return _SHORT_NF, 0
    legs[0], legs[1] = side_rows[f], side_rows[b]
    qty[0], qty[1] = -1.0, 1.0
    return _OK, 2


# ------------------------------------------------------------------------------------------ pricing and checks
@njit(**SCALAR)
def _evaluate_nb(kd: int, legs: Any, qty: Any, n: int, p: Any, strike: Any, is_call: Any, bid: Any, ask: Any,
                 mid: Any, volume: Any, oi: Any, spread: Any, mult: Any, delta: Any, gamma: Any, vega: Any,
                 theta: Any, lk: Any, lc: Any, nodes: Any, vals: Any, pay: Any, res: Any,
                 fail: Any) -> int:  # fmt: skip
    """Entry, payoff extremes, Greeks and the validation gate of placed legs; values into ``res``."""
    for f in range(N_VALUES):
        res[f] = np.nan
    for j in range(n):
        i = legs[j]
        if not math.isfinite(mid[i]):
            _fail_nb(fail, _D_NONE, np.nan, strike[i], 1 - is_call[i])
            return _INVALID_QUOTE
    m0 = mult[legs[0]]
    entry = 0.0
    mid_cf = 0.0
    net = np.zeros(4)
    min_vol, min_oi, max_spread = math.inf, math.inf, 0.0
    for j in range(n):
        i = legs[j]
        q = qty[j]
        if mult[i] != m0:
            _fail_nb(fail, _D_MULTIPLIER, mult[i], strike[i], 1 - is_call[i])
            return _VALIDATION
        entry -= q * (bid[i] if q < 0.0 else ask[i])
        mid_cf -= q * mid[i]
        net[0] += q * delta[i]
        net[1] += q * gamma[i]
        net[2] += q * vega[i]
        net[3] += q * theta[i]
        # NaN (unknown volume or open interest) propagates into the leg minimum
        min_vol = volume[i] if math.isnan(volume[i]) or volume[i] < min_vol else min_vol
        min_oi = oi[i] if math.isnan(oi[i]) or oi[i] < min_oi else min_oi
        max_spread = max(max_spread, spread[i])
        lk[j], lc[j] = strike[i], is_call[i]
    res[V_ENTRY], res[V_MID_CF], res[V_MULT] = entry, mid_cf, m0
    res[V_DELTA], res[V_GAMMA], res[V_VEGA], res[V_THETA] = net[0], net[1], net[2], net[3]
    res[V_MIN_VOL], res[V_MIN_OI], res[V_MAX_SPREAD] = min_vol, min_oi, max_spread
    is_credit = kd in (_PUT_CREDIT, _CALL_CREDIT, _CONDOR, _IRON_FLY)
    if is_credit and not entry > EPS:
        _fail_nb(fail, _D_NONE, entry, np.nan, -1)
        return _CREDIT_NP
    if not is_credit and not -entry > EPS:
        _fail_nb(fail, _D_NONE, -entry, np.nan, -1)
        return _DEBIT_NP
    if p[P_ENFORCE] != 0.0:
        for j in range(n):
            i = legs[j]
            side = 1 - is_call[i]
            if not volume[i] >= p[P_MIN_VOL]:
                _fail_nb(fail, _D_VOLUME, volume[i], strike[i], side)
                return _LIQUIDITY
            if p[P_MIN_OI] > 0.0 and not oi[i] >= p[P_MIN_OI]:
                _fail_nb(fail, _D_OI, oi[i], strike[i], side)
                return _LIQUIDITY
            if not spread[i] <= p[P_MAX_SPREAD] + EPS:
                _fail_nb(fail, _D_SPREAD, spread[i], strike[i], side)
                return _LIQUIDITY
    # widths of the wings below and above the body
    if kd == _PUT_CREDIT or kd == _PUT_DEBIT:
        res[V_WING_LOW] = abs(lk[0] - lk[1])
    elif kd == _CALL_CREDIT or kd == _CALL_DEBIT:
        res[V_WING_HIGH] = abs(lk[0] - lk[1])
    elif kd == _CONDOR or kd == _IRON_FLY:
        res[V_WING_LOW], res[V_WING_HIGH] = lk[1] - lk[0], lk[3] - lk[2]
    elif kd == _CALL_FLY or kd == _PUT_FLY:
        res[V_WING_LOW], res[V_WING_HIGH] = lk[1] - lk[0], lk[2] - lk[1]
    elif kd == _DIAGONAL:
        # the long back leg's distance from the short front one, on its side of the body
        if lk[1] < lk[0]:
            res[V_WING_LOW] = lk[0] - lk[1]
        else:
            res[V_WING_HIGH] = lk[1] - lk[0]
    width = np.nan
    if math.isfinite(res[V_WING_LOW]) or math.isfinite(res[V_WING_HIGH]):
        width = max(res[V_WING_LOW] if math.isfinite(res[V_WING_LOW]) else 0.0,
                    res[V_WING_HIGH] if math.isfinite(res[V_WING_HIGH]) else 0.0)  # fmt: skip
    res[V_WIDTH] = width
    if kd == _CALENDAR:
        # a long calendar at one strike loses at most its debit; its max profit is a model value (caller)
        res[V_MAX_LOSS] = -entry
    elif kd == _DIAGONAL:
        # the back leg is worth at least its intrinsic value at the front expiry; short front (K_s), long back
        # (K_l): the worst case is the debit plus the strike gap when the long leg is the further out of the
        # money (zero for the covered form the builder places: calls K_l < K_s, puts K_l > K_s)
        gap = (lk[1] - lk[0]) if lc[0] == 1 else (lk[0] - lk[1])
        res[V_MAX_LOSS] = -entry + max(gap, 0.0)
    else:
        st = _payoff_extremes_nb(lk, lc, qty, n, entry, nodes, vals, pay)
        res[V_MAX_LOSS], res[V_MAX_PROFIT], res[V_BE_LOW], res[V_BE_HIGH] = pay[0], pay[1], pay[2], pay[3]
        if st != _PAY_OK:
            _fail_nb(fail, _D_UNBOUNDED, pay[0], np.nan, -1)
            return _VALIDATION
        if not pay[0] > EPS:
            _fail_nb(fail, _D_MAX_LOSS, pay[0], width, -1)
            return _VALIDATION
        if not pay[1] > EPS:
            _fail_nb(fail, _D_MAX_PROFIT, pay[1], width, -1)
            return _VALIDATION
        tol = p[P_VERT_TOL] + EPS
        if (kd == _PUT_CREDIT or kd == _CALL_CREDIT) and abs(pay[0] - (width - entry)) > tol:
            _fail_nb(fail, _D_VERTICAL, pay[0], width - entry, -1)
            return _VALIDATION
        if (kd == _PUT_DEBIT or kd == _CALL_DEBIT) and abs(pay[1] - (width + entry)) > tol:
            _fail_nb(fail, _D_VERTICAL, pay[1], width + entry, -1)
            return _VALIDATION
        if p[P_MIN_RR] > 0.0 and pay[1] / pay[0] < p[P_MIN_RR]:
            _fail_nb(fail, _D_REWARD_RISK, pay[1] / pay[0], p[P_MIN_RR], -1)
            return _VALIDATION
    if is_credit and p[P_MIN_CW] > 0.0 and entry / width < p[P_MIN_CW]:
        _fail_nb(fail, _D_CREDIT_WIDTH, entry / width, p[P_MIN_CW], -1)
        return _VALIDATION
    loss_usd = res[V_MAX_LOSS] * m0
    if math.isfinite(p[P_LOSS_CAP]) and loss_usd > p[P_LOSS_CAP] + EPS:
        _fail_nb(fail, _D_LOSS_CAP, loss_usd, p[P_LOSS_CAP], -1)
        return _VALIDATION
    if math.isfinite(p[P_MARGIN]) and loss_usd > p[P_MARGIN] + EPS:
        _fail_nb(fail, _D_MARGIN, loss_usd, p[P_MARGIN], -1)
        return _VALIDATION
    return _OK


@njit(**PARALLEL)
def build_structures_nb(chain_dte: Any, chain_spot: Any, chain_inc: Any, side_rows: Any, side_off: Any,
                        strike: Any, is_call: Any, bid: Any, ask: Any, mid: Any, volume: Any, oi: Any,
                        spread: Any, mult: Any, delta: Any, gamma: Any, vega: Any, theta: Any, day_lo: Any,
                        day_hi: Any, kind: Any, params: Any, status: Any, chains: Any, legs_out: Any,
                        qty_out: Any, values: Any, att_code: Any, att_detail: Any, att_num: Any,
                        n_att: Any) -> None:  # fmt: skip
    """Select, price and validate one structure per request (see the module notes).

    Per chain (n_chains,): ``chain_dte``, ``chain_spot``, ``chain_inc`` (NaN = no width search). Per contract
    row (n_rows,): float64 ``strike, bid, ask, mid`` (NaN without a valid quote), ``volume, oi`` (NaN =
    unknown), ``spread`` ((ask − bid)/mid), ``mult``, Greeks; int8 ``is_call``. Per request (n_req,):
    ``day_lo, day_hi`` (int64 chain range of the request's day), int8 ``kind`` (a :class:`Kind`; SKIP rows
    keep the caller's ``status``), ``params`` (n_req, N_PARAMS) in :data:`PARAM_FIELDS` order.

    Outputs: ``status`` (int8, a :class:`BuildStatus`: OK, or the preferred width's failure), ``chains``
    (int64, n_req × 2: expiry chain and calendar back chain, -1 if none), ``legs_out`` (int64, n_req × 4: rows,
    -1 unused), ``qty_out`` (int8), ``values`` (n_req × N_VALUES, NaN unless built; ``atm_strike`` and
    ``strike_increment`` whenever an expiry was found), and per attempt
    ``att_code`` / ``att_detail`` (int8, n_req × A) and ``att_num`` (n_req × A × 4: width, value, strike,
    side) with ``n_att`` (int64) attempts made.
    """
    n_max = att_code.shape[1]
    for r in prange(kind.size):
        chains[r, 0], chains[r, 1] = -1, -1
        for j in range(MAX_LEGS):
            legs_out[r, j], qty_out[r, j] = -1, 0
        for f in range(N_VALUES):
            values[r, f] = np.nan
        n_att[r] = 0
        kd = kind[r]
        if kd < 0:
            continue
        p = params[r]
        lo, hi = day_lo[r], day_hi[r]
        cb = -1
        if kd == _CALENDAR or kd == _DIAGONAL:
            c = _first_expiry_nb(chain_dte, lo, hi, p[P_FRONT_MIN], p[P_MAX_DTE])
            if c >= 0:
                cb = _first_expiry_nb(chain_dte, lo, hi, chain_dte[c] + p[P_BACK_GAP], p[P_MAX_DTE])
            if cb < 0:
                c = -1
        else:
            c = _pick_expiry_nb(chain_dte, lo, hi, p[P_MIN_DTE], p[P_MAX_DTE], p[P_TARGET_DTE])
        if c < 0:
            status[r] = _NO_EXPIRY
            continue
        chains[r, 0], chains[r, 1] = c, cb
        atm = _atm_nb(side_rows, side_off, strike, c, chain_spot[c])
        inc = chain_inc[c]
        values[r, V_ATM], values[r, V_INC] = atm, inc
        w0 = p[P_WIDTH]
        n_try = 1
        if kd != _CALENDAR and math.isfinite(inc) and inc > 0.0:
            n_try = min(max((math.floor((w0 - p[P_MIN_WIDTH]) / inc + 1e-9)) + 1, 1), n_max)
        legs = np.empty(MAX_LEGS, dtype=np.int64)
        qty = np.empty(MAX_LEGS)
        lk = np.empty(MAX_LEGS)
        lc = np.empty(MAX_LEGS, dtype=np.int8)
        nodes = np.empty(MAX_LEGS + 1)
        vals = np.empty(MAX_LEGS + 1)
        pay = np.empty(4)
        res = np.empty(N_VALUES)
        fail = np.empty(4)
        state = np.zeros(1)
        built = False
        for a in range(n_try):
            w = w0 if kd == _CALENDAR else round((w0 - a * inc) * 1e6) / 1e6
            state[0] = 0.0
            _fail_nb(fail, _D_NONE, np.nan, np.nan, -1)
            code, n = _place_nb(kd, c, cb, w, atm, p, side_rows, side_off, strike, delta, legs, qty, fail, state)
            if code == _OK:
                code = _evaluate_nb(kd, legs, qty, n, p, strike, is_call, bid, ask, mid, volume, oi, spread, mult,
                                    delta, gamma, vega, theta, lk, lc, nodes, vals, pay, res, fail)  # fmt: skip
            att_code[r, a], att_detail[r, a] = code, int(fail[0])
            att_num[r, a, 0] = np.nan if kd == _CALENDAR else w
            att_num[r, a, 1], att_num[r, a, 2], att_num[r, a, 3] = fail[1], fail[2], fail[3]
            n_att[r] = a + 1
            if code == _OK:
                res[V_SEARCH_W] = np.nan if kd == _CALENDAR else w
                res[V_SUB], res[V_ATM], res[V_INC] = state[0], atm, inc
                for f in range(N_VALUES):
                    values[r, f] = res[f]
                for j in range(n):
                    legs_out[r, j], qty_out[r, j] = legs[j], int(qty[j])
                built = True
                break
        status[r] = _OK if built else att_code[r, 0]


KERNELS = [chain_increment_nb, build_structures_nb]


# ------------------------------------------------------------------------------------------ wrappers
def chain_increments(offsets: Any, strike: Any, spot: Any, window_frac: float, sizes: Any) -> np.ndarray[Any, Any]:
    """Strike increment of each chain (see :func:`chain_increment_nb`); ``spot`` has one value per chain."""
    off, k, s, z = _i64(offsets), _f64(strike), _f64(spot), _f64(sizes)
    _check_offsets(off, k.size)
    _check_lengths(off.size - 1, spot=s)
    if z.ndim != 1 or z.size == 0 or np.any(np.diff(z) <= 0):
        msg = f"argument 'sizes' must be a non-empty increasing 1-D array; got {z}"
        raise KernelInputError(msg)
    out = np.empty(off.size - 1)
    chain_increment_nb(off, k, s, float(window_frac), z, out)
    return out


ROW_ARRAYS = ("strike", "is_call", "bid", "ask", "mid", "volume", "oi", "spread", "mult", "delta", "gamma", "vega",
              "theta")  # fmt: skip
CHAIN_ARRAYS = ("chain_dte", "chain_spot", "chain_inc")


def build_structures_arrays(chain: dict[str, Any], side_rows: Any, side_off: Any, rows: dict[str, Any],
                            day_lo: Any, day_hi: Any, kind: Any, params: Any, status: Any,
                            max_attempts: int) -> dict[str, np.ndarray[Any, Any]]:  # fmt: skip
    """Canonicalise inputs and run :func:`build_structures_nb`.

    ``chain`` maps :data:`CHAIN_ARRAYS` to per-chain arrays, ``rows`` maps :data:`ROW_ARRAYS` to per-row
    arrays; ``status`` (int8, n_req) holds the caller's codes for SKIP rows and is copied, not modified.
    Returns the kernel outputs by name (``status, chains, legs, qty, values, att_code, att_detail, att_num,
    n_att``).
    """
    ch = {name: _f64(chain[name]) for name in CHAIN_ARRAYS}
    n_chains = ch["chain_dte"].size
    _check_lengths(n_chains, **ch)
    rw = {name: (_i8 if name == "is_call" else _f64)(rows[name]) for name in ROW_ARRAYS}
    n_rows = rw["strike"].size
    _check_lengths(n_rows, **rw)
    sr = _i64(side_rows)
    so = readonly(np.require(np.asarray(side_off, dtype=np.int64), np.int64, "C"))
    if so.shape != (2, n_chains + 1) or (sr.size and (sr.min() < 0 or sr.max() >= n_rows)):
        msg = f"'side_off' must have shape (2, {n_chains + 1}) and 'side_rows' index rows; got {so.shape}"
        raise KernelInputError(msg)
    lo, hi, kd = _i64(day_lo), _i64(day_hi), _i8(kind)
    n_req = kd.size
    _check_lengths(n_req, day_lo=lo, day_hi=hi)
    pr = readonly(np.require(np.asarray(params, dtype=np.float64), np.float64, "C"))
    if pr.shape != (n_req, N_PARAMS):
        msg = f"argument 'params' must have shape ({n_req}, {N_PARAMS}); got {pr.shape}"
        raise KernelInputError(msg)
    run = (kd >= 0) & (kd <= int(Kind.DIAGONAL))
    if np.any(run & ((lo < 0) | (hi > n_chains) | (lo > hi))):
        msg = f"requests to run need 0 <= day_lo <= day_hi <= {n_chains}"
        raise KernelInputError(msg)
    a = max(int(max_attempts), 1)
    out = {
        "status": np.array(status, dtype=np.int8, copy=True).reshape(n_req),
        "chains": np.empty((n_req, 2), dtype=np.int64),
        "legs": np.empty((n_req, MAX_LEGS), dtype=np.int64),
        "qty": np.empty((n_req, MAX_LEGS), dtype=np.int8),
        "values": np.empty((n_req, N_VALUES)),
        "att_code": np.full((n_req, a), -1, dtype=np.int8),
        "att_detail": np.zeros((n_req, a), dtype=np.int8),
        "att_num": np.full((n_req, a, 4), np.nan),
        "n_att": np.empty(n_req, dtype=np.int64),
    }
    build_structures_nb(ch["chain_dte"], ch["chain_spot"], ch["chain_inc"], sr, so,
                        *(rw[name] for name in ROW_ARRAYS), lo, hi, kd, pr, out["status"], out["chains"],
                        out["legs"], out["qty"], out["values"], out["att_code"], out["att_detail"], out["att_num"],
                        out["n_att"])  # fmt: skip
    return out


def warm() -> None:
    """Compile (or load) the structure kernels on a tiny chain: one put credit spread."""
    strike = np.array([95.0, 95.0, 100.0, 100.0])
    call = np.array([1, 0, 1, 0], dtype=np.int8)
    one = np.ones(4)
    off = np.array([0, 4], dtype=np.int64)
    inc = chain_increments(off, strike, [100.0], 0.1, [1.0, 5.0])
    chain = {"chain_dte": [30.0], "chain_spot": [100.0], "chain_inc": inc}
    rows = dict.fromkeys(ROW_ARRAYS, one) | {"strike": strike, "is_call": call, "bid": one, "ask": one * 1.1}
    params = np.zeros((1, N_PARAMS))
    params[0, [P_WIDTH, P_TARGET_DTE, P_MAX_DTE, P_MAX_SUB, P_K]] = 5.0, 30.0, 60.0, 5.0, 1.0
    params[0, [P_CENTER, P_LOSS_CAP, P_MARGIN]] = np.nan
    build_structures_arrays(chain, [1, 3, 0, 2], [[0, 2], [2, 4]], rows, [0], [1], [Kind.PUT_CREDIT], params, [0], 1)
