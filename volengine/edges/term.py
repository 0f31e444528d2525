"""Term structure: front-month ATM IV against the back month (seed-spec §2.5 Term structure).

Rule, all numbers from :class:`~volengine.config.edges.TermStructureSettings` (x = spread_pct):

* spread = back_iv − front_iv (decimal vol), spread_pct = spread / front_iv; state ``contango`` when
  x > ``contango_frac``, ``backwardation`` when x < ``backwardation_frac``, else ``flat``;
* x ≥ ``extreme_contango_frac`` → TERM_CONTANGO, strength min((x − extreme)/scale + base, 1);
* x ≤ ``extreme_backwardation_frac`` → TERM_BACKWARDATION, strength ``panic_backwardation_strength`` in
  HIGH_VOL_PANIC, else min((extreme − x)/scale + base, 1).

Direction follows :attr:`SignalKind.is_short_vol`, so the signal and the structure map can never disagree:
both signals are LONG. Backwardation (front rich) is traded as a long calendar (sell front, buy back: net
long vega). Extreme contango reads as front vol cheap against the back; the short-back trade (a reverse
calendar) is not defined risk, so the default map sends TERM_CONTANGO to ``none`` (report only).

History: the rule uses absolute thresholds only, so the VolMachine "lookback 60 / percentile 85" keys are
removed, not wired; ``term_history`` reports how many earlier spreads (≤ ``history_days``) the date-keyed
history holds, and history_mode is always 1 (no minimum history applies).
"""

from __future__ import annotations

import polars as pl

from volengine.config.edges import EdgesSettings
from volengine.config.enums import EdgeType, SignalKind
from volengine.edges._common import Case, Detector, fmt, is_panic, prior_count, signal_exprs

REQUIRED_COLUMNS = ("underlying", "date", "regime", "ts_front_iv", "ts_front_dte", "ts_back_iv", "ts_back_dte")
METRICS = {
    "spread": pl.Float64,  # back - front IV, decimal vol
    "spread_pct": pl.Float64,  # spread / front IV (fraction)
    "state": pl.String,  # contango / backwardation / flat; null without both IVs
    "history": pl.Int32,  # earlier spreads in the history (<= history_days)
}


def detect_term(frame: pl.DataFrame, settings: EdgesSettings) -> pl.DataFrame:
    """Term-structure signal columns of a prepared feature frame (rule in the module docstring).

    Parameters
    ----------
    frame : polars.DataFrame
        Output of :func:`volengine.edges._common.prepare` with :data:`REQUIRED_COLUMNS`.
    settings : EdgesSettings
        Reads ``settings.term_structure``.

    Returns
    -------
    polars.DataFrame
        The ``term_*`` columns, one row per input row.
    """
    cfg = settings.term_structure
    front, back = pl.col("ts_front_iv"), pl.col("ts_back_iv")
    spread = back - front
    work = frame.with_columns(
        spread.alias("term_spread"),
        pl.when(front > 0).then(spread / front).alias("term_spread_pct"),
        prior_count(spread, cfg.history_days).alias("term_history"),
    )
    x = pl.col("term_spread_pct")
    work = work.with_columns(
        pl.when(x > cfg.contango_frac)
        .then(pl.lit("contango"))
        .when(x < cfg.backwardation_frac)
        .then(pl.lit("backwardation"))
        .when(x.is_not_null())
        .then(pl.lit("flat"))
        .alias("term_state")
    )
    scale, base = cfg.strength_scale_frac, cfg.extreme_base_strength
    contango = (x - cfg.extreme_contango_frac) / scale + base
    backwardation = pl.when(is_panic()).then(cfg.panic_backwardation_strength)
    backwardation = backwardation.otherwise((cfg.extreme_backwardation_frac - x) / scale + base)
    rationale = pl.concat_str(
        pl.lit("back "),
        fmt(back * 100, 1),
        pl.lit("% ("),
        pl.col("ts_back_dte").cast(pl.String).fill_null("?"),
        pl.lit("d) - front "),
        fmt(front * 100, 1),
        pl.lit("% ("),
        pl.col("ts_front_dte").cast(pl.String).fill_null("?"),
        pl.lit("d) = "),
        fmt(pl.col("term_spread") * 100, 1),
        pl.lit(" pts, "),
        fmt(x * 100, 1),
        pl.lit("% of front: "),
        pl.col("term_state"),
    )
    cases = [
        Case(x >= cfg.extreme_contango_frac, SignalKind.TERM_CONTANGO, pl.min_horizontal(contango, 1.0), rationale),
        Case(
            x <= cfg.extreme_backwardation_frac,
            SignalKind.TERM_BACKWARDATION,
            pl.min_horizontal(backwardation, 1.0),
            rationale,
        ),
    ]
    return work.select(*signal_exprs("term", cases, pl.lit(1, dtype=pl.Int8)), *(f"term_{m}" for m in METRICS))


DETECTOR = Detector(
    name=EdgeType.TERM_STRUCTURE,
    prefix="term",
    required=REQUIRED_COLUMNS,
    function=detect_term,
    signals=(SignalKind.TERM_CONTANGO, SignalKind.TERM_BACKWARDATION),
    metrics=METRICS,
)
