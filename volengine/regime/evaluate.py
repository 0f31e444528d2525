"""Scoring a regime classification against labels, and counting its transitions.

* :func:`confusion`: counts per (true regime, predicted regime) over days where both are one of the five
  regimes (WARMUP and missing labels are left out);
* :func:`balanced_accuracy`: the mean recall over the regimes present in the truth (chance level 1/k for k
  classes, whatever their frequencies);
* :func:`transition_counts`: day-to-day transitions of a regime history (seed-spec §2.4 keeps the last 252).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from volengine.config.enums import Regime
from volengine.errors import DataError
from volengine.regime.classify import REGIME_STATES

_REGIMES: tuple[str, ...] = tuple(str(r) for r in Regime)


def _codes(values: Any, name: str) -> np.ndarray[Any, Any]:
    """Index of each label in :data:`REGIME_STATES` (int64), -1 for a null; unknown names are an error."""
    series = values if isinstance(values, pl.Series) else pl.Series(name, np.asarray(values, dtype=object).tolist())
    strings = series.cast(pl.String)
    states = pl.Enum(REGIME_STATES)
    unknown = strings.is_not_null() & ~strings.is_in(REGIME_STATES)
    if unknown.any():
        row = int(unknown.arg_true()[0])
        msg = f"argument '{name}' must hold regime names {REGIME_STATES} or nulls; got {strings[row]!r} at row {row}"
        raise DataError(msg, column=name, row=row, value=strings[row])
    return strings.cast(states).to_physical().cast(pl.Int64).fill_null(-1).to_numpy()


def _pairs(pred: Any, truth: Any) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """(predicted, true) regime indices 0..4 (:class:`Regime` order) of the days where both are regimes."""
    p = _codes(pred, "pred")
    t = _codes(truth, "truth")
    if p.shape != t.shape:
        msg = f"arguments 'pred' and 'truth' must have one label per day each; got {p.size} and {t.size}"
        raise DataError(msg)
    keep = (p >= 1) & (t >= 1)  # REGIME_STATES[0] is WARMUP
    return p[keep] - 1, t[keep] - 1


def confusion(pred: pl.Series | Any, truth: pl.Series | Any) -> pl.DataFrame:
    """Confusion matrix of predicted against true regimes (5 x 5 counts).

    Parameters
    ----------
    pred, truth : polars.Series or array_like of str
        One regime name per day (Enum, Categorical or String); nulls and ``WARMUP`` drop the day.

    Returns
    -------
    polars.DataFrame
        Column ``truth`` (the five regimes in :class:`Regime` order), then one UInt32 column of counts per
        predicted regime in the same order; rows sum to the days of that true regime.

    Examples
    --------
    >>> confusion(["CHOP", "TREND_UP", "WARMUP"], ["CHOP", "CHOP", "CHOP"])["CHOP"].to_list()
    [0, 0, 0, 0, 1]
    """
    p, t = _pairs(pred, truth)
    counts = np.zeros((len(_REGIMES), len(_REGIMES)), dtype=np.int64)
    np.add.at(counts, (t, p), 1)
    return pl.DataFrame(
        {"truth": pl.Series(_REGIMES, dtype=pl.Enum(_REGIMES)), **{r: counts[:, k] for k, r in enumerate(_REGIMES)}}
    ).with_columns(pl.col(r).cast(pl.UInt32) for r in _REGIMES)


def balanced_accuracy(pred: pl.Series | Any, truth: pl.Series | Any) -> float:
    """Mean per-regime recall over the regimes present in ``truth`` (days as in :func:`confusion`).

    Returns NaN when no day has both a predicted and a true regime.

    Examples
    --------
    >>> balanced_accuracy(["CHOP", "CHOP", "TREND_UP"], ["CHOP", "TREND_UP", "TREND_UP"])
    0.75
    """
    p, t = _pairs(pred, truth)
    present = np.unique(t)
    if not present.size:
        return float("nan")
    return float(np.mean([np.mean(p[t == k] == k) for k in present]))


def transition_counts(regimes: pl.Series | Any, *, last: int | None = None) -> pl.DataFrame:
    """Counts of day-to-day transitions ``regime[t-1] -> regime[t]`` (staying counts on the diagonal).

    Parameters
    ----------
    regimes : polars.Series or array_like of str
        One history in date order (one underlying); nulls break the chain (no pair is counted across them).
    last : int, optional
        Count only the last ``last`` classifications (``decision.history_size`` = 252 in the report).

    Returns
    -------
    polars.DataFrame
        Column ``from`` (every value of :data:`REGIME_STATES`), then one UInt32 column per state ``to``.

    Examples
    --------
    >>> tc = transition_counts(["CHOP", "CHOP", "TREND_UP"])
    >>> tc.filter(pl.col("from") == "CHOP").select("CHOP", "TREND_UP").row(0)
    (1, 1)
    """
    arr = _codes(regimes, "regimes")
    if last is not None:
        if isinstance(last, bool) or not isinstance(last, int) or last < 1:
            msg = f"argument 'last' must be an int >= 1 or None; got {last!r}"
            raise DataError(msg)
        arr = arr[-last:]
    counts = np.zeros((len(REGIME_STATES), len(REGIME_STATES)), dtype=np.int64)
    a, b = arr[:-1], arr[1:]
    both = (a >= 0) & (b >= 0)
    np.add.at(counts, (a[both], b[both]), 1)
    return pl.DataFrame(
        {
            "from": pl.Series(REGIME_STATES, dtype=pl.Enum(REGIME_STATES)),
            **{r: pl.Series(counts[:, k], dtype=pl.UInt32) for k, r in enumerate(REGIME_STATES)},
        }
    )
