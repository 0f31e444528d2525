"""Per-chain reductions over whole chain histories: parity forwards, smile summaries, term interpolation.

A *chain* is one (underlying, date, expiration): its rows are contiguous in flat arrays sorted by strike,
then right (call before put), and ``offsets`` (int64, n_chains + 1) delimits them. Every kernel loops over
chains in parallel and never looks outside a chain, so a chain's result depends on that chain alone (the
no-look-ahead property of the pipeline rests on it).

Output matrices are C-contiguous float64 of shape (n_chains, n_fields); the column order is given by the
``*_FIELDS`` tuples below, which the polars layer reads by name.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit, prange

from volengine.errors import KernelInputError
from volengine.kernels._flags import PARALLEL, SCALAR
from volengine.kernels._wrap import readonly

#: columns of :func:`_parity_forward_nb`'s output
PARITY_FIELDS = ("parity_forward", "parity_pairs", "parity_discount", "parity_fit_pairs")
#: columns of :func:`_chain_summary_nb`'s output
SUMMARY_FIELDS = (
    "atm_iv",  # mean of call and put IV at the listed strike nearest spot that has both
    "atm_strike",
    "atm_iv_fwd",  # out-of-the-money smile interpolated at the forward (linear in log-moneyness)
    "put_iv_25d",  # listed put whose delta is nearest -wing
    "put_strike_25d",
    "put_delta_25d",
    "call_iv_25d",  # listed call whose delta is nearest +wing
    "call_strike_25d",
    "call_delta_25d",
    "put_iv_25d_interp",  # IV interpolated in delta at exactly -wing
    "call_iv_25d_interp",  # ... and +wing
    "mfiv_var",  # Cboe-formula model-free variance, annualised
    "n_strikes",  # strikes with at least one solved IV
)


@njit(**SCALAR)
def _median_nb(a: Any, n: int) -> float:
    """Median of the first ``n`` entries of ``a`` (sorted in place)."""
    b = np.sort(a[:n])
    h = n // 2
    return b[h] if n % 2 == 1 else 0.5 * (b[h - 1] + b[h])


@njit(**PARALLEL)
def _parity_forward_nb(
    offsets: Any,
    strike: Any,
    is_call: Any,
    mid: Any,
    spot: Any,
    disc: Any,
    t: Any,
    near_pairs: int,
    min_fit_pairs: int,
    out: Any,
) -> None:
    """Parity forward per chain: median of ``K + (C − P) / D`` over the ``near_pairs`` pairs nearest spot.

    Also a Theil–Sen fit of ``C − P = D·F − D·K`` over those pairs (slope −D): ``parity_discount`` is NaN with
    fewer than ``min_fit_pairs`` pairs or a non-positive slope. ``disc`` and ``spot`` are read at the chain's
    first row; a pair is a call row directly followed by the put of the same strike, both mids finite.
    """
    for g in prange(offsets.size - 1):
        lo, hi = offsets[g], offsets[g + 1]
        m = hi - lo
        dist = np.empty(m)
        ks = np.empty(m)
        ys = np.empty(m)
        n = 0
        for i in range(lo, hi - 1):
            if is_call[i] == 1 and is_call[i + 1] == 0 and strike[i] == strike[i + 1]:
                c, p = mid[i], mid[i + 1]
                if math.isfinite(c) and math.isfinite(p):
                    dist[n] = abs(strike[i] - spot[lo])
                    ks[n] = strike[i]
                    ys[n] = c - p
                    n += 1
        out[g, 1] = n
        if n == 0 or not (disc[lo] > 0.0):
            out[g, 0] = np.nan
            out[g, 2] = np.nan
            out[g, 3] = 0.0
            continue
        order = np.argsort(dist[:n])
        k = min(near_pairs, n)
        fwd = np.empty(k)
        for j in range(k):
            fwd[j] = ks[order[j]] + ys[order[j]] / disc[lo]
        out[g, 0] = _median_nb(fwd, k)
        out[g, 3] = k
        if k < min_fit_pairs or t[lo] <= 0.0:
            out[g, 2] = np.nan
            continue
        slopes = np.empty(k * (k - 1) // 2)
        ns = 0
        for a in range(k):
            for b in range(a + 1, k):
                dk = ks[order[b]] - ks[order[a]]
                if dk != 0.0:
                    slopes[ns] = (ys[order[b]] - ys[order[a]]) / dk
                    ns += 1
        d_fit = -_median_nb(slopes, ns) if ns > 0 else np.nan
        out[g, 2] = d_fit if d_fit > 0.0 else np.nan


@njit(**SCALAR)
def _interp_nb(x0: float, y0: float, x1: float, y1: float, x: float) -> float:
    if x1 == x0:
        return 0.5 * (y0 + y1)
    return y0 + (y1 - y0) * (x - x0) / (x1 - x0)


@njit(**SCALAR)
def _otm_iv_nb(call_iv: float, put_iv: float, k: float, fwd: float) -> float:
    """IV of the out-of-the-money side at strike ``k`` (put below the forward), else the other side's."""
    first, second = (put_iv, call_iv) if k < fwd else (call_iv, put_iv)
    return first if math.isfinite(first) else second


