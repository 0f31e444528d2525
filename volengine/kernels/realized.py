"""Rolling realized volatility from OHLC bars: close-to-close and the range estimators.

Layout follows the house kernel style: the ``*_nb`` kernels first (flat 1-D float64 arrays, int64 segment
offsets, results written into ``out``), then the public wrapper :func:`realized_vol`, which validates,
canonicalises and calls them.

Algorithm (details in ``_realized_vol_nb``): one parallel pass turns each bar into its per-bar terms (log
returns, squared log ranges, the Rogers-Satchell term), NaN for a bar with a bad price; a second parallel
pass forms every window's sums from block prefix and suffix sums, O(n) for any window, with the error bound
of direct summation and an exact two-pass fallback for the variances.
"""

from __future__ import annotations

import math
import numbers
import operator
from typing import Any

import numpy as np
from numba import njit, prange

from volengine.errors import KernelInputError
from volengine.kernels._flags import PARALLEL, SCALAR
from volengine.kernels._wrap import array_1d, out_buffer, segment_offsets
from volengine.kernels.enums import RVMethod

_C2C = int(RVMethod.CLOSE_TO_CLOSE)
_PARKINSON = int(RVMethod.PARKINSON)
_GARMAN_KLASS = int(RVMethod.GARMAN_KLASS)
_ROGERS_SATCHELL = int(RVMethod.ROGERS_SATCHELL)
_YANG_ZHANG = int(RVMethod.YANG_ZHANG)

_PARKINSON_SCALE = 1.0 / (4.0 * math.log(2.0))
_GK_CLOSE_COEF = 2.0 * math.log(2.0) - 1.0
#: rows per parallel task in pass 2 (rounded to whole blocks); large enough to amortise a task's setup
_ROWS_PER_TASK = 4096

#: method name -> enum member; the names are the public spelling of ``method``
METHOD_NAMES: dict[str, RVMethod] = {m.name.lower(): m for m in RVMethod}


# ----------------------------------------------------------------------------------------------- kernels


@njit(**SCALAR)
def _is_price_nb(x: float) -> bool:
    """True for a finite, strictly positive price (False for NaN, +-inf, 0 and negatives)."""
    return x > 0.0 and x < math.inf


@njit(**SCALAR)
def _bar_terms_nb(open_: Any, high: Any, low: Any, close: Any, i: int, method: int) -> tuple[float, float, float]:
    """Per-bar terms of bar ``i`` for ``method``; NaN for a bar with a bad price the method reads.

    close_to_close: (r_i, -, -); parkinson: (ln(H/L)^2, -, -); garman_klass: (GK term, -, -);
    rogers_satchell: (RS term, -, -); yang_zhang: (o_i, c_i, RS term). The bar ``i = 0`` has no previous
    close, so its close_to_close and yang_zhang terms are NaN (never read: segment starts are excluded).
    """
    nan = np.nan
    c = close[i]
    if method == _C2C:
        if i == 0 or not (_is_price_nb(c) and _is_price_nb(close[i - 1])):
            return nan, nan, nan
        return math.log(c / close[i - 1]), nan, nan
    o = open_[i]
    h = high[i]
    lo = low[i]
    if method == _PARKINSON:
        if not (_is_price_nb(h) and _is_price_nb(lo)):
            return nan, nan, nan
        hl = math.log(h / lo)
        return hl * hl, nan, nan
    if not (_is_price_nb(o) and _is_price_nb(h) and _is_price_nb(lo) and _is_price_nb(c)):
        return nan, nan, nan
    if method == _GARMAN_KLASS:
        hl = math.log(h / lo)
        co = math.log(c / o)
        return 0.5 * hl * hl - _GK_CLOSE_COEF * co * co, nan, nan
    # four logs of ratios, as written: ln(H/C) as ln(H/O) - ln(C/O) saves one but cancels when H ~ C.
    # `arcp` lets LLVM share one 1/o (and 1/c) between the ratios: <= 1 ulp in each ratio instead of 1/2,
    # i.e. a relative ~2e-16 / |ln ratio| in the log, the same order as the rounding of the ratio itself.
    co = math.log(c / o)
    rs = math.log(h / c) * math.log(h / o) + math.log(lo / c) * math.log(lo / o)
    if method == _ROGERS_SATCHELL:
        return rs, nan, nan
    if i == 0 or not _is_price_nb(close[i - 1]):
        return nan, nan, nan
    return math.log(o / close[i - 1]), co, rs


