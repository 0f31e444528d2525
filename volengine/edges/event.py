"""Event volatility: the IV of the first expiry after a calendar event against a baseline (seed-spec §2.5).

Rule, all numbers from :class:`~volengine.config.edges.EventVolSettings` (p = event_premium_pct):

* the feature frame carries the nearest event; it counts when 0 ≤ event_days ≤ ``days_before_event`` and its
  kind is one of ``event_types`` (case-insensitive: the calendar spells ``FOMC``, the config ``fomc``);
* fire when p ≥ ``min_iv_premium_pct``; strength ``extreme_strength`` at p ≥ ``extreme_iv_premium_pct``,
  ``high_strength`` at p ≥ ``high_iv_premium_pct``, else base + (p − min)/span × gain; × the PANIC multiplier
  in HIGH_VOL_PANIC;
* history_mode 0 when the baseline is the flagged fallback (``event_baseline_flag``). Direction SHORT.
"""

from __future__ import annotations

import polars as pl

from volengine.config.edges import EdgesSettings
from volengine.config.enums import EdgeType, SignalKind
from volengine.edges._common import Case, Detector, fmt, is_panic, signal_exprs

REQUIRED_COLUMNS = (
    "underlying",
    "date",
    "regime",
    "event_date",
    "event_kind",
    "event_days",
    "event_iv",
    "event_baseline_iv",
    "event_baseline_flag",
    "event_premium_pct",
)
METRICS = {"premium": pl.Float64}  # copy of event_premium_pct


def detect_event(frame: pl.DataFrame, settings: EdgesSettings) -> pl.DataFrame:
    """Event-vol signal columns of a prepared feature frame (rule in the module docstring).

    Parameters
    ----------
    frame : polars.DataFrame
        Output of :func:`volengine.edges._common.prepare` with :data:`REQUIRED_COLUMNS`.
    settings : EdgesSettings
        Reads ``settings.event_vol``.

    Returns
    -------
    polars.DataFrame
        The ``event_*`` columns, one row per input row.
    """
    cfg = settings.event_vol
    p, days = pl.col("event_premium_pct"), pl.col("event_days")
    kinds = [t.value for t in cfg.event_types]
    in_window = days.is_between(0, cfg.days_before_event) & pl.col("event_kind").str.to_lowercase().is_in(kinds)
    fired = in_window & (p >= cfg.min_iv_premium_pct)
    ramp = cfg.base_strength + (p - cfg.min_iv_premium_pct) / cfg.ramp_span_pct * cfg.ramp_gain_strength
    ladder = (
        pl.when(p >= cfg.extreme_iv_premium_pct)
        .then(cfg.extreme_strength)
        .when(p >= cfg.high_iv_premium_pct)
        .then(cfg.high_strength)
        .otherwise(ramp)
    )
    strength = ladder * pl.when(is_panic()).then(cfg.panic_strength_multiplier).otherwise(1.0)
    flagged = pl.col("event_baseline_flag").fill_null(False)
    rationale = pl.concat_str(
        pl.col("event_kind").fill_null("event"),
        pl.lit(" in "),
        days.cast(pl.String),
        pl.lit("d ("),
        pl.col("event_date").cast(pl.String).fill_null("?"),
        pl.lit("): event IV "),
        fmt(pl.col("event_iv") * 100, 1),
        pl.lit("% vs baseline "),
        fmt(pl.col("event_baseline_iv") * 100, 1),
        pl.lit("% = "),
        pl.when(p >= 0).then(pl.lit("+")).otherwise(pl.lit("")),
        fmt(p, 1),
        pl.lit("% premium"),
        pl.when(flagged).then(pl.lit(" (fallback baseline)")).otherwise(pl.lit("")),
    )
    case = Case(fired, SignalKind.EVENT_VOL, strength, rationale)
    history_mode = (~flagged).cast(pl.Int8)
    return frame.select(*signal_exprs("event", [case], history_mode), p.alias("event_premium"))


DETECTOR = Detector(
    name=EdgeType.EVENT_VOL,
    prefix="event",
    required=REQUIRED_COLUMNS,
    function=detect_event,
    signals=(SignalKind.EVENT_VOL,),
    metrics=METRICS,
)