@njit(**PARALLEL)
def _chain_summary_nb(
    offsets: Any,
    strike: Any,
    is_call: Any,
    mid: Any,
    bid: Any,
    iv: Any,
    delta: Any,
    spot: Any,
    forward: Any,
    t: Any,
    disc: Any,
    wing: float,
    out: Any,
) -> None:
    """Smile summary per chain (fields :data:`SUMMARY_FIELDS`); NaN where a chain lacks the inputs.

    Rows of a chain are sorted by strike, calls before puts. ``spot``, ``forward``, ``t``, ``disc`` are read
    at the chain's first row; ``iv`` and ``delta`` are NaN for unsolved rows.
    """
    for g in prange(offsets.size - 1):
        lo, hi = offsets[g], offsets[g + 1]
        for f in range(out.shape[1]):
            out[g, f] = np.nan
        m = hi - lo
        # strike-level view of the chain: one slot per distinct strike
        ks = np.empty(m)
        civ = np.full(m, np.nan)
        piv = np.full(m, np.nan)
        cmid = np.full(m, np.nan)
        pmid = np.full(m, np.nan)
        cbid = np.full(m, np.nan)
        pbid = np.full(m, np.nan)
        cdel = np.full(m, np.nan)
        pdel = np.full(m, np.nan)
        n = -1
        for i in range(lo, hi):
            if n < 0 or strike[i] != ks[n]:
                n += 1
                ks[n] = strike[i]
            if is_call[i] == 1:
                civ[n], cmid[n], cbid[n], cdel[n] = iv[i], mid[i], bid[i], delta[i]
            else:
                piv[n], pmid[n], pbid[n], pdel[n] = iv[i], mid[i], bid[i], delta[i]
        n += 1
        s, fwd, tt, d = spot[lo], forward[lo], t[lo], disc[lo]
        n_iv = 0
        best = math.inf
        for j in range(n):
            if math.isfinite(civ[j]) or math.isfinite(piv[j]):
                n_iv += 1
            if civ[j] > 0.0 and piv[j] > 0.0 and abs(ks[j] - s) < best:
                best = abs(ks[j] - s)
                out[g, 0] = 0.5 * (civ[j] + piv[j])
                out[g, 1] = ks[j]
        out[g, 12] = n_iv
        # OTM smile at the forward: puts below F, calls at or above (the other side when one is missing)
        if fwd > 0.0:
            jl = -1
            ju = -1
            for j in range(n):
                if math.isfinite(_otm_iv_nb(civ[j], piv[j], ks[j], fwd)):
                    if ks[j] <= fwd:
                        jl = j
                    elif ju < 0:
                        ju = j
            if jl >= 0 and ju >= 0:
                vl = _otm_iv_nb(civ[jl], piv[jl], ks[jl], fwd)
                vu = _otm_iv_nb(civ[ju], piv[ju], ks[ju], fwd)
                out[g, 2] = _interp_nb(math.log(ks[jl]), vl, math.log(ks[ju]), vu, math.log(fwd))
            elif jl >= 0 and ks[jl] == fwd:
                out[g, 2] = _otm_iv_nb(civ[jl], piv[jl], ks[jl], fwd)
        # listed 25-delta strikes, and the IV interpolated in delta at exactly the wing delta
        bp = math.inf
        bc = math.inf
        for j in range(n):
            if math.isfinite(pdel[j]) and math.isfinite(piv[j]) and abs(pdel[j] + wing) < bp:
                bp = abs(pdel[j] + wing)
                out[g, 3], out[g, 4], out[g, 5] = piv[j], ks[j], pdel[j]
            if math.isfinite(cdel[j]) and math.isfinite(civ[j]) and abs(cdel[j] - wing) < bc:
                bc = abs(cdel[j] - wing)
                out[g, 6], out[g, 7], out[g, 8] = civ[j], ks[j], cdel[j]
        # deltas fall with strike for both rights: bracket the target between neighbours with valid IVs
        prev = -1
        for j in range(n):
            if math.isfinite(pdel[j]) and math.isfinite(piv[j]):
                if prev >= 0 and pdel[prev] >= -wing >= pdel[j]:
                    out[g, 9] = _interp_nb(pdel[j], piv[j], pdel[prev], piv[prev], -wing)
                prev = j
        prev = -1
        for j in range(n):
            if math.isfinite(cdel[j]) and math.isfinite(civ[j]):
                if prev >= 0 and cdel[prev] >= wing >= cdel[j]:
                    out[g, 10] = _interp_nb(cdel[j], civ[j], cdel[prev], civ[prev], wing)
                prev = j
        out[g, 11] = _model_free_var_nb(ks, cmid, pmid, cbid, pbid, n, fwd, tt, d)


