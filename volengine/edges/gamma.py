"""Gamma pressure: dealer gamma exposure pinning the price or amplifying moves (seed-spec §2.5).

Rule, all numbers from :class:`~volengine.config.edges.GammaSettings` (d = gex_price_vs_max_pct,
(S − K*)/S × 100):

* pin: spot inside the pin zone and abs(d) < ``pin_max_distance_pct`` → GAMMA_PIN, strength
  ``pin_base_strength`` + (max_distance − abs(d)) × ``pin_gain_strength``, clipped to [0, 1]; SHORT;
* else net GEX < 0 → GAMMA_NEGATIVE, strength min(abs(net)/``negative_gamma_scale_usd``,
  ``negative_max_strength``) + ``panic_negative_bonus_strength`` in HIGH_VOL_PANIC, capped at 1; LONG.

``gex_net`` arrives already signed by ``sign_convention`` (default calls +, puts −); the rationale names the
convention so a reversed sign is visible in the audit trail. No history is used: history_mode is 1.
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
    "gex_net",
    "gex_max_strike",
    "gex_price_vs_max_pct",
    "gex_in_pin_zone",
)
METRICS = {
    "net": pl.Float64,  # net GEX, $ per 1 % move
    "max_strike": pl.Float64,  # K*, the strike with the largest abs(GEX)
    "price_vs_max_pct": pl.Float64,  # (S - K*)/S x 100
    "in_pin_zone": pl.Boolean,
}


def detect_gamma(frame: pl.DataFrame, settings: EdgesSettings) -> pl.DataFrame:
    """Gamma-pressure signal columns of a prepared feature frame (rule in the module docstring).

    Parameters
    ----------
    frame : polars.DataFrame
        Output of :func:`volengine.edges._common.prepare` with :data:`REQUIRED_COLUMNS`.
    settings : EdgesSettings
        Reads ``settings.gamma``.

    Returns
    -------
    polars.DataFrame
        The ``gamma_*`` columns, one row per input row.
    """
    cfg = settings.gamma
    net, strike, dist = pl.col("gex_net"), pl.col("gex_max_strike"), pl.col("gex_price_vs_max_pct")
    pin = pl.col("gex_in_pin_zone").fill_null(False) & (dist.abs() < cfg.pin_max_distance_pct)
    pin_strength = cfg.pin_base_strength + (cfg.pin_max_distance_pct - dist.abs()) * cfg.pin_gain_strength
    neg_strength = pl.min_horizontal(net.abs() / cfg.negative_gamma_scale_usd, pl.lit(cfg.negative_max_strength))
    neg_strength = neg_strength + pl.when(is_panic()).then(cfg.panic_negative_bonus_strength).otherwise(0.0)
    pin_text = pl.concat_str(
        pl.lit("spot "),
        fmt(dist, 2),
        pl.lit("% from max-gamma strike "),
        fmt(strike, 2),
        pl.lit(f", inside the pin zone (limit {cfg.pin_max_distance_pct:g}%)"),
    )
    neg_text = pl.concat_str(
        pl.lit("net dealer GEX $"),
        fmt(net / 1e9, 2),
        pl.lit(f"B per 1% move ({cfg.sign_convention.value}); max-gamma strike "),
        fmt(strike, 2),
    )
    cases = [
        Case(pin, SignalKind.GAMMA_PIN, pin_strength, pin_text),
        Case(net < 0, SignalKind.GAMMA_NEGATIVE, neg_strength, neg_text),
    ]
    metrics = [net.alias("gamma_net"), strike.alias("gamma_max_strike"), dist.alias("gamma_price_vs_max_pct")]
    metrics.append(pl.col("gex_in_pin_zone").alias("gamma_in_pin_zone"))
    return frame.select(*signal_exprs("gamma", cases, pl.lit(1, dtype=pl.Int8)), *metrics)


DETECTOR = Detector(
    name=EdgeType.GAMMA_PRESSURE,
    prefix="gamma",
    required=REQUIRED_COLUMNS,
    function=detect_gamma,
    signals=(SignalKind.GAMMA_PIN, SignalKind.GAMMA_NEGATIVE),
    metrics=METRICS,
)
