"""Sequential and trailing kernels of the regime engine: realized vol, 252-bar high, hysteresis.

Every result on row i depends on rows <= i of its own segment only, and is computed by the same operations
whatever follows row i, so a history cut at day d gives bit-for-bit the values of the full run up to d (the
regime engine's no-look-ahead test compares them exactly). That is why realized vol is recomputed here by a
direct two-pass sum per window instead of :func:`volengine.kernels.realized_vol`, whose O(n) block sums
shift by a block mean and so change in the last bits with the length of the series (they agree to ~1e-13).

The kernels are serial: a regime history is a few thousand rows per underlying (O(n x window) here is about
a millisecond), less than the cost of starting a parallel region on a busy machine.

Regime codes (int8) follow ``volengine.regime.REGIME_STATES``: 0 is WARMUP, 1..5 the five regimes; score
and decision matrices have one column per regime, column ``j`` holding regime code ``j + 1``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

from volengine.errors import KernelInputError
from volengine.kernels._flags import SERIAL
from volengine.kernels._wrap import array_1d, int_arg, segment_offsets
from volengine.kernels.realized import realized_vol

#: number of regimes scored (the columns of a decision matrix)
N_REGIMES = 5

# ----------------------------------------------------------------------------------------------- kernels


@njit(**SERIAL)
def _trailing_high_nb(price: Any, offsets: Any, window: int, out_drawdown: Any, out_days: Any) -> None:
    """Drawdown from the high of the last ``window`` prices and the bars since that high, per row.

    ``out_drawdown[i] = price[i] / max(price[i - window + 1 .. i]) - 1`` and ``out_days[i]`` = i minus the
    row of that max (the most recent one on ties, 0 when today is the high). Both NaN until ``window``
    prices exist in the segment (never a shorter "52-week" window) or when a price in the window is NaN.
    """
    for s in range(offsets.size - 1):
        lo = offsets[s]
        for i in range(lo, offsets[s + 1]):
            if i - lo < window - 1:
                out_drawdown[i] = np.nan
                out_days[i] = np.nan
                continue
            best = -math.inf
            at = i
            is_bad = False
            # scanning backwards with a strict `>` keeps the most recent row of a tied high
            for j in range(i, i - window, -1):
                v = price[j]
                if math.isnan(v):
                    is_bad = True
                    break
                if v > best:
                    best = v
                    at = j
            if is_bad:
                out_drawdown[i] = np.nan
                out_days[i] = np.nan
            else:
                out_drawdown[i] = price[i] / best - 1.0
                out_days[i] = float(i - at)


@njit(**SERIAL)
def _hysteresis_nb(
    decision: Any,
    raw: Any,
    tie_rank: Any,
    offsets: Any,
    min_dwell_days: int,
    confirm_days: int,
    switch_margin_score: float,
    min_winning_score: float,
    out: Any,
) -> None:
    """Damp regime switches: keep the incumbent unless the raw winner is allowed to replace it.

    Parameters
    ----------
    decision : ndarray of shape (n * 5,), float64
        Row-major (n, 5) decision scores: the regime's score, or -inf where it may not win that day.
    raw : ndarray of shape (n,), int8
        Raw winner code per row (1..5), 0 on WARMUP rows.
    tie_rank : ndarray of shape (5,), int64
        Position of each regime column in the tie order (0 wins ties).
    offsets : ndarray of shape (n_segments + 1,), int64
        Segment boundaries; the state never crosses one.
    min_dwell_days, confirm_days : int
        Days the incumbent must have lasted, and days in a row the same challenger must have been the raw
        winner, before a switch.
    switch_margin_score : float
        Score handicap of the challenger.
    min_winning_score : float
        An incumbent whose decision score is below this today could not win on its own ("not viable").
    out : ndarray of shape (n,), int8
        Receives the regime code per row.

    Notes
    -----
    A WARMUP row (``raw == 0``) resets the state and is output as 0; the next row starts with its raw
    winner. On a row whose raw winner ``r`` differs from the incumbent ``c`` (``c`` having lasted ``dwell``
    days, ``r`` having been the raw winner ``streak`` days in a row), the output switches to ``r`` iff

    ``dwell >= min_dwell_days and streak >= confirm_days and (not viable(c) or beats(r, c))``,

    ``viable(c) = D[c] >= min_winning_score`` and ``beats(r, c) = D[r] - margin > D[c]``, or
    ``D[r] - margin == D[c]`` with ``r`` before ``c`` in the tie order: the challenger must win the raw
    contest (score, then tie order) with ``margin`` points taken off. With ``min_dwell_days = 0``,
    ``confirm_days = 1`` and ``margin = 0`` every raw winner passes (it beats any viable incumbent by
    construction, and on a fallback day no regime is viable), so ``out == raw``. Sequential; row i reads
    rows <= i only.
    """
    k = tie_rank.size
    for s in range(offsets.size - 1):
        cur = -1
        dwell = 0
        challenger = -1
        streak = 0
        for i in range(offsets[s], offsets[s + 1]):
            r = raw[i]
            if r <= 0:
                out[i] = 0
                cur = -1
                dwell = 0
                challenger = -1
                streak = 0
                continue
            if cur < 0 or r == cur:
                dwell = dwell + 1 if r == cur else 1
                cur = r
                challenger = -1
                streak = 0
                out[i] = cur
                continue
            streak = streak + 1 if r == challenger else 1
            challenger = r
            d_cur = decision[i * k + cur - 1]
            d_new = decision[i * k + r - 1] - switch_margin_score
            beats = d_new > d_cur or (d_new == d_cur and tie_rank[r - 1] < tie_rank[cur - 1])
            if dwell >= min_dwell_days and streak >= confirm_days and (d_cur < min_winning_score or beats):
                cur = r
                dwell = 1
                challenger = -1
                streak = 0
            else:
                dwell += 1
            out[i] = cur


#: compiled array kernels called by the wrappers
KERNELS = [_trailing_high_nb, _hysteresis_nb]

# ---------------------------------------------------------------------------------------------- wrappers


def _finite_number(value: Any, name: str, *, is_positive: bool) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        out = math.nan
    if not math.isfinite(out) or (is_positive and out <= 0.0):
        bound = " > 0" if is_positive else ""
        msg = f"argument '{name}' must be a finite number{bound}; got {value!r}"
        raise KernelInputError(msg)
    return out


def trailing_log_vol(
    price: Any,
    window: int,
    *,
    segment: Any = None,
    periods_per_year: float = 252,
    out: np.ndarray[Any, Any] | None = None,
) -> np.ndarray[Any, Any]:
    """Rolling close-to-close realized vol: sample std (ddof 1) of the last ``window`` log returns, annualized.

    Parameters
    ----------
    price : array_like of shape (n,)
        Closes in date order within each segment.
    window : int
        Log returns per window, >= 2 (``window + 1`` closes).
    segment : array_like of int of shape (n,), optional
        One id per row, each id one contiguous block; windows never cross blocks.
    periods_per_year : float, default 252
        The variance is multiplied by this before the square root.
    out : ndarray of shape (n,), float64, optional
        Buffer for the result.

    Returns
    -------
    ndarray of shape (n,), float64
        ``sqrt(var(r) * periods_per_year)``; NaN on the first ``window`` rows of a segment and wherever a
        price of the window is not a finite positive number.

    Examples
    --------
    >>> trailing_log_vol([100.0, 101.0, 99.5, 100.5], 2).round(4)
    array([   nan,    nan, 0.2797, 0.2802])
    """
    # one close-to-close estimator in the engine: realized_vol's, exact under truncation
    return realized_vol(None, None, None, price, window, method="close_to_close", segment=segment,
                        periods_per_year=periods_per_year, out=out)  # fmt: skip


def trailing_high(price: Any, window: int, *, segment: Any = None) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Drawdown from the trailing ``window``-bar high and the bars since that high.

    Parameters
    ----------
    price : array_like of shape (n,)
        Closes in date order within each segment.
    window : int
        Bars in the window, today included (252 for a 52-week high), >= 1.
    segment : array_like of int of shape (n,), optional
        One id per row, each id one contiguous block.

    Returns
    -------
    drawdown : ndarray of shape (n,), float64
        ``price / window high - 1`` (<= 0), NaN until ``window`` bars exist or when the window holds a NaN.
    days_since_high : ndarray of shape (n,), float64
        Bars since the most recent bar at the window high (0 = today), NaN where ``drawdown`` is.

    Examples
    --------
    >>> dd, days = trailing_high([1.0, 3.0, 2.0, 1.5], 3)
    >>> dd.round(3), days
    (array([   nan,    nan, -0.333, -0.5  ]), array([nan, nan,  1.,  2.]))
    """
    arr = array_1d(price, "price", np.float64)
    w = int_arg(window, "window", 1)
    offsets = segment_offsets(segment, arr.shape[0])
    drawdown = np.empty(arr.shape)
    days = np.empty(arr.shape)
    _trailing_high_nb(arr, offsets, w, drawdown, days)
    return drawdown, days