@njit(**SCALAR)
def _window_var_nb(x: Any, lo: int, hi: int) -> float:
    """Sample variance (ddof=1) of ``x[lo:hi]`` by the exact two-pass method (NaN if any element is NaN)."""
    n = hi - lo
    s = 0.0
    for j in range(lo, hi):
        s += x[j]
    m = s / n
    if math.isnan(m):
        return np.nan
    ss = 0.0
    for j in range(lo, hi):
        d = x[j] - m
        ss += d * d
    return ss / (n - 1)


@njit(**SCALAR)
def _finite_mean_nb(x: Any, lo: int, hi: int) -> float:
    """Mean of the non-NaN elements of ``x[lo:hi]``, 0.0 if there are none (used only as a shift)."""
    s = 0.0
    cnt = 0
    for j in range(lo, hi):
        if not math.isnan(x[j]):
            s += x[j]
            cnt += 1
    return s / cnt if cnt else 0.0


@njit(**SCALAR)
def _shift_nb(x: Any, ps: int, bs: int, be: int) -> float:
    """Shift of a block's sums, from data no later than the block's rows read, so that a history cut
    anywhere gives bit-identical values on the rows it keeps (the no-look-ahead contract).

    The mean of the previous (always complete) block; for a segment's first block, its first finite term
    (a row before that term has an all-NaN window and is NaN whatever the shift).
    """
    if bs > ps:
        return _finite_mean_nb(x, ps, bs)
    for j in range(bs, be):
        if not math.isnan(x[j]):
            return x[j]
    return 0.0


@njit(**SCALAR)
def _window_sums_nb(x: Any, shift: float, ps: int, bs: int, be: int, s1: Any, s2: Any) -> None:
    """Window sums of ``x - shift`` and ``(x - shift)^2`` for the rows of block ``bs:be``.

    The window of row ``bs + t`` is the suffix ``ps + t + 1:bs`` of the previous block plus the prefix
    ``bs:bs + t + 1`` of this one (``ps = bs - window``; ``ps = bs`` for a segment's first block, whose rows
    then get partial sums). ``s1[t]``, ``s2[t]`` receive the sums for ``t < be - bs``.
    """
    a1 = 0.0
    a2 = 0.0
    for t in range(bs - ps - 1, -1, -1):
        if t < be - bs:
            s1[t] = a1
            s2[t] = a2
        d = x[ps + t] - shift
        a1 += d
        a2 += d * d
    if bs == ps:
        s1[: be - bs] = 0.0
        s2[: be - bs] = 0.0
    a1 = 0.0
    a2 = 0.0
    for t in range(be - bs):
        d = x[bs + t] - shift
        a1 += d
        a2 += d * d
        s1[t] += a1
        s2[t] += a2


@njit(**SCALAR)
def _var_from_sums_nb(x: Any, sum1: float, sum2: float, lo: int, hi: int) -> float:
    """Sample variance (ddof=1) of ``x[lo:hi]`` from its shifted sums ``sum1``, ``sum2``.

    ``(sum2 - sum1^2 / n) / (n - 1)`` loses accuracy when the shift is far from the window mean, i.e. when
    ``sum1^2 / n`` is a large part of ``sum2``. Up to one half the error stays below ~5x that of a direct
    sum; beyond it (an outlier in the neighbouring block, a strong trend) the row is recomputed exactly.
    """
    n = hi - lo
    c = sum1 * sum1 / n
    if c > 0.5 * sum2:
        return _window_var_nb(x, lo, hi)
    return (sum2 - c) / (n - 1)


@njit(**SCALAR)
def _rv_block_nb(
    t0: Any,
    t1: Any,
    t2: Any,
    method: int,
    ps: int,
    bs: int,
    be: int,
    first_t: int,
    w: int,
    k: float,
    periods_per_year: float,
    out: Any,
    buf: Any,
) -> None:
    """Write ``out[bs:be]`` for one block of window ``w`` from the per-bar terms (see ``_realized_vol_nb``).

    ``buf`` is scratch of shape (6, >= be - bs).
    """
    is_var = method == _C2C or method == _YANG_ZHANG
    shift0 = _shift_nb(t0, ps, bs, be) if is_var else 0.0
    _window_sums_nb(t0, shift0, ps, bs, be, buf[0], buf[1])
    if method == _YANG_ZHANG:
        _window_sums_nb(t1, _shift_nb(t1, ps, bs, be), ps, bs, be, buf[2], buf[3])
        _window_sums_nb(t2, 0.0, ps, bs, be, buf[4], buf[5])
    for t in range(be - bs):
        i = bs + t
        if t < first_t:
            out[i] = np.nan
            continue
        lo = i - w + 1
        if method == _C2C:
            var = _var_from_sums_nb(t0, buf[0, t], buf[1, t], lo, i + 1)
        elif method == _YANG_ZHANG:
            var = _var_from_sums_nb(t0, buf[0, t], buf[1, t], lo, i + 1)
            var += k * _var_from_sums_nb(t1, buf[2, t], buf[3, t], lo, i + 1)
            var += (1.0 - k) * buf[4, t] / w
        elif method == _PARKINSON:
            var = buf[0, t] / w * _PARKINSON_SCALE
        else:
            var = buf[0, t] / w
        # `>=` is False for NaN; the explicit test keeps a negative variance NaN whatever `afn` does to sqrt
        out[i] = math.sqrt(var * periods_per_year) if var >= 0.0 else np.nan


