"""Trailing statistics over date-keyed histories: percentile and rank, segment-aware, without look-ahead.

One definition serves the whole engine (seed-spec §3 #13): the **percentile** of the value on day t is
100 × the share of the previous ``window`` *values* (the current one excluded) that are strictly below it.
A history holds values, not days: a day whose value is NaN is not part of anyone's window (a date-keyed
history simply has no entry for it), and it gets NaN itself. Every window looks only backwards, inside its
own segment (one underlying), so a result on day t depends on rows ≤ t only.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit, prange

from volengine.errors import KernelInputError
from volengine.kernels._flags import PARALLEL
from volengine.kernels._wrap import array_1d, int_arg, out_buffer, segment_offsets

# ----------------------------------------------------------------------------------------------- kernels


@njit(**PARALLEL)
def _trailing_percentile_nb(x: Any, offsets: Any, window: int, min_periods: int, out: Any) -> None:
    """Percentile of ``x[i]`` among the previous ``window`` non-NaN values of its segment.

    ``x`` float64 (n,), ``offsets`` int64 (n_segments + 1,). ``out[i]`` is NaN when ``x[i]`` is NaN or fewer
    than ``min_periods`` earlier values exist; otherwise 100 · (#values < x[i]) / #values, in [0, 100].
    """
    for s in range(offsets.size - 1):
        lo = offsets[s]
        for i in prange(lo, offsets[s + 1]):
            v = x[i]
            if math.isnan(v):
                out[i] = np.nan
                continue
            count = 0
            below = 0
            j = i - 1
            while j >= lo and count < window:
                w = x[j]
                if not math.isnan(w):
                    count += 1
                    if w < v:
                        below += 1
                j -= 1
            out[i] = 100.0 * below / count if count >= min_periods and count > 0 else np.nan


@njit(**PARALLEL)
def _trailing_rank_nb(x: Any, offsets: Any, window: int, min_periods: int, out: Any) -> None:
    """Rank 100 · (x − min) / (max − min) over the last ``window`` non-NaN values up to and including ``x[i]``.

    NaN when ``x[i]`` is NaN, fewer than ``min_periods`` values exist (the current one counts) or the window
    is flat (max = min).
    """
    for s in range(offsets.size - 1):
        lo = offsets[s]
        for i in prange(lo, offsets[s + 1]):
            v = x[i]
            if math.isnan(v):
                out[i] = np.nan
                continue
            count = 0
            mn = math.inf
            mx = -math.inf
            j = i
            while j >= lo and count < window:
                w = x[j]
                if not math.isnan(w):
                    count += 1
                    mn = min(mn, w)
                    mx = max(mx, w)
                j -= 1
            out[i] = 100.0 * (v - mn) / (mx - mn) if count >= min_periods and mx > mn else np.nan


KERNELS = [_trailing_percentile_nb, _trailing_rank_nb]

# ---------------------------------------------------------------------------------------------- wrappers


def _prepare(x: Any, window: Any, min_periods: Any, segment: Any) -> tuple[Any, Any, int, int]:
    arr = array_1d(x, "x")
    w = int_arg(window, "window", 1)
    m = w if min_periods is None else int_arg(min_periods, "min_periods", 1)
    if m > w + 1:
        msg = f"argument 'min_periods' must be <= window + 1 ({w + 1}); got {m}"
        raise KernelInputError(msg)
    return arr, segment_offsets(segment, arr.shape[0]), w, m


def trailing_percentile(
    x: Any,
    window: int,
    *,
    min_periods: int | None = None,
    segment: Any = None,
    out: np.ndarray[Any, Any] | None = None,
) -> np.ndarray[Any, Any]:
    """Percentile of each value against the previous ``window`` values of its history (current excluded).

    Parameters
    ----------
    x : array_like of shape (n,)
        Values in date order within each segment; NaN marks a day without a value.
    window : int
        Earlier values compared with, >= 1 (VolMachine: 252 for VRP, 60 for skew).
    min_periods : int, optional
        Fewest earlier values for a result (default ``window``); fewer give NaN, never an invented 50.
    segment : array_like of int of shape (n,), optional
        One id per row (e.g. per underlying), each id one contiguous block; windows never cross blocks.
    out : ndarray of shape (n,), float64, optional
        Buffer for the result.

    Returns
    -------
    ndarray of shape (n,), float64
        100 · share of the earlier values strictly below the current one, in [0, 100], or NaN.

    Examples
    --------
    >>> trailing_percentile([1.0, 3.0, 2.0, 5.0], 3, min_periods=1)
    array([ nan, 100.,  50., 100.])
    """
    arr, offsets, w, m = _prepare(x, window, min_periods, segment)
    res = out_buffer(out, arr.shape)
    _trailing_percentile_nb(arr, offsets, w, m, res)
    return res


def trailing_rank(
    x: Any,
    window: int,
    *,
    min_periods: int | None = None,
    segment: Any = None,
    out: np.ndarray[Any, Any] | None = None,
) -> np.ndarray[Any, Any]:
    """Rank (IV-rank style) of each value in the range of its last ``window`` values (current included).

    Parameters
    ----------
    x : array_like of shape (n,)
        Values in date order within each segment; NaN marks a day without a value.
    window : int
        Values in the range, the current one included, >= 1.
    min_periods : int, optional
        Fewest values (current included) for a result; default ``window``.
    segment : array_like of int of shape (n,), optional
        One id per row, each id one contiguous block.
    out : ndarray of shape (n,), float64, optional
        Buffer for the result.

    Returns
    -------
    ndarray of shape (n,), float64
        ``100 · (x − min) / (max − min)`` in [0, 100]; NaN without enough values or on a flat window.

    Examples
    --------
    >>> trailing_rank([1.0, 3.0, 2.0], 3, min_periods=2)
    array([ nan, 100.,  50.])
    """
    arr, offsets, w, m = _prepare(x, window, min_periods, segment)
    res = out_buffer(out, arr.shape)
    _trailing_rank_nb(arr, offsets, w, m, res)
    return res
