"""Slow, obvious twins of volengine.kernels.rolling: plain Python over date-keyed histories."""

from __future__ import annotations

import math


def trailing_percentile(x: list[float], segment: list[int], window: int, min_periods: int) -> list[float]:
    """100 x share of the previous `window` non-NaN values of the same segment strictly below x[i]."""
    out = []
    for i, v in enumerate(x):
        history = [w for j, w in enumerate(x[:i]) if segment[j] == segment[i] and not math.isnan(w)][-window:]
        if math.isnan(v) or len(history) < min_periods or not history:
            out.append(math.nan)
        else:
            out.append(100.0 * sum(w < v for w in history) / len(history))
    return out


def trailing_rank(x: list[float], segment: list[int], window: int, min_periods: int) -> list[float]:
    """100 x (x - min) / (max - min) over the last `window` non-NaN values of the segment, current included."""
    out = []
    for i, v in enumerate(x):
        values = [w for j, w in enumerate(x[: i + 1]) if segment[j] == segment[i] and not math.isnan(w)][-window:]
        if math.isnan(v) or len(values) < min_periods or max(values) == min(values):
            out.append(math.nan)
        else:
            out.append(100.0 * (v - min(values)) / (max(values) - min(values)))
    return out
