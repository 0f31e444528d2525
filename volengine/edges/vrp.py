"""Volatility risk premium: ATM implied vol rich against realized vol (seed-spec §2.5 VRP).

Rule, all numbers from :class:`~volengine.config.edges.VrpSettings`:

* ratio = atm_iv / rv (1 when rv = 0); trailing percentiles of IV, RV and the ratio over ``lookback_days``
  earlier values, at least ``min_history_days`` of them, else null (never an invented 50);
* fire when atm_iv ≥ ``min_atm_iv`` and ratio ≥ ``iv_rv_ratio_threshold`` OR / AND (``combine``) ratio
  percentile ≥ ``percentile_threshold``; in HIGH_VOL_PANIC the percentile must also reach
  ``panic_percentile_threshold``;
* strength: ladder on the ratio percentile (strong / threshold / weak / base), plus ``both_bonus_strength``
  when both conditions hold, capped at 1;
* below the minimum history the percentile condition cannot hold, the ratio condition can (``combine=any``);
  such a signal has history_mode 0. Direction SHORT.
"""

from __future__ import annotations

import polars as pl

from volengine.config.edges import EdgesSettings
from volengine.config.enums import CombineRule, EdgeType, SignalKind
from volengine.edges._common import Case, Detector, fmt, is_panic, percentile, prior_count, signal_exprs

REQUIRED_COLUMNS = ("underlying", "date", "regime", "atm_iv", "vrp_rv")
METRICS = {
    "ratio": pl.Float64,  # atm_iv / vrp_rv
    "ratio_percentile": pl.Float64,  # 0-100, null below min history
    "iv_percentile": pl.Float64,
    "rv_percentile": pl.Float64,
    "history": pl.Int32,  # earlier ratio values in the window (<= lookback_days)
}


def detect_vrp(frame: pl.DataFrame, settings: EdgesSettings) -> pl.DataFrame:
    """VRP signal columns of a prepared feature frame (see the module docstring for the rule).

    Parameters
    ----------
    frame : polars.DataFrame
        Output of :func:`volengine.edges._common.prepare` with :data:`REQUIRED_COLUMNS`.
    settings : EdgesSettings
        Reads ``settings.vrp``.

    Returns
    -------
    polars.DataFrame
        The ``vrp_*`` columns, one row per input row.
    """
    cfg = settings.vrp
    iv, rv = pl.col("atm_iv"), pl.col("vrp_rv")
    work = frame.with_columns(
        pl.when(rv == 0).then(pl.when(iv.is_not_null()).then(1.0)).otherwise(iv / rv).alias("vrp_ratio")
    )
    window, need = cfg.lookback_days, cfg.min_history_days
    work = work.with_columns(
        percentile(work, "vrp_ratio", window, need).alias("vrp_ratio_percentile"),
        percentile(work, "atm_iv", window, need).alias("vrp_iv_percentile"),
        percentile(work, "vrp_rv", window, need).alias("vrp_rv_percentile"),
        prior_count("vrp_ratio", window).alias("vrp_history"),
    )
    ratio, pctl, hist = pl.col("vrp_ratio"), pl.col("vrp_ratio_percentile"), pl.col("vrp_history")
    ratio_ok = (ratio >= cfg.iv_rv_ratio_threshold).fill_null(False)
    pctl_ok = (pctl >= cfg.percentile_threshold).fill_null(False)
    rule = (ratio_ok | pctl_ok) if cfg.combine is CombineRule.ANY else (ratio_ok & pctl_ok)
    panic_ok = ~is_panic() | (pctl >= cfg.panic_percentile_threshold).fill_null(False)
    fired = (iv >= cfg.min_atm_iv).fill_null(False) & rule & panic_ok

    ladder = (
        pl.when(pctl >= cfg.strong_percentile)
        .then(cfg.strong_strength)
        .when(pctl >= cfg.percentile_threshold)
        .then(cfg.threshold_strength)
        .when(pctl >= cfg.weak_percentile)
        .then(cfg.weak_strength)
        .otherwise(cfg.base_strength)
    )
    strength = (ladder + pl.when(ratio_ok & pctl_ok).then(cfg.both_bonus_strength).otherwise(0.0)).clip(0.0, 1.0)
    history_note = (
        pl.when(pctl.is_not_null())
        .then(pl.concat_str(pl.lit("(pctl "), fmt(pctl, 0), pl.lit(")")))
        .otherwise(pl.concat_str(pl.lit("(pctl n/a: "), hist.cast(pl.String), pl.lit(f" of {need} values)")))
    )
    rationale = pl.concat_str(
        pl.lit("IV "),
        fmt(iv * 100, 1),
        pl.lit("% vs RV "),
        fmt(rv * 100, 1),
        pl.lit("% = "),
        fmt(ratio, 2),
        pl.lit(" ratio "),
        history_note,
    )
    case = Case(fired, SignalKind.VRP, strength, rationale)
    history_mode = (hist >= need).cast(pl.Int8)
    return work.select(*signal_exprs("vrp", [case], history_mode), *(f"vrp_{m}" for m in METRICS))


DETECTOR = Detector(
    name=EdgeType.VRP,
    prefix="vrp",
    required=REQUIRED_COLUMNS,
    function=detect_vrp,
    signals=(SignalKind.VRP,),
    metrics=METRICS,
)
