"""Pieces shared by the five edge detectors: the registry entry, input checks, trailing statistics, output.

Every detector reads a *prepared* feature frame (see :func:`prepare`): sorted by (underlying, date), one row
per key, float columns as Float64 with NaN turned into null (one missing-value marker), plus a private
integer column ``SEGMENT`` numbering the underlyings so that trailing windows never cross them. A detector
returns a frame of the same height holding only its own ``{prefix}_*`` columns, in the order of its
``schema``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from volengine.config.edges import EdgesSettings
from volengine.config.enums import EdgeType, Regime, SignalKind
from volengine.config.settings import settings_section
from volengine.errors import DataError, SchemaError
from volengine.kernels import trailing_percentile

#: the key of the feature frame and of every detector output
KEY_COLUMNS = ("underlying", "date")
#: private column of :func:`prepare`: 0, 1, ... one id per underlying block
SEGMENT = "__segment"
PANIC = Regime.HIGH_VOL_PANIC.value
SHORT = "short"
LONG = "long"

#: the columns every detector emits, before its own metrics
SIGNAL_SCHEMA: dict[str, Any] = {
    "fired": pl.Boolean,  # never null
    "signal": pl.String,  # a SignalKind value; null when not fired
    "direction": pl.String,  # "short" (short premium/vol) or "long"; null when not fired
    "strength": pl.Float64,  # in [0, 1]; null when not fired
    "history_mode": pl.Int8,  # 1 full history, 0 fallback / below the minimum history
    "rationale": pl.String,  # one human-readable line; null when not fired
}

# Target dtype of every feature column a detector may read; `underlying` keeps its dtype (String or
# Categorical) and `regime` is compared as text, so both are absent here.
_FEATURE_DTYPES: dict[str, Any] = {
    "date": pl.Date,
    "event_date": pl.Date,
    "event_kind": pl.String,
    "event_baseline_flag": pl.Boolean,
    "gex_in_pin_zone": pl.Boolean,
    **dict.fromkeys(("atm_dte", "ts_front_dte", "ts_back_dte", "skew_dte", "event_days", "gex_dte"), pl.Int32),
}
_TEXT_KINDS = (pl.String, pl.Categorical, pl.Enum, pl.Null)

Function = Callable[[pl.DataFrame, EdgesSettings], pl.DataFrame]


@dataclass(frozen=True)
class Detector:
    """One registered edge detector.

    Parameters
    ----------
    name : EdgeType
        The edge it detects.
    prefix : str
        Prefix of its output columns (``vrp``, ``term``, ``skew``, ``event``, ``gamma``).
    required : tuple of str
        Feature columns it reads; a missing one raises :class:`~volengine.errors.SchemaError`.
    function : callable
        ``function(prepared_frame, edges_settings) -> frame`` of its ``{prefix}_*`` columns, same height.
    signals : tuple of SignalKind
        The signal kinds it can emit.
    metrics : mapping of str to polars dtype
        Its metric columns (unprefixed names) after the common signal columns.
    """

    name: EdgeType
    prefix: str
    required: tuple[str, ...]
    function: Function
    signals: tuple[SignalKind, ...]
    metrics: Mapping[str, Any] = field(default_factory=dict)

    @property
    def schema(self) -> dict[str, Any]:
        """Name → dtype of every output column, in output order."""
        cols = {**SIGNAL_SCHEMA, **self.metrics}
        return {f"{self.prefix}_{k}": v for k, v in cols.items()}

    def __call__(self, frame: pl.DataFrame, settings: EdgesSettings) -> pl.DataFrame:
        """Run on a prepared frame and return exactly ``schema``."""
        out = self.function(frame, settings)
        return out.select(pl.col(name).cast(dtype) for name, dtype in self.schema.items())


def direction_of(kind: SignalKind) -> str:
    """``short`` for a short-premium thesis (:attr:`SignalKind.is_short_vol`), else ``long``."""
    return SHORT if kind.is_short_vol else LONG


# ------------------------------------------------------------------------------------------------ inputs


def _check_dtype(frame: pl.DataFrame, name: str) -> pl.Expr:
    dtype = frame.schema[name]
    target = _FEATURE_DTYPES.get(name, pl.Float64)
    if name in ("underlying", "regime", "event_kind"):
        ok = isinstance(dtype, _TEXT_KINDS)
        want = "String, Categorical or Enum"
    elif target == pl.Float64 or target == pl.Int32:
        ok = dtype.is_numeric() or dtype == pl.Null
        want = "numeric"
    else:
        ok = dtype in (target, pl.Null)
        want = str(target)
    if not ok:
        msg = f"feature column '{name}' must be {want}; got dtype {dtype}"
        raise SchemaError(msg, column=name, value=str(dtype))
    if name in ("underlying", "regime"):
        return pl.col(name)
    if name == "event_kind":
        return pl.col(name).cast(pl.String)
    expr = pl.col(name).fill_nan(None) if dtype.is_float() else pl.col(name)
    return expr.cast(target)


def prepare(features: pl.DataFrame, required: Sequence[str], *, source: str = "features") -> pl.DataFrame:
    """Check, normalise and sort the columns ``required`` of a feature frame.

    Parameters
    ----------
    features : polars.DataFrame
        One row per (underlying, date).
    required : sequence of str
        Columns the caller reads (the keys are always included).
    source : str
        Name used in error messages.

    Returns
    -------
    polars.DataFrame
        The key and required columns, sorted by (underlying, date), floats as Float64 with NaN → null, plus
        ``SEGMENT`` (Int64, one id per underlying).

    Raises
    ------
    SchemaError
        A required column is missing or has an unusable dtype.
    DataError
        A key is null or an (underlying, date) pair repeats.
    """
    if not isinstance(features, pl.DataFrame):
        msg = f"{source} must be a polars.DataFrame; got {type(features).__name__}"
        raise SchemaError(msg)
    names = list(dict.fromkeys([*KEY_COLUMNS, *required]))
    missing = [c for c in names if c not in features.columns]
    if missing:
        msg = f"{source} frame is missing required column '{missing[0]}' (all missing: {', '.join(missing)})"
        raise SchemaError(msg, column=missing[0])
    frame = features.select(_check_dtype(features, c) for c in names)
    for key in KEY_COLUMNS:
        nulls = frame[key].is_null()
        if nulls.any():
            row = int(nulls.arg_true()[0])
            msg = f"key column '{key}' of {source} must not be null; got null at row {row}"
            raise DataError(msg, column=key, row=row)
    frame = frame.sort(KEY_COLUMNS, maintain_order=True).with_columns(
        pl.col("underlying").rle_id().cast(pl.Int64).alias(SEGMENT)
    )
    dup = (pl.col(SEGMENT) == pl.col(SEGMENT).shift(1)) & (pl.col("date") == pl.col("date").shift(1))
    dups = frame.select(dup.fill_null(False)).to_series()
    if dups.any():
        row = int(dups.arg_true()[0])
        bad = frame.row(row, named=True)
        msg = (
            f"{source} must hold one row per (underlying, date); got a repeated key "
            f"({bad['underlying']}, {bad['date']}) at sorted row {row}"
        )
        raise DataError(msg, column="date", row=row, value=(bad["underlying"], bad["date"]))
    return frame


def edges_settings(settings: Any) -> EdgesSettings:
    """The :class:`EdgesSettings` of ``settings`` (a ``Settings``, an ``EdgesSettings`` or None: defaults)."""
    return settings_section(settings, EdgesSettings, "edges")


# ------------------------------------------------------------------------------------- trailing history


def is_panic() -> pl.Expr:
    """True on rows whose regime is HIGH_VOL_PANIC (null regime: not panic)."""
    return (pl.col("regime").cast(pl.String) == PANIC).fill_null(False)


def percentile(frame: pl.DataFrame, column: str, window: int, min_periods: int) -> pl.Series:
    """Trailing percentile of ``column`` per underlying (:func:`volengine.kernels.trailing_percentile`).

    Nulls are days without a value: they join no window and get null. Fewer than ``min_periods`` earlier
    values give null, never an invented number.
    """
    x = frame[column].cast(pl.Float64).fill_null(np.nan).to_numpy()
    seg = frame[SEGMENT].to_numpy()
    out = trailing_percentile(x, window, min_periods=min_periods, segment=seg)
    return pl.Series(column, out, dtype=pl.Float64).fill_nan(None)


def prior_count(column: str | pl.Expr, window: int) -> pl.Expr:
    """Number of earlier non-null values of ``column`` in the same underlying, capped at ``window`` (Int32)."""
    present = (pl.col(column) if isinstance(column, str) else column).is_not_null().cast(pl.Int32)
    before = present.cum_sum().over(SEGMENT) - present
    return before.clip(upper_bound=window).cast(pl.Int32)


def lag_values(frame: pl.DataFrame, column: str, lag: int, *, along: str | None = None) -> pl.Series:
    """Value of ``column`` ``lag`` entries back in the date-keyed history of ``along`` (default ``column``).

    The history holds the days on which ``along`` has a value; days without one get null, and so do the
    first ``lag`` entries of each underlying.
    """
    key = along or column
    rows = frame.select(
        pl.int_range(pl.len(), dtype=pl.UInt32).alias("__row"), SEGMENT, column, pl.col(key).alias("__key")
    )
    present = rows.filter(pl.col("__key").is_not_null())
    lagged = present.select("__row", pl.col(column).shift(lag).over(SEGMENT).alias("__lag"))
    out = rows.select("__row").join(lagged, on="__row", how="left", maintain_order="left")
    return out["__lag"].cast(pl.Float64).rename(column)


# ------------------------------------------------------------------------------------------------ output


def fmt(x: pl.Expr, decimals: int) -> pl.Expr:
    """Fixed-point text of ``x`` with ``decimals`` digits (half away from zero); ``n/a`` for null or inf."""
    # a Decimal cast prints fixed digits and is ~5x cheaper than assembling integer and fraction parts
    rounded = x.round(decimals, mode="half_away_from_zero")
    return rounded.cast(pl.Decimal(38, decimals), strict=False).cast(pl.String).fill_null("n/a")


@dataclass(frozen=True)
class Case:
    """One way a detector fires: condition, kind, strength and rationale (first true case wins)."""

    condition: pl.Expr
    kind: SignalKind
    strength: pl.Expr
    rationale: pl.Expr


def signal_exprs(prefix: str, cases: Sequence[Case], history_mode: pl.Expr) -> list[pl.Expr]:
    """Common signal columns from ``cases`` evaluated in order; strength is clipped to [0, 1]."""
    conds = [c.condition.fill_null(False) for c in cases]
    fired = pl.any_horizontal(conds) if len(conds) > 1 else conds[0]

    def chain(values: Sequence[pl.Expr], dtype: Any) -> pl.Expr:
        expr: Any = pl
        for cond, value in zip(conds, values, strict=True):
            expr = expr.when(cond).then(value)
        return expr.otherwise(pl.lit(None, dtype=dtype))

    strength = chain([c.strength.clip(0.0, 1.0) for c in cases], pl.Float64)
    return [
        fired.alias(f"{prefix}_fired"),
        chain([pl.lit(c.kind.value) for c in cases], pl.String).alias(f"{prefix}_signal"),
        chain([pl.lit(direction_of(c.kind)) for c in cases], pl.String).alias(f"{prefix}_direction"),
        strength.cast(pl.Float64).alias(f"{prefix}_strength"),
        history_mode.fill_null(0).cast(pl.Int8).alias(f"{prefix}_history_mode"),
        chain([c.rationale for c in cases], pl.String).alias(f"{prefix}_rationale"),
    ]
