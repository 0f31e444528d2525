"""25-delta skew extremes against their own trailing percentile (seed-spec §2.5 Skew extremes).

Rule, all numbers from :class:`~volengine.config.edges.SkewSettings` (p = skew percentile):

* skew = put_iv_25d − call_iv_25d; p over the previous ``lookback_days`` skew values;
* with at least ``min_history_days`` earlier values (history_mode 1):
  steep p ≥ ``steep_percentile`` → SKEW_STEEP, strength base + (p − steep)/span × gain, or
  ``panic_steep_strength`` in HIGH_VOL_PANIC; flat p ≤ ``flat_percentile`` → SKEW_FLAT, strength
  base + (flat − p)/span × gain;
* with less (history_mode 0, fallback): skew ≥ ``fallback_steep_skew`` → steep at ``fallback_steep_strength``
  (``fallback_panic_steep_strength`` in PANIC); skew ≤ ``fallback_flat_skew`` → flat at
  ``fallback_flat_strength``;
* optional reversion gate (``use_reversion_gate``): with skew_delta and pctl_delta measured against the entry
  ``reversion_lookback_values`` back in the skew history, steep needs (skew_delta < 0 or pctl_delta ≤ 0) and a
  move *down* of at least the minimum (skew_delta ≤ −min_skew or pctl_delta ≤ −min_pctl); flat the mirror
  image. The test is signed: a move of the right size in the wrong direction does not pass (§4.3);
* flat signals need ``iv_percentile`` ≤ ``flat_max_iv_percentile`` when that is set; signals weaker than
  ``min_strength`` are dropped. SKEW_STEEP is SHORT (put credit spread), SKEW_FLAT LONG (call debit spread).
"""

from __future__ import annotations

import polars as pl

from volengine.config.edges import EdgesSettings, SkewSettings
from volengine.config.enums import EdgeType, SignalKind
from volengine.edges._common import Case, Detector, fmt, is_panic, lag_values, percentile, prior_count, signal_exprs

REQUIRED_COLUMNS = ("underlying", "date", "regime", "atm_iv", "iv_percentile", "skew_put_iv_25d", "skew_call_iv_25d")
METRICS = {
    "value": pl.Float64,  # put - call IV, decimal vol
    "percentile": pl.Float64,  # 0-100, null below min history
    "put_atm_ratio": pl.Float64,
    "call_atm_ratio": pl.Float64,
    "history": pl.Int32,  # earlier skew values in the window (<= lookback_days)
    "delta": pl.Float64,  # skew - skew `reversion_lookback_values` entries back
    "pctl_delta": pl.Float64,  # percentile - percentile at that entry
}


def _reversion_gates(cfg: SkewSettings) -> tuple[pl.Expr, pl.Expr]:
    """(steep gate, flat gate): signed direction and magnitude tests; a missing delta fails its term."""
    sd, pd = pl.col("skew_delta"), pl.col("skew_pctl_delta")
    min_sd, min_pd = cfg.reversion_min_skew_change, cfg.reversion_min_percentile_change
    steep = ((sd < 0) | (pd <= 0)).fill_null(False) & ((sd <= -min_sd) | (pd <= -min_pd)).fill_null(False)
    flat = ((sd > 0) | (pd >= 0)).fill_null(False) & ((sd >= min_sd) | (pd >= min_pd)).fill_null(False)
    return steep, flat


