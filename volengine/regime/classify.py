"""Regime classification: the seed-spec §2.4 score table, the decision, the PANIC vol gate and hysteresis.

Per bar (rows <= d only):

1. **Scores.** Each rule of :func:`scoring_rules` whose condition holds adds its points (``regime.points``)
   to one or two regimes; a rule whose feature is null (not enough history, no vol index) adds nothing
   and its feature is named as skipped in the reason.
2. **WARMUP.** Until the long MA and the drawdown window exist, the regime is ``WARMUP`` (confidence 0, no
   scores): no regime is called before its features exist.
3. **Raw winner.** Highest score; equal scores go by ``decision.tie_order``. With
   ``decision.use_panic_vol_gate`` (default) HIGH_VOL_PANIC may win only on a day whose vol level is
   elevated, VIX >= ``thresholds.vix_elevated_points`` or rv20 >= ``thresholds.rv_elevated``. Without
   the gate (VolMachine), a lone rv5/rv20 spike (1.5 points) in a calm market ties low scores and takes
   them by the tie order, so a calm year shows scattered PANIC days. A best score below
   ``decision.min_winning_score`` gives ``decision.fallback_regime``.
4. **Hysteresis** (``regime.hysteresis``, rule in :func:`volengine.kernels.regime.hysteresis`): the
   incumbent stays unless it has lasted ``min_dwell_days``, the challenger has won ``confirm_days`` days in
   a row and it beats the incumbent by ``switch_margin_score`` (or the incumbent could not win on its own
   today). The defaults (0, 1, 0) give the raw winner.
5. **Confidence** ``min(score / full_confidence_score, 1)`` of the regime called, or
   ``fallback_confidence`` on a fallback day.

VolMachine's literal behaviour: ``decision.use_panic_vol_gate: false`` and ``vol_index_proxy.mode: never``
(its VIX was never found). Without a vol index its PANIC reaches at most 5.0 against TREND_DOWN's 5.5, so
a crash reads TREND_DOWN; the proxy (default ``auto``) restores the VIX rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from volengine.config.enums import Regime
from volengine.config.regime import RegimeSettings
from volengine.config.settings import Settings
from volengine.kernels.regime import hysteresis
from volengine.regime.features import _SEG, FeatureNames, _features_frame, feature_names, regime_settings

#: every value of the ``regime`` column: WARMUP, then the five regimes in :class:`Regime` order
REGIME_STATES: tuple[str, ...] = ("WARMUP", *(str(r) for r in Regime))
#: polars dtype of the ``regime`` and ``regime_raw`` columns
RegimeDtype = pl.Enum(REGIME_STATES)
#: score column of each regime, in :class:`Regime` order (regime code - 1)
SCORE_COLUMNS: tuple[str, ...] = tuple(f"regime_score_{r.value.lower()}" for r in Regime)
_COL = {r: j for j, r in enumerate(Regime)}
_PANIC = _COL[Regime.HIGH_VOL_PANIC]


@dataclass(frozen=True)
class Rule:
    """One row of the score table: a condition on the features, the points it adds, and its reason text.

    ``condition`` is a boolean expression (null where a feature is missing: the rule is skipped);
    ``reason`` a string expression quoting the numbers; ``points`` maps regime to points added.
    """

    key: str
    condition: pl.Expr
    points: dict[Regime, float]
    reason: pl.Expr
    features: tuple[str, ...]


def _g(x: float) -> str:
    return f"{x:g}"


def _num(name: str, digits: int) -> pl.Expr:
    return pl.col(name).round(digits).cast(pl.String)


def _abs(expr: pl.Expr, digits: int) -> pl.Expr:
    return expr.abs().round(digits).cast(pl.String)


def _proxy_suffix(names: FeatureNames) -> pl.Expr:
    """ " (proxy)" after a quoted VIX value that is the realized-vol stand-in, else ""."""
    is_proxy = pl.col(names.vix_source).cast(pl.String) == "proxy"
    return pl.when(is_proxy).then(pl.lit(" (proxy)")).otherwise(pl.lit(""))


def scoring_rules(settings: RegimeSettings | Settings | None = None) -> list[Rule]:
    """The seed-spec §2.4 score table as :class:`Rule` objects, thresholds and points from ``settings``."""
    cfg = regime_settings(settings)
    t, pts, n = cfg.thresholds, cfg.points, feature_names(cfg)
    vix, rv_s, rv_m = n.vix, n.rv[0], n.rv[1]
    ratio, pvm_s, pvm_m, pvm_l = n.rv_ratio[0], *n.price_vs_ma
    cross, ret, dd, dsh = n.ma_ratio[0], n.returns[1], n.drawdown, n.days_since_high
    src = _proxy_suffix(n)
    c = pl.col
    cross_label = cross.replace("_", "/")
    ratio_label = ratio.replace("_", "/")
    panic, down, up = Regime.HIGH_VOL_PANIC, Regime.TREND_DOWN, Regime.TREND_UP
    grind, chop = Regime.LOW_VOL_GRIND, Regime.CHOP

    def rule(key: str, cond: pl.Expr, points: dict[Regime, float], text: str, *args: Any, feats: Sequence[str]) -> Rule:
        return Rule(key, cond, points, pl.format(text, *args), tuple(feats))

    return [
        rule("vix_panic", c(vix) >= t.vix_panic_points, {panic: pts.vix_panic_score},
             f"VIX {{}} >= {_g(t.vix_panic_points)}{{}}", _num(vix, 1), src, feats=[vix]),
        rule("vix_high", (c(vix) >= t.vix_high_points) & (c(vix) < t.vix_panic_points), {panic: pts.vix_high_score},
             f"VIX {{}} >= {_g(t.vix_high_points)}{{}}", _num(vix, 1), src, feats=[vix]),
        rule("rv_high", c(rv_s) >= t.rv_high, {panic: pts.rv_high_score},
             f"{rv_s} {{}} >= {_g(t.rv_high)}", _num(rv_s, 3), feats=[rv_s]),
        rule("rv_spike", c(ratio) >= t.rv_ratio_spike, {panic: pts.rv_spike_score},
             f"{ratio_label} {{}} >= {_g(t.rv_ratio_spike)}", _num(ratio, 2), feats=[ratio]),
        rule("drawdown_bear", c(dd) <= t.drawdown_bear_frac,
             {panic: pts.drawdown_bear_panic_score, down: pts.drawdown_bear_down_score},
             f"drawdown {{}} <= {_g(t.drawdown_bear_frac)}", _num(dd, 3), feats=[dd]),
        rule("drawdown_correction", (c(dd) <= t.drawdown_correction_frac) & (c(dd) > t.drawdown_bear_frac),
             {panic: pts.drawdown_correction_panic_score, down: pts.drawdown_correction_down_score},
             f"drawdown {{}} <= {_g(t.drawdown_correction_frac)}", _num(dd, 3), feats=[dd]),
        rule("ma_mid_down", c(pvm_m) < -t.trend_strong_frac, {down: pts.price_vs_ma50_score},
             f"{pvm_m} {{}} < {_g(-t.trend_strong_frac)}", _num(pvm_m, 3), feats=[pvm_m]),
        rule("ma_mid_up", c(pvm_m) > t.trend_strong_frac, {up: pts.price_vs_ma50_score},
             f"{pvm_m} {{}} > {_g(t.trend_strong_frac)}", _num(pvm_m, 3), feats=[pvm_m]),
        rule("ma_long_down", c(pvm_l) < -t.trend_strong_frac, {down: pts.price_vs_ma200_score},
             f"{pvm_l} {{}} < {_g(-t.trend_strong_frac)}", _num(pvm_l, 3), feats=[pvm_l]),
        rule("ma_long_up", c(pvm_l) > t.trend_strong_frac, {up: pts.price_vs_ma200_score},
             f"{pvm_l} {{}} > {_g(t.trend_strong_frac)}", _num(pvm_l, 3), feats=[pvm_l]),
        rule("ma_cross_down", c(cross) < 1.0 - t.ma_cross_band_frac, {down: pts.ma_cross_score},
             f"{cross_label} {{}} < {_g(1.0 - t.ma_cross_band_frac)}", _num(cross, 3), feats=[cross]),
        rule("ma_cross_up", c(cross) > 1.0 + t.ma_cross_band_frac, {up: pts.ma_cross_score},
             f"{cross_label} {{}} > {_g(1.0 + t.ma_cross_band_frac)}", _num(cross, 3), feats=[cross]),
        rule("return_down", c(ret) < -t.return_strong_frac, {down: pts.return_20_score},
             f"{ret} {{}} < {_g(-t.return_strong_frac)}", _num(ret, 3), feats=[ret]),
        rule("return_up", c(ret) > t.return_strong_frac, {up: pts.return_20_score},
             f"{ret} {{}} > {_g(t.return_strong_frac)}", _num(ret, 3), feats=[ret]),
        rule("near_high", c(dsh) < t.near_high_days, {up: pts.near_high_up_score, grind: pts.near_high_grind_score},
             f"{dsh} {{}} < {t.near_high_days}", c(dsh).cast(pl.String), feats=[dsh]),
        rule("vix_low", c(vix) < t.vix_low_points, {grind: pts.vix_low_score},
             f"VIX {{}} < {_g(t.vix_low_points)}{{}}", _num(vix, 1), src, feats=[vix]),
        rule("rv_low", c(rv_m) < t.rv_low, {grind: pts.rv_low_score},
             f"{rv_m} {{}} < {_g(t.rv_low)}", _num(rv_m, 3), feats=[rv_m]),
        rule("rv_calm", c(ratio) < t.rv_ratio_calm, {grind: pts.rv_calm_score},
             f"{ratio_label} {{}} < {_g(t.rv_ratio_calm)}", _num(ratio, 2), feats=[ratio]),
        rule("steady_grind", (c(pvm_s) > 0.0) & (c(pvm_s) < t.trend_strong_frac) & (c(rv_m) < t.rv_elevated),
             {grind: pts.steady_grind_score},
             f"0 < {pvm_s} {{}} < {_g(t.trend_strong_frac)} and {rv_m} {{}} < {_g(t.rv_elevated)}",
             _num(pvm_s, 3), _num(rv_m, 3), feats=[pvm_s, rv_m]),
        rule("flat_ma_mid", c(pvm_m).abs() < t.trend_weak_frac, {chop: pts.flat_ma50_chop_score},
             f"|{pvm_m}| {{}} < {_g(t.trend_weak_frac)}", _abs(c(pvm_m), 3), feats=[pvm_m]),
        rule("flat_ma_cross", (c(cross) - 1.0).abs() < t.trend_weak_frac, {chop: pts.flat_ma_cross_chop_score},
             f"|{cross_label} - 1| {{}} < {_g(t.trend_weak_frac)}", _abs(c(cross) - 1.0, 3), feats=[cross]),
        rule("flat_return", (c(ret).abs() < t.return_weak_frac) & (c(rv_m) > t.rv_low),
             {chop: pts.flat_return_chop_score},
             f"|{ret}| {{}} < {_g(t.return_weak_frac)} and {rv_m} {{}} > {_g(t.rv_low)}",
             _abs(c(ret), 3), _num(rv_m, 3), feats=[ret, rv_m]),
    ]  # fmt: skip


@dataclass(frozen=True)
class _Decision:
    scores: np.ndarray[Any, Any]  # (n, 5) table scores
    fired: np.ndarray[Any, Any]  # (n, n_rules) bool
    raw: np.ndarray[Any, Any]  # (n,) int8 code, 0 = WARMUP
    final: np.ndarray[Any, Any]  # (n,) int8 code
    is_fallback: np.ndarray[Any, Any]  # (n,) bool: no regime reached min_winning_score
    is_gated: np.ndarray[Any, Any]  # (n,) bool: PANIC would have won without the vol gate
    best: np.ndarray[Any, Any]  # (n,) best score among the regimes allowed to win
    confidence: np.ndarray[Any, Any]  # (n,) float64


def _decide(frame: pl.DataFrame, cfg: RegimeSettings, names: FeatureNames, rules: list[Rule]) -> _Decision:
    n = frame.height
    fired = frame.select(r.condition.fill_null(value=False).alias(r.key) for r in rules).to_numpy().astype(bool)
    fired = fired.reshape(n, len(rules))
    scores = np.zeros((n, len(Regime)))
    # one rule at a time, in table order: the same sums on every row whatever the length of the history
    for k, r in enumerate(rules):
        for regime, points in r.points.items():
            scores[:, _COL[regime]] += np.where(fired[:, k], points, 0.0)
    warm = frame.select(pl.col(names.ma[2]).is_null() | pl.col(names.drawdown).is_null()).to_series().to_numpy()
    t, dec = cfg.thresholds, cfg.decision
    if dec.use_panic_vol_gate:
        gate = (pl.col(names.vix) >= t.vix_elevated_points) | (pl.col(names.rv[1]) >= t.rv_elevated)
        eligible = frame.select(gate.fill_null(value=False)).to_series().to_numpy()
    else:
        eligible = np.ones(n, dtype=bool)
    decision = scores.copy()
    decision[~eligible, _PANIC] = -np.inf
    order = np.array([_COL[r] for r in dec.tie_order], dtype=np.int64)
    rows = np.arange(n)
    # argmax returns the first maximum: columns in tie order make it the tie-break
    best_col = order[np.argmax(decision[:, order], axis=1)] if n else np.zeros(0, dtype=np.int64)
    best = decision[rows, best_col]
    is_fallback = ~warm & (best < dec.min_winning_score)
    raw_col = np.where(is_fallback, _COL[dec.fallback_regime], best_col)
    raw = np.where(warm, 0, raw_col + 1).astype(np.int8)
    h = cfg.hysteresis
    tie_rank = np.empty(len(Regime), dtype=np.int64)
    tie_rank[order] = np.arange(len(Regime))
    final = hysteresis(
        decision,
        raw,
        tie_rank,
        segment=frame[_SEG].to_numpy(),
        min_dwell_days=h.min_dwell_days,
        confirm_days=h.confirm_days,
        switch_margin_score=h.switch_margin_score,
        min_winning_score=dec.min_winning_score,
    )
    final_score = scores[rows, np.maximum(final.astype(np.int64) - 1, 0)]
    confidence = np.minimum(np.maximum(final_score, 0.0) / dec.full_confidence_score, 1.0)
    confidence = np.where(is_fallback & (final == raw), dec.fallback_confidence, confidence)
    confidence = np.where(warm, 0.0, confidence)
    is_gated = ~warm & ~eligible & (scores[:, _PANIC] >= np.maximum(best, dec.min_winning_score))
    return _Decision(scores, fired, raw, final, is_fallback & (final == raw), is_gated, best, confidence)


def _reason(cfg: RegimeSettings, names: FeatureNames, rules: list[Rule]) -> pl.Expr:
    """The rationale: "Regime: X (score s). reason; reason." plus notes, from the ``__`` helper columns."""
    f, t, dec = cfg.features, cfg.thresholds, cfg.decision
    code = pl.col("__final")
    supporting = [
        pl.when(pl.col(f"__fired_{r.key}") & code.is_in([_COL[g] + 1 for g in r.points])).then(r.reason) for r in rules
    ]
    reasons = pl.concat_list(supporting).list.drop_nulls().list.head(dec.max_rationale_reasons).list.join("; ")
    used = list(dict.fromkeys(feat for r in rules for feat in r.features))
    skipped = pl.concat_list([pl.when(pl.col(x).is_null()).then(pl.lit(x)) for x in used]).list.drop_nulls()
    score = pl.col("__score").round(2).cast(pl.String)
    head = pl.format("Regime: {} (score {}).", pl.col("regime").cast(pl.String), score)
    body = pl.when(reasons != "").then(pl.format(" {}.", reasons)).otherwise(pl.lit(""))
    raw_name = pl.col("regime_raw").cast(pl.String)
    notes = [
        pl.when(pl.col("__fallback")).then(
            pl.format(
                f" No regime reaches {_g(dec.min_winning_score)} (best {{}}): fallback.", pl.col("__best").round(2)
            )
        ),
        pl.when(pl.col("__final") != pl.col("__raw")).then(
            pl.format(" Held by hysteresis: raw {} (score {}).", raw_name, pl.col("__raw_score").round(2))
        ),
        pl.when(pl.col("__gated")).then(
            pl.format(
                f" HIGH_VOL_PANIC {{}} blocked by the vol gate: VIX {{}} < {_g(t.vix_elevated_points)}{{}} and "
                f"{names.rv[1]} {{}} < {_g(t.rv_elevated)}.",
                pl.col(SCORE_COLUMNS[_PANIC]).round(2),
                pl.col(names.vix).round(1).cast(pl.String).fill_null("n/a"),
                _proxy_suffix(names),
                pl.col(names.rv[1]).round(3).cast(pl.String).fill_null("n/a"),
            )
        ),
        pl.when(skipped.list.len() > 0).then(pl.format(" Skipped (no data): {}.", skipped.list.join(", "))),
    ]
    ordinary = pl.concat_str([head, body, *(x.fill_null("") for x in notes)])
    missing = pl.concat_list(
        pl.when(pl.col(names.ma[2]).is_null()).then(pl.lit(f"{names.ma[2]} ({f.ma_periods_days[2]} bars)")),
        pl.when(pl.col(names.drawdown).is_null()).then(pl.lit(f"drawdown ({f.drawdown_lookback_days} bars)")),
    ).list.drop_nulls()
    warm = pl.format(
        "Regime: WARMUP (score 0). Missing: {}; bars so far: {}.",
        missing.list.join(", "),
        (pl.int_range(pl.len()).over(_SEG) + 1).cast(pl.String),
    )
    return pl.when(code == 0).then(warm).otherwise(ordinary)


def _classify_frame(frame: pl.DataFrame, cfg: RegimeSettings, names: FeatureNames, keys: list[str]) -> pl.DataFrame:
    rules = scoring_rules(cfg)
    d = _decide(frame, cfg, names, rules)
    n = frame.height
    rows = np.arange(n)
    seg = frame[_SEG].to_numpy()
    changed = np.zeros(n, dtype=bool)
    changed[1:] = (d.final[1:] != d.final[:-1]) & (seg[1:] == seg[:-1])
    is_warm = d.final == 0
    states = pl.Series(REGIME_STATES, dtype=RegimeDtype)
    raw_score = np.where(d.raw > 0, d.scores[rows, np.maximum(d.raw.astype(np.int64) - 1, 0)], 0.0)
    helpers = {
        "__final": pl.Series(d.final, dtype=pl.Int8),
        "__raw": pl.Series(d.raw, dtype=pl.Int8),
        "__score": pl.Series(np.where(is_warm, 0.0, d.scores[rows, np.maximum(d.final.astype(np.int64) - 1, 0)])),
        "__raw_score": pl.Series(raw_score),
        "__best": pl.Series(d.best),
        "__fallback": pl.Series(d.is_fallback),
        "__gated": pl.Series(d.is_gated),
        **{f"__fired_{r.key}": pl.Series(d.fired[:, k]) for k, r in enumerate(rules)},
    }
    out = frame.with_columns(
        states.gather(d.final).alias("regime"),
        pl.Series("regime_confidence", d.confidence, dtype=pl.Float64),
        *(
            pl.Series(name, d.scores[:, j], dtype=pl.Float64).scatter(np.flatnonzero(is_warm), None)
            for j, name in enumerate(SCORE_COLUMNS)
        ),
        states.gather(d.raw).alias("regime_raw"),
        pl.Series("regime_changed", changed),
        *(s.alias(k) for k, s in helpers.items()),
    )
    out = out.with_columns(_reason(cfg, names, rules).alias("regime_reason"))
    head = ["regime", "regime_confidence", "regime_reason", *SCORE_COLUMNS, "regime_raw", "regime_changed"]
    return out.select(*keys, *head, *names.columns)


def classify(
    bars: pl.DataFrame,
    vol_index: pl.DataFrame | None = None,
    settings: Settings | RegimeSettings | None = None,
) -> pl.DataFrame:
    """Classify every bar's date into a regime, from bars (and a vol index) dated <= that date.

    Parameters
    ----------
    bars : polars.DataFrame
        Daily bars (``date``, ``close``; optional ``underlying``, ``adj_close``), see
        :func:`volengine.regime.regime_features`. Several underlyings are classified separately.
    vol_index : polars.DataFrame, optional
        ``date``, ``close`` in index points (VIX); where it has no value, ``regime.vol_index_proxy`` decides
        whether the realized-vol stand-in is used (``vix_source`` says which).
    settings : Settings or RegimeSettings, optional
        Thresholds, points, decision and hysteresis; defaults when ``None``.

    Returns
    -------
    polars.DataFrame
        One row per bar sorted by (underlying, date): ``date``, [``underlying``], ``regime``
        (:data:`RegimeDtype`), ``regime_confidence``, ``regime_reason``, the five ``regime_score_*``
        (null on WARMUP days), ``regime_raw`` (winner before hysteresis), ``regime_changed`` (differs from
        the previous day's regime of the same underlying), then every feature column.

    Raises
    ------
    SchemaError, DataError
        Unusable bars or vol index (see :func:`volengine.regime.regime_features`).

    Examples
    --------
    >>> import datetime as dt
    >>> days = [dt.date(2020, 1, 1) + dt.timedelta(days=i) for i in range(300)]
    >>> bars = pl.DataFrame({"date": days, "close": [100.0 * 1.001**i for i in range(300)]})
    >>> out = classify(bars)
    >>> out["regime"][0], out["regime"][-1]  # a steady rise without vol is a grind
    ('WARMUP', 'LOW_VOL_GRIND')
    """
    cfg = regime_settings(settings)
    frame, has_underlying, names = _features_frame(bars, vol_index, cfg)
    return _classify_frame(frame, cfg, names, ["date", "underlying"] if has_underlying else ["date"])


def classify_features(features: pl.DataFrame, settings: Settings | RegimeSettings | None = None) -> pl.DataFrame:
    """Classify a frame that already holds every feature column (one row per day, sorted by underlying, date).

    For scoring hand-built feature rows; :func:`classify` computes the features itself. ``vix_source`` may
    be a String or Enum column; rows of one ``underlying`` must be contiguous and in date order (without an
    ``underlying`` column the rows are one history).
    """
    cfg = regime_settings(settings)
    names = feature_names(cfg)
    has_underlying = "underlying" in features.columns
    key = pl.col("underlying").cast(pl.String) if has_underlying else pl.lit("")
    frame = features.with_columns(key.rle_id().cast(pl.Int64).alias(_SEG))
    keys = [k for k in ("date", "underlying") if k in features.columns]
    return _classify_frame(frame, cfg, names, keys)
