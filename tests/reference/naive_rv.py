"""Slow, obvious twin of ``volengine.kernels.realized``: plain Python loops over rows and windows.

Every row is computed from scratch from the prices in its window, with ``math.log`` on the price ratios
exactly as the formulas are written and a two-pass sample variance. No running sums, no blocks, no shared
per-bar terms: if this and the kernel agree, the kernel's bookkeeping is right.
"""

from __future__ import annotations

import math

import numpy as np

LN2 = math.log(2.0)


def _good(*prices: float) -> bool:
    return all(math.isfinite(p) and p > 0.0 for p in prices)


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs)


def _sample_var(xs: list[float]) -> float:
    m = _mean(xs)
    return sum((x - m) ** 2 for x in xs) / (len(xs) - 1)


def _window_variance(o, h, lo, c, first: int, last: int, method: str) -> float:
    """Per-bar variance of bars ``first..last`` (inclusive); NaN if a price it reads is bad."""
    bars = range(first, last + 1)
    if method == "close_to_close":
        if not _good(*(c[i] for i in range(first - 1, last + 1))):
            return math.nan
        return _sample_var([math.log(c[i] / c[i - 1]) for i in bars])
    if method == "parkinson":
        if not _good(*(h[i] for i in bars), *(lo[i] for i in bars)):
            return math.nan
        return _mean([math.log(h[i] / lo[i]) ** 2 for i in bars]) / (4.0 * LN2)
    if not _good(*(p for i in bars for p in (o[i], h[i], lo[i], c[i]))):
        return math.nan
    if method == "garman_klass":
        return _mean([0.5 * math.log(h[i] / lo[i]) ** 2 - (2.0 * LN2 - 1.0) * math.log(c[i] / o[i]) ** 2 for i in bars])
    rs = [math.log(h[i] / c[i]) * math.log(h[i] / o[i]) + math.log(lo[i] / c[i]) * math.log(lo[i] / o[i]) for i in bars]
    if method == "rogers_satchell":
        return _mean(rs)
    assert method == "yang_zhang", method
    if not _good(c[first - 1]):
        return math.nan
    n = last - first + 1
    k = 0.34 / (1.34 + (n + 1) / (n - 1))
    var_o = _sample_var([math.log(o[i] / c[i - 1]) for i in bars])
    var_c = _sample_var([math.log(c[i] / o[i]) for i in bars])
    return var_o + k * var_c + (1.0 - k) * _mean(rs)


def realized_vol(open, high, low, close, window, method="yang_zhang", segment=None, periods_per_year=252):
    """Rolling annualized realized volatility, row by row (same contract as the kernel wrapper)."""
    c = [float(x) for x in close]
    n = len(c)
    o = c if open is None else [float(x) for x in open]
    h = c if high is None else [float(x) for x in high]
    lo = c if low is None else [float(x) for x in low]
    seg = [0] * n if segment is None else [int(s) for s in segment]
    needs_prev_close = method in ("close_to_close", "yang_zhang")
    out = np.full(n, np.nan)
    for t in range(n):
        start = t
        while start > 0 and seg[start - 1] == seg[t]:
            start -= 1
        first = t - window + 1
        if first - (1 if needs_prev_close else 0) < start:
            continue
        var = _window_variance(o, h, lo, c, first, t, method)
        if var >= 0.0:
            out[t] = math.sqrt(var * periods_per_year)
    return out