@njit(**SCALAR)
def _model_free_var_nb(
    ks: Any, cmid: Any, pmid: Any, cbid: Any, pbid: Any, n: int, fwd: float, tt: float, d: float
) -> float:
    """Cboe VIX-formula variance of one expiry: (2/T) Σ ΔK/K² e^{rT} Q(K) − (1/T)(F/K0 − 1)².

    K0 is the first strike at or below F; puts below K0, calls above, the call/put average at K0. Quotes with
    a zero bid are skipped and two consecutive zero bids end the walk outward (Cboe's rule).
    """
    if not (fwd > 0.0 and tt > 0.0 and d > 0.0):
        return np.nan
    j0 = -1
    for j in range(n):
        if ks[j] <= fwd:
            j0 = j
    if j0 < 0:
        return np.nan
    use = np.zeros(n, dtype=np.int8)
    q = np.full(n, np.nan)
    if math.isfinite(cmid[j0]) and math.isfinite(pmid[j0]):
        q[j0] = 0.5 * (cmid[j0] + pmid[j0])
        use[j0] = 1
    zeros = 0
    for j in range(j0 - 1, -1, -1):
        if not (pbid[j] > 0.0):
            zeros += 1
            if zeros >= 2:
                break
            continue
        zeros = 0
        if math.isfinite(pmid[j]):
            q[j] = pmid[j]
            use[j] = 1
    zeros = 0
    for j in range(j0 + 1, n):
        if not (cbid[j] > 0.0):
            zeros += 1
            if zeros >= 2:
                break
            continue
        zeros = 0
        if math.isfinite(cmid[j]):
            q[j] = cmid[j]
            use[j] = 1
    idx = np.flatnonzero(use)
    if idx.size < 2:
        return np.nan
    total = 0.0
    for a in range(idx.size):
        j = idx[a]
        if a == 0:
            dk = ks[idx[1]] - ks[j]
        elif a == idx.size - 1:
            dk = ks[j] - ks[idx[a - 1]]
        else:
            dk = 0.5 * (ks[idx[a + 1]] - ks[idx[a - 1]])
        total += dk / (ks[j] * ks[j]) * q[j]
    k0 = ks[j0]
    return 2.0 / tt * total / d - (fwd / k0 - 1.0) ** 2 / tt


@njit(**PARALLEL)
def _term_interp_nb(offsets: Any, t: Any, var: Any, targets: Any, total: int, out: Any) -> None:
    """Interpolate per-expiry values to constant maturities.

    Per day (``offsets`` over expiries sorted by ``t``, rows with NaN ``var`` skipped): between the two
    expiries bracketing a target, the total variance ``w = var·t`` is linear in t when ``total`` is 1 (the
    value is an annualised variance), else the value itself is; outside the listed range the nearest expiry's
    value is held flat. ``out`` has shape (n_days, n_targets).
    """
    for g in prange(offsets.size - 1):
        lo, hi = offsets[g], offsets[g + 1]
        for k in range(targets.size):
            tau = targets[k]
            i0 = -1
            i1 = -1
            for i in range(lo, hi):
                if not (math.isfinite(var[i]) and t[i] > 0.0):
                    continue
                if t[i] <= tau:
                    i0 = i
                elif i1 < 0:
                    i1 = i
            if i0 >= 0 and i1 >= 0 and total == 1:
                w0, w1 = var[i0] * t[i0], var[i1] * t[i1]
                out[g, k] = _interp_nb(t[i0], w0, t[i1], w1, tau) / tau
            elif i0 >= 0 and i1 >= 0:
                out[g, k] = _interp_nb(t[i0], var[i0], t[i1], var[i1], tau)
            elif i0 >= 0:
                out[g, k] = var[i0]
            elif i1 >= 0:
                out[g, k] = var[i1]
            else:
                out[g, k] = np.nan