def detect_skew(frame: pl.DataFrame, settings: EdgesSettings) -> pl.DataFrame:
    """Skew-extreme signal columns of a prepared feature frame (rule in the module docstring).

    Parameters
    ----------
    frame : polars.DataFrame
        Output of :func:`volengine.edges._common.prepare` with :data:`REQUIRED_COLUMNS`.
    settings : EdgesSettings
        Reads ``settings.skew``.

    Returns
    -------
    polars.DataFrame
        The ``skew_*`` columns, one row per input row.
    """
    cfg = settings.skew
    put, call, atm = pl.col("skew_put_iv_25d"), pl.col("skew_call_iv_25d"), pl.col("atm_iv")
    work = frame.with_columns(
        (put - call).alias("skew_value"),
        pl.when(atm > 0).then(put / atm).alias("skew_put_atm_ratio"),
        pl.when(atm > 0).then(call / atm).alias("skew_call_atm_ratio"),
    )
    work = work.with_columns(
        percentile(work, "skew_value", cfg.lookback_days, cfg.min_history_days).alias("skew_percentile"),
        prior_count("skew_value", cfg.lookback_days).alias("skew_history"),
    )
    k = cfg.reversion_lookback_values
    work = work.with_columns(
        (pl.col("skew_value") - lag_values(work, "skew_value", k)).alias("skew_delta"),
        (pl.col("skew_percentile") - lag_values(work, "skew_percentile", k, along="skew_value")).alias(
            "skew_pctl_delta"
        ),
    )
    skew, p = pl.col("skew_value"), pl.col("skew_percentile")
    full = pl.col("skew_history") >= cfg.min_history_days
    panic = is_panic()
    steep = pl.when(full).then(p >= cfg.steep_percentile).otherwise(skew >= cfg.fallback_steep_skew)
    flat = pl.when(full).then(p <= cfg.flat_percentile).otherwise(skew <= cfg.fallback_flat_skew)
    steep_ramp = (
        cfg.steep_base_strength + (p - cfg.steep_percentile) / cfg.steep_span_percentile * cfg.steep_gain_strength
    )
    steep_strength = (
        pl.when(full & panic)
        .then(cfg.panic_steep_strength)
        .when(full)
        .then(steep_ramp)
        .when(panic)
        .then(cfg.fallback_panic_steep_strength)
        .otherwise(cfg.fallback_steep_strength)
    ).clip(0.0, 1.0)
    flat_ramp = cfg.flat_base_strength + (cfg.flat_percentile - p) / cfg.flat_span_percentile * cfg.flat_gain_strength
    flat_strength = pl.when(full).then(flat_ramp).otherwise(cfg.fallback_flat_strength).clip(0.0, 1.0)
    if cfg.use_reversion_gate:
        steep_gate, flat_gate = _reversion_gates(cfg)
        steep, flat = steep & steep_gate, flat & flat_gate
    if cfg.flat_max_iv_percentile is not None:
        flat = flat & (pl.col("iv_percentile") <= cfg.flat_max_iv_percentile).fill_null(False)
    steep = steep & (steep_strength >= cfg.min_strength)
    flat = flat & (flat_strength >= cfg.min_strength)

    mode_note = (
        pl.when(full)
        .then(pl.concat_str(pl.lit("(pctl "), fmt(p, 0), pl.lit(")")))
        .otherwise(
            pl.concat_str(
                pl.lit("(fallback: "),
                pl.col("skew_history").cast(pl.String),
                pl.lit(f" of {cfg.min_history_days} values)"),
            )
        )
    )
    head = [pl.lit("25d put "), fmt(put * 100, 1), pl.lit("% - call "), fmt(call * 100, 1), pl.lit("% = ")]
    head += [fmt(skew * 100, 1), pl.lit(" pts skew "), mode_note]
    cases = [
        Case(steep, SignalKind.SKEW_STEEP, steep_strength, pl.concat_str(*head, pl.lit(": steep"))),
        Case(flat, SignalKind.SKEW_FLAT, flat_strength, pl.concat_str(*head, pl.lit(": flat"))),
    ]
    return work.select(*signal_exprs("skew", cases, full.cast(pl.Int8)), *(f"skew_{m}" for m in METRICS))


DETECTOR = Detector(
    name=EdgeType.SKEW_EXTREME,
    prefix="skew",
    required=REQUIRED_COLUMNS,
    function=detect_skew,
    signals=(SignalKind.SKEW_STEEP, SignalKind.SKEW_FLAT),
    metrics=METRICS,
)