def hysteresis(
    decision: Any,
    raw: Any,
    tie_rank: Any,
    *,
    segment: Any = None,
    min_dwell_days: int = 0,
    confirm_days: int = 1,
    switch_margin_score: float = 0.0,
    min_winning_score: float = 1.0,
) -> np.ndarray[Any, Any]:
    """Regime after hysteresis, from per-day decision scores and raw winners (rule in ``_hysteresis_nb``).

    Parameters
    ----------
    decision : array_like of shape (n, 5) or (n * 5,)
        Decision score per day and regime column (regime code - 1); -inf where the regime may not win.
    raw : array_like of int of shape (n,)
        Raw winner code per day, 1..5, or 0 on WARMUP days.
    tie_rank : array_like of int of shape (5,)
        Tie-order position of each regime column (0 wins ties); a permutation of 0..4.
    segment : array_like of int of shape (n,), optional
        One id per row (underlying), each id one contiguous block; the state restarts in each block.
    min_dwell_days : int, default 0
        Days the incumbent must have lasted before it can be replaced.
    confirm_days : int, default 1
        Days in a row the same challenger must be the raw winner before a switch (1 = at once).
    switch_margin_score : float, default 0.0
        Score points the challenger needs on top of winning the (score, tie order) contest.
    min_winning_score : float, default 1.0
        An incumbent below this decision score is not viable and can be replaced without the margin.

    Returns
    -------
    ndarray of shape (n,), int8
        Regime code per day (0 on WARMUP days); equals ``raw`` when ``min_dwell_days = 0``,
        ``confirm_days = 1`` and ``switch_margin_score = 0``.

    Examples
    --------
    >>> import numpy as np
    >>> dec = np.tile([0.0, 0.0, 2.0, 2.5, 0.0], (4, 1))
    >>> hysteresis(dec, [3, 4, 4, 3], np.arange(5), switch_margin_score=1.0)
    array([3, 3, 3, 3], dtype=int8)
    """
    codes = np.asarray(raw)
    if codes.dtype.kind not in "iu" or codes.ndim != 1:
        msg = (
            f"argument 'raw' must be a 1-D integer array of regime codes; got dtype {codes.dtype}, shape {codes.shape}"
        )
        raise KernelInputError(msg)
    if codes.size and (codes.min() < 0 or codes.max() > N_REGIMES):
        msg = f"argument 'raw' must hold regime codes 0..{N_REGIMES}; got values {codes.min()}..{codes.max()}"
        raise KernelInputError(msg)
    raw_arr = array_1d(codes, "raw", np.int8)
    n = raw_arr.shape[0]
    dec = np.asarray(decision, dtype=np.float64)
    if dec.size != n * N_REGIMES or (dec.ndim == 2 and dec.shape != (n, N_REGIMES)) or dec.ndim > 2:
        msg = f"argument 'decision' must have shape ({n}, {N_REGIMES}) (one row per raw winner); got {dec.shape}"
        raise KernelInputError(msg)
    dec_flat = array_1d(dec.reshape(-1), "decision", np.float64)
    rank = array_1d(tie_rank, "tie_rank", np.int64)
    if sorted(rank.tolist()) != list(range(N_REGIMES)):
        msg = f"argument 'tie_rank' must be a permutation of 0..{N_REGIMES - 1}; got {rank.tolist()}"
        raise KernelInputError(msg)
    dwell = int_arg(min_dwell_days, "min_dwell_days", 0)
    confirm = int_arg(confirm_days, "confirm_days", 1)
    margin = _finite_number(switch_margin_score, "switch_margin_score", is_positive=False)
    floor = _finite_number(min_winning_score, "min_winning_score", is_positive=False)
    offsets = segment_offsets(segment, n)
    out = np.empty(n, dtype=np.int8)
    _hysteresis_nb(dec_flat, raw_arr, rank, offsets, dwell, confirm, margin, floor, out)
    return out