KERNELS = [_parity_forward_nb, _chain_summary_nb, _term_interp_nb]

# ---------------------------------------------------------------------------------------------- wrappers


def _f64(x: Any) -> Any:
    return readonly(np.require(np.asarray(x), np.float64, "C"))


def _i8(x: Any) -> Any:
    return readonly(np.require(np.asarray(x).astype(np.int8, copy=False), np.int8, "C"))


def _offsets(offsets: Any, n: int) -> Any:
    off = readonly(np.require(np.asarray(offsets), np.int64, "C"))
    if off.ndim != 1 or off.size < 1 or off[0] != 0 or off[-1] != n or np.any(np.diff(off) < 0):
        msg = f"argument 'offsets' must be non-decreasing int64 from 0 to {n}; got {off[:3]}...{off[-3:]}"
        raise KernelInputError(msg)
    return off


def parity_forwards(
    offsets: Any, strike: Any, is_call: Any, mid: Any, spot: Any, disc: Any, t: Any, *,
    near_pairs: int = 6, min_fit_pairs: int = 4,
) -> np.ndarray[Any, Any]:  # fmt: skip
    """Parity forward and fitted discount factor per chain; columns :data:`PARITY_FIELDS`.

    Parameters
    ----------
    offsets : ndarray of int64 of shape (n_chains + 1,)
        Chain boundaries in the flat row arrays.
    strike, mid, spot, disc, t : array_like of shape (n,)
        Rows sorted by strike then right within each chain; ``mid`` NaN where the quote is not valid.
    is_call : array_like of shape (n,)
        1 for calls, 0 for puts.
    near_pairs, min_fit_pairs : int
        Pairs nearest spot in the median; fewest pairs for the discount-factor fit.

    Returns
    -------
    ndarray of shape (n_chains, 4), float64
    """
    k = _f64(strike)
    off = _offsets(offsets, k.size)
    out = np.empty((off.size - 1, len(PARITY_FIELDS)))
    _parity_forward_nb(off, k, _i8(is_call), _f64(mid), _f64(spot), _f64(disc), _f64(t),
                       int(near_pairs), int(min_fit_pairs), out)  # fmt: skip
    return out


def chain_summary(
    offsets: Any, strike: Any, is_call: Any, mid: Any, bid: Any, iv: Any, delta: Any,
    spot: Any, forward: Any, t: Any, disc: Any, *, wing: float = 0.25,
) -> np.ndarray[Any, Any]:  # fmt: skip
    """Smile summary per chain; columns :data:`SUMMARY_FIELDS` (see :func:`_chain_summary_nb`).

    Returns
    -------
    ndarray of shape (n_chains, len(SUMMARY_FIELDS)), float64
    """
    k = _f64(strike)
    off = _offsets(offsets, k.size)
    out = np.empty((off.size - 1, len(SUMMARY_FIELDS)))
    _chain_summary_nb(off, k, _i8(is_call), _f64(mid), _f64(bid), _f64(iv), _f64(delta), _f64(spot),
                      _f64(forward), _f64(t), _f64(disc), float(wing), out)  # fmt: skip
    return out


def term_interp(offsets: Any, t: Any, var: Any, targets_years: Any, *, total: bool = True) -> np.ndarray[Any, Any]:
    """Values at constant maturities per day, linear in total variance (``total``) or in time.

    Annualised variances use ``total=True``; other values (risk reversals, butterflies) ``total=False``.

    Returns
    -------
    ndarray of shape (n_days, n_targets), float64
    """
    tt = _f64(t)
    off = _offsets(offsets, tt.size)
    tg = _f64(targets_years)
    out = np.empty((off.size - 1, tg.size))
    _term_interp_nb(off, tt, _f64(var), tg, int(bool(total)), out)
    return out