@njit(**SCALAR)
def _block_tasks_nb(offsets: Any, window: int, rows_per_task: int) -> tuple[Any, Any, Any]:
    """Split each segment into tasks of whole blocks: (first row, end row, segment start) per task."""
    per = max(1, rows_per_task // window) * window
    n_tasks = 0
    for s in range(offsets.size - 1):
        n_tasks += (offsets[s + 1] - offsets[s] + per - 1) // per
    lo = np.empty(n_tasks, dtype=np.int64)
    hi = np.empty(n_tasks, dtype=np.int64)
    st = np.empty(n_tasks, dtype=np.int64)
    j = 0
    for s in range(offsets.size - 1):
        for r in range(offsets[s], offsets[s + 1], per):
            lo[j] = r
            hi[j] = min(r + per, offsets[s + 1])
            st[j] = offsets[s]
            j += 1
    return lo, hi, st


@njit(**PARALLEL)
def _realized_vol_nb(
    open_: Any,
    high: Any,
    low: Any,
    close: Any,
    offsets: Any,
    window: int,
    method: int,
    periods_per_year: float,
    out: Any,
) -> None:
    """Rolling annualized realized volatility of flat OHLC bars, segment by segment, into ``out``.

    Parameters
    ----------
    open_, high, low, close : ndarray of shape (n,), float64, C-contiguous
        Bar prices. close_to_close reads only ``close`` (the other three may be any float64 arrays of the
        same type, e.g. ``close`` itself); parkinson reads only ``high`` and ``low``.
    offsets : ndarray of shape (n_segments + 1,), int64
        Segment boundaries: segment ``s`` is rows ``offsets[s]:offsets[s + 1]``; ``offsets[0] = 0``,
        ``offsets[-1] = n``, no segment empty. No window crosses a boundary.
    window : int
        Bars per window (>= 2). close_to_close and yang_zhang use the ``window`` bars ending at the row and
        the close before them.
    method : int
        An ``RVMethod`` value.
    periods_per_year : float
        Annualization factor (> 0): the variance is multiplied by it before the square root.
    out : ndarray of shape (n,), float64, writable
        Receives the volatility. Written only after every price has been read, so it may alias an input.

    Notes
    -----
    O(n) time (plus O(window) for each row that takes the exact fallback), O(n) scratch for the per-bar
    terms. Pass 1 (parallel over bars) computes each bar's
    terms, NaN for a bar with a non-finite or non-positive price the method reads. Pass 2 (parallel over
    tasks of whole blocks) cuts each segment into blocks of ``window`` rows: a window ending in block b is a
    suffix of block b - 1 plus a prefix of block b, so every window sum is two plain sums of at most
    ``window`` terms (the block trick of the van Herk / Gil-Werman running max filter [1]_ [2]_, applied to
    sums). That has the error bound of direct summation, never
    drifts the way add-and-subtract running sums do, and needs no NaN bookkeeping: a NaN term makes exactly
    the sums that contain it NaN. Variances use sums shifted by the local mean, with an exact two-pass
    fallback (``_var_from_sums_nb``).

    NaN where the window is incomplete (the first ``window - 1`` rows of a segment for the range
    estimators, ``window`` rows for close_to_close and yang_zhang), where a term in the window is NaN, or
    where the variance comes out negative (only possible with inconsistent bars, e.g. ``high < low``).
    The wrapper validates everything; this kernel never raises.

    References
    ----------
    .. [1] van Herk, M. (1992). A fast algorithm for local minimum and maximum filters on rectangular and
       octagonal kernels. Pattern Recognition Letters 13(7), 517-521.
       https://doi.org/10.1016/0167-8655(92)90069-C
    .. [2] Gil, J., Werman, M. (1993). Computing 2-D min, median, and max filters. IEEE Transactions on
       Pattern Analysis and Machine Intelligence 15(5), 504-507. https://doi.org/10.1109/34.211471
    """
    n = close.size
    is_yz = method == _YANG_ZHANG
    lag = 1 if method == _C2C or is_yz else 0
    t0 = np.empty(n)
    t1 = np.empty(n if is_yz else 0)
    t2 = np.empty(n if is_yz else 0)
    for i in prange(n):
        a, b, c = _bar_terms_nb(open_, high, low, close, i, method)
        t0[i] = a
        if is_yz:
            t1[i] = b
            t2[i] = c
    if lag:
        # a segment's first bar has no previous close inside the segment; its term must never be read
        for s in range(offsets.size - 1):
            t0[offsets[s]] = np.nan
            if is_yz:
                t1[offsets[s]] = np.nan
                t2[offsets[s]] = np.nan
    k = 0.34 / (1.34 + (window + 1.0) / (window - 1.0))
    task_lo, task_hi, task_st = _block_tasks_nb(offsets, window, _ROWS_PER_TASK)
    for j in prange(task_lo.size):
        # a block never holds more rows than its task: a window far longer than the data allocates nothing big
        buf = np.empty((6, min(window, task_hi[j] - task_lo[j])))
        for bs in range(task_lo[j], task_hi[j], window):
            be = min(bs + window, task_hi[j])
            if bs == task_st[j]:
                first_t = window - 1 + lag
                _rv_block_nb(t0, t1, t2, method, bs, bs, be, first_t, window, k, periods_per_year, out, buf)
            else:
                _rv_block_nb(t0, t1, t2, method, bs - window, bs, be, 0, window, k, periods_per_year, out, buf)


#: compiled array kernels called by the wrappers (the scalar ``_*_nb`` helpers compile through them)
KERNELS = [_realized_vol_nb]


# ----------------------------------------------------------------------------------------------- wrapper


def _method_code(method: Any) -> int:
    if isinstance(method, RVMethod):
        return int(method)
    if isinstance(method, str) and method.lower() in METHOD_NAMES:
        return int(METHOD_NAMES[method.lower()])
    valid = ", ".join(repr(name) for name in METHOD_NAMES)
    msg = f"argument 'method' must be one of {valid} (or an RVMethod); got {method!r}"
    raise KernelInputError(msg)


def _window_value(window: Any) -> int:
    try:
        if isinstance(window, bool | np.bool_):
            raise TypeError
        value = operator.index(window)
    except TypeError:
        msg = f"argument 'window' must be an integer >= 2; got {window!r}"
        raise KernelInputError(msg) from None
    if value < 2:
        msg = f"argument 'window' must be >= 2 (a sample variance needs two terms); got {value}"
        raise KernelInputError(msg)
    return value


def _periods_value(periods_per_year: Any) -> float:
    is_real = isinstance(periods_per_year, numbers.Real) and not isinstance(periods_per_year, bool | np.bool_)
    value = float(periods_per_year) if is_real else math.nan
    if not (value > 0.0 and math.isfinite(value)):
        msg = f"argument 'periods_per_year' must be a finite number > 0; got {periods_per_year!r}"
        raise KernelInputError(msg)
    return value


def realized_vol(
    open: Any,  # shadows the builtin on purpose: the public spelling of the OHLC field
    high: Any,
    low: Any,
    close: Any,
    window: int,
    method: str | RVMethod = "yang_zhang",
    segment: Any = None,
    periods_per_year: float = 252,
    out: np.ndarray[Any, Any] | None = None,
) -> np.ndarray[Any, Any]:
    """Rolling annualized realized volatility of OHLC bars, over the whole history.

    Parameters
    ----------
    open, high, low, close : array_like of shape (n,)
        Bar prices (any positive unit; the result is scale invariant). ``open``, ``high`` and ``low`` may be
        ``None`` for ``method="close_to_close"`` only.
    window : int
        Bars per window, >= 2. For close_to_close it is the number of returns (``window=20`` is a "20-day"
        vol from 20 daily returns, i.e. 21 closes).
    method : {"yang_zhang", "close_to_close", "parkinson", "garman_klass", "rogers_satchell"} or RVMethod
        Estimator; see Notes.
    segment : array_like of int of shape (n,), optional
        One id per row (e.g. per underlying). Rows of one id must be one contiguous block (an id may not
        reappear after a different id); ids need not be sorted. No window crosses a segment boundary, and
        each segment starts its own NaN prefix. ``None`` means one segment.
    periods_per_year : float, default 252
        Annualization: the per-bar variance is multiplied by it before the square root.
    out : ndarray of shape (n,), float64, optional
        Writable C-contiguous buffer for the result (allocated if ``None``). It may alias an input.

    Returns
    -------
    ndarray of shape (n,), float64
        Annualized volatility (1.00 = 100 %) of the window ending at each row; ``out`` if given.

    Raises
    ------
    KernelInputError
        Unknown ``method`` (the message lists the valid names); an array that is not 1-D or whose length
        differs from ``close``; ``open``/``high``/``low`` missing for a range estimator; ``window`` not an
        integer >= 2; ``periods_per_year`` not finite and > 0; ``segment`` not integer or not contiguous
        (the message names the row); an unusable ``out`` buffer.

    Notes
    -----
    With log prices, ``n = window`` bars ``i`` in the window, and ``mean``/``var`` the sample mean and the
    sample variance (ddof = 1) over them, the per-bar variance is

    * close_to_close: ``var(r_i)``, ``r_i = ln(C_i / C_{i-1})``;
    * parkinson [1]_: ``mean(ln(H_i / L_i)^2) / (4 ln 2)``;
    * garman_klass [2]_: ``mean(0.5 ln(H_i / L_i)^2 - (2 ln 2 - 1) ln(C_i / O_i)^2)``;
    * rogers_satchell [3]_: ``mean(ln(H_i / C_i) ln(H_i / O_i) + ln(L_i / C_i) ln(L_i / O_i))``;
    * yang_zhang [4]_: ``var(o_i) + k var(c_i) + (1 - k) RS``, with overnight ``o_i = ln(O_i / C_{i-1})``,
      open-to-close ``c_i = ln(C_i / O_i)``, ``RS`` the rogers_satchell mean and
      ``k = 0.34 / (1.34 + (n + 1) / (n - 1))``;

    and the result is ``sqrt(variance * periods_per_year)``. The cost is O(n) whatever the window (block
    prefix/suffix sums, see ``_realized_vol_nb``), parallel over rows, and one compiled specialization serves
    all inputs (they are canonicalised to read-only C-contiguous float64).

    **NaN convention.** The range estimators (parkinson, garman_klass, rogers_satchell) use only the bar
    itself, so the first ``window - 1`` rows of each segment are NaN. close_to_close and yang_zhang need the
    close *before* each bar of the window, so the first ``window`` rows of each segment are NaN (as with
    ``log(close).diff().rolling(window).std()``). A row is also NaN when any price the method reads for its
    window is NaN, infinite or <= 0 (a bad bar poisons exactly the windows that read it; nothing is skipped):
    close_to_close reads the ``window + 1`` closes, parkinson the highs and lows, garman_klass and
    rogers_satchell all four prices of the window's bars, yang_zhang those plus the close before the first
    bar. Bars are not checked for consistency (``low <= open, close <= high``); an inconsistent bar that
    makes the variance negative gives NaN.

    References
    ----------
    .. [1] Parkinson, M. (1980). The extreme value method for estimating the variance of the rate of return.
       Journal of Business 53(1), 61-65. https://doi.org/10.1086/296071
    .. [2] Garman, M. B., Klass, M. J. (1980). On the estimation of security price volatilities from
       historical data. Journal of Business 53(1), 67-78. https://doi.org/10.1086/296072
    .. [3] Rogers, L. C. G., Satchell, S. E. (1991). Estimating variance from high, low and closing prices.
       Annals of Applied Probability 1(4), 504-512. https://doi.org/10.1214/aoap/1177005835
    .. [4] Yang, D., Zhang, Q. (2000). Drift-independent volatility estimation based on high, low, open, and
       close prices. Journal of Business 73(3), 477-491. https://doi.org/10.1086/209650

    Examples
    --------
    >>> close = [100.0, 101.0, 99.5, 100.5]
    >>> realized_vol(None, None, None, close, window=2, method="close_to_close").round(4)
    array([   nan,    nan, 0.2797, 0.2802])
    """
    code = _method_code(method)
    close_arr = array_1d(close, "close")
    n = close_arr.shape[0]
    fields = []
    for value, name in ((open, "open"), (high, "high"), (low, "low")):
        if value is None:
            if code != _C2C:
                msg = f"argument '{name}' is required for method {RVMethod(code).name.lower()!r}; got None"
                raise KernelInputError(msg)
            fields.append(close_arr)
            continue
        arr = array_1d(value, name)
        if arr.shape[0] != n:
            msg = f"argument '{name}' must have the length of 'close' ({n}); got {arr.shape[0]}"
            raise KernelInputError(msg)
        fields.append(arr)
    window_n = _window_value(window)
    periods = _periods_value(periods_per_year)
    offsets = segment_offsets(segment, n)
    result = out_buffer(out, (n,))
    if n:
        _realized_vol_nb(*fields, close_arr, offsets, window_n, code, periods, result)
    return result
