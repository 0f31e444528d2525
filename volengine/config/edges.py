"""Edge-detector settings (seed-spec §2.5): one model per detector, with its PANIC tightening.

Strength constants follow the formulas of §2.5; ``*_offset_widths`` place strikes in ``offset`` strike mode
(short strike = ATM ± k · width, see ``structures.strikes``).
"""

from __future__ import annotations

from typing import Any, Self

from pydantic import Field, StrictBool, StrictFloat, StrictInt, model_validator

from volengine.config._base import ConfigModel, Problem, check_order, raise_problems
from volengine.config.enums import CombineRule, EventType, GammaSignConvention


def _strength(default: float, description: str) -> Any:
    return Field(default, ge=0, le=1, description=description)


def _percentile(default: float, description: str) -> Any:
    return Field(default, ge=0, le=100, description=description)


class VrpSettings(ConfigModel):
    """Volatility risk premium: ATM IV against 20-day realized vol."""

    rv_window_days: StrictInt = Field(20, ge=2, description="Realized-vol window (sample std x sqrt(252)).")
    lookback_days: StrictInt = Field(252, ge=2, description="Trailing values in the IV, RV and ratio percentiles.")
    min_history_days: StrictInt = Field(252, ge=1, description="Below this many values: history_mode 0.")
    min_atm_iv: StrictFloat = Field(0.10, ge=0, description="ATM IV must be at least this to fire.")
    iv_rv_ratio_threshold: StrictFloat = Field(1.3, gt=0, description="IV/RV20 at or above this fires.")
    percentile_threshold: StrictFloat = _percentile(80.0, "Ratio percentile at or above this fires.")
    combine: CombineRule = Field(CombineRule.ANY, description="any: ratio OR percentile fires; all: both.")
    panic_percentile_threshold: StrictFloat = _percentile(95.0, "In PANIC the percentile must also reach this.")
    strong_percentile: StrictFloat = _percentile(90.0, "Percentile for strong_strength.")
    weak_percentile: StrictFloat = _percentile(70.0, "Percentile for weak_strength.")
    strong_strength: StrictFloat = _strength(1.0, "Strength at percentile >= strong_percentile.")
    threshold_strength: StrictFloat = _strength(0.7, "Strength at percentile >= percentile_threshold.")
    weak_strength: StrictFloat = _strength(0.4, "Strength at percentile >= weak_percentile.")
    base_strength: StrictFloat = _strength(0.2, "Strength below weak_percentile.")
    both_bonus_strength: StrictFloat = _strength(0.2, "Added (cap 1) when ratio and percentile both fire.")
    use_horizon_matched_rv: StrictBool = Field(False, description="Compare IV with RV over the IV's horizon.")
    condor_short_offset_widths: StrictFloat = Field(2.0, ge=0, description="Condor shorts at ATM ± k·w.")
    vertical_short_offset_widths: StrictFloat = Field(1.0, ge=0, description="Vertical short at ATM ∓ k·w.")

    @model_validator(mode="after")
    def _check(self) -> Self:
        problems: list[Problem] = []
        names = ("weak_percentile", "percentile_threshold", "strong_percentile")
        check_order(self, names, strict=True, problems=problems)
        check_order(self, ("percentile_threshold", "panic_percentile_threshold"), strict=False, problems=problems)
        check_order(self, ("min_history_days", "lookback_days"), strict=False, problems=problems)
        names = ("base_strength", "weak_strength", "threshold_strength", "strong_strength")
        check_order(self, names, strict=False, problems=problems)
        raise_problems(problems)
        return self


class TermStructureSettings(ConfigModel):
    """Front against back ATM IV; expiry ranges are disjoint: front in [min, max), back in [min, max]."""

    front_min_dte_days: StrictInt = Field(7, ge=0, description="Front expiry: smallest DTE >= this.")
    front_max_dte_days: StrictInt = Field(30, ge=1, description="Front expiry: DTE < this (exclusive).")
    back_min_dte_days: StrictInt = Field(30, ge=1, description="Back expiry: smallest DTE >= this.")
    back_max_dte_days: StrictInt = Field(60, ge=1, description="Back expiry: DTE <= this (inclusive).")
    contango_frac: StrictFloat = Field(0.02, gt=0, description="spread_pct above this is contango.")
    backwardation_frac: StrictFloat = Field(-0.02, lt=0, description="spread_pct below this is backwardation.")
    extreme_contango_frac: StrictFloat = Field(0.08, gt=0, description="spread_pct >= this fires (back rich).")
    extreme_backwardation_frac: StrictFloat = Field(-0.08, lt=0, description="spread_pct <= this fires (front rich).")
    strength_scale_frac: StrictFloat = Field(0.05, gt=0, description="Strength = min((x - extreme)/this + base, 1).")
    extreme_base_strength: StrictFloat = _strength(0.5, "Strength at the extreme threshold.")
    panic_backwardation_strength: StrictFloat = _strength(0.4, "Backwardation strength in PANIC.")
    history_days: StrictInt = Field(252, ge=1, description="Spreads kept in the date-keyed history.")
    calendar_front_min_dte_days: StrictInt = Field(7, ge=1, description="Calendar sells the first DTE >= this.")
    calendar_back_gap_days: StrictInt = Field(20, ge=1, description="Calendar buys the first DTE >= front + this.")

    @model_validator(mode="after")
    def _check(self) -> Self:
        problems: list[Problem] = []
        check_order(self, ("front_min_dte_days", "front_max_dte_days"), strict=True, problems=problems)
        check_order(self, ("front_max_dte_days", "back_min_dte_days"), strict=False, problems=problems)
        check_order(self, ("back_min_dte_days", "back_max_dte_days"), strict=False, problems=problems)
        check_order(self, ("contango_frac", "extreme_contango_frac"), strict=False, problems=problems)
        check_order(self, ("extreme_backwardation_frac", "backwardation_frac"), strict=False, problems=problems)
        raise_problems(problems)
        return self


class SkewSettings(ConfigModel):
    """25-delta put-call skew extremes against their own trailing percentile."""

    target_dte_days: StrictInt = Field(30, ge=1, description="Expiry with DTE closest to this.")
    dte_tolerance_days: StrictInt = Field(15, ge=0, description="... and within ± this many days of it.")
    wing_delta_abs: StrictFloat = Field(0.25, gt=0, lt=0.5, description="abs(delta) of the skew strikes.")
    lookback_days: StrictInt = Field(60, ge=2, description="Trailing skew values in the percentile.")
    min_history_days: StrictInt = Field(10, ge=1, description="Below this many values: fallback rules.")
    steep_percentile: StrictFloat = _percentile(90.0, "Skew percentile at or above this is steep.")
    flat_percentile: StrictFloat = _percentile(10.0, "Skew percentile at or below this is flat.")
    steep_base_strength: StrictFloat = _strength(0.6, "Steep strength = base + (p - steep)/span x gain.")
    steep_span_percentile: StrictFloat = Field(20.0, gt=0, description="Span of the steep strength ramp.")
    steep_gain_strength: StrictFloat = _strength(0.4, "Gain of the steep strength ramp.")
    panic_steep_strength: StrictFloat = _strength(0.4, "Steep strength in PANIC.")
    flat_base_strength: StrictFloat = _strength(0.5, "Flat strength = base + (flat - p)/span x gain.")
    flat_span_percentile: StrictFloat = Field(20.0, gt=0, description="Span of the flat strength ramp.")
    flat_gain_strength: StrictFloat = _strength(0.3, "Gain of the flat strength ramp.")
    fallback_steep_skew: StrictFloat = Field(0.10, description="Without history: skew >= this is steep.")
    fallback_flat_skew: StrictFloat = Field(0.02, description="Without history: skew <= this is flat.")
    fallback_steep_strength: StrictFloat = _strength(0.5, "Fallback steep strength.")
    fallback_panic_steep_strength: StrictFloat = _strength(0.3, "Fallback steep strength in PANIC.")
    fallback_flat_strength: StrictFloat = _strength(0.4, "Fallback flat strength.")
    use_reversion_gate: StrictBool = Field(False, description="Require the skew to start reverting.")
    reversion_lookback_values: StrictInt = Field(5, ge=1, description="Deltas measured against this many back.")
    reversion_min_skew_change: StrictFloat = Field(0.005, ge=0, description="Minimum abs(skew_delta).")
    reversion_min_percentile_change: StrictFloat = _percentile(10.0, "Minimum abs(pctl_delta).")
    min_strength: StrictFloat = _strength(0.0, "Signals weaker than this are dropped (VolMachine backtest 0.5).")
    flat_max_iv_percentile: StrictFloat | None = Field(
        None, ge=0, le=100, description="Flat signals need IV percentile <= this; null = off (VolMachine 75)."
    )
    vertical_short_offset_widths: StrictFloat = Field(1.0, ge=0, description="Steep: short put at ATM - k·w.")

    @model_validator(mode="after")
    def _check(self) -> Self:
        problems: list[Problem] = []
        check_order(self, ("flat_percentile", "steep_percentile"), strict=True, problems=problems)
        check_order(self, ("fallback_flat_skew", "fallback_steep_skew"), strict=True, problems=problems)
        check_order(self, ("min_history_days", "lookback_days"), strict=False, problems=problems)
        raise_problems(problems)
        return self


class EventVolSettings(ConfigModel):
    """Event premium: ATM IV of the first expiry after a calendar event against a baseline."""

    event_types: tuple[EventType, ...] = Field(tuple(EventType), min_length=1, description="Events considered.")
    days_before_event: StrictInt = Field(5, ge=0, description="Nearest event within this many days of d.")
    baseline_before_gap_days: StrictInt = Field(3, ge=0, description="Baseline: last expiry DTE < event - this.")
    baseline_after_gap_days: StrictInt = Field(7, ge=0, description="Baseline: first expiry DTE > event + this.")
    fallback_baseline_iv: StrictFloat = Field(0.20, gt=0, description="Flagged baseline with < 2 expiry IVs.")
    min_iv_premium_pct: StrictFloat = Field(20.0, gt=0, description="premium_pct at or above this fires.")
    high_iv_premium_pct: StrictFloat = Field(30.0, gt=0, description="Premium for high_strength.")
    extreme_iv_premium_pct: StrictFloat = Field(50.0, gt=0, description="Premium for extreme_strength.")
    extreme_strength: StrictFloat = _strength(1.0, "Strength at premium >= extreme.")
    high_strength: StrictFloat = _strength(0.7, "Strength at premium >= high.")
    base_strength: StrictFloat = _strength(0.4, "Strength = base + (p - min)/ramp_span x ramp_gain below high.")
    ramp_span_pct: StrictFloat = Field(30.0, gt=0, description="Span of the strength ramp.")
    ramp_gain_strength: StrictFloat = _strength(0.3, "Gain of the strength ramp.")
    panic_strength_multiplier: StrictFloat = Field(0.7, ge=0, le=1, description="Strength factor in PANIC.")
    crush_lookback_days: StrictInt = Field(8, ge=1, description="Days after an event measured for IV crush.")
    condor_short_offset_widths: StrictFloat = Field(1.0, ge=0, description="Condor shorts at ATM ± k·w.")

    @model_validator(mode="after")
    def _check(self) -> Self:
        problems: list[Problem] = []
        names = ("min_iv_premium_pct", "high_iv_premium_pct", "extreme_iv_premium_pct")
        check_order(self, names, strict=True, problems=problems)
        if len(set(self.event_types)) != len(self.event_types):
            problems.append(Problem("event_types", "must not repeat a type", [str(t) for t in self.event_types]))
        raise_problems(problems)
        return self


class GammaSettings(ConfigModel):
    """Dealer gamma exposure (GEX) from open interest: pin zone and negative gamma."""

    max_dte_days: StrictInt = Field(7, ge=1, description="Expiry: first with 0 < DTE <= this, else nearest.")
    min_open_interest: StrictInt = Field(1000, ge=0, description="Contracts with less OI are ignored.")
    use_feed_gamma: StrictBool = Field(True, description="Use the feed's gamma when present, else BS.")
    sign_convention: GammaSignConvention = Field(
        GammaSignConvention.CALLS_POSITIVE,
        description="calls_positive: calls +, puts − (dealers long calls).",
    )
    gex_move_frac: StrictFloat = Field(0.01, gt=0, description="GEX = gamma x OI x 100 x S^2 x this.")
    pin_zone_width_pct: StrictFloat = Field(1.0, gt=0, description="Pin zone = K* ± this % of spot.")
    pin_max_distance_pct: StrictFloat = Field(0.5, gt=0, description="Pin needs abs(price_vs_max_gamma) < this.")
    pin_base_strength: StrictFloat = _strength(0.6, "Pin strength = base + (max_distance - abs(d)) x gain.")
    pin_gain_strength: StrictFloat = Field(0.8, ge=0, description="Pin strength gain per percent.")
    negative_gamma_scale_usd: StrictFloat = Field(1e9, gt=0, description="Strength = abs(net GEX) / this.")
    negative_max_strength: StrictFloat = _strength(0.8, "Cap of the negative-gamma strength.")
    panic_negative_bonus_strength: StrictFloat = _strength(0.2, "Added to negative-gamma strength in PANIC.")
    flip_threshold_usd: StrictFloat = Field(0.0, description="Cumulative GEX crossing this level is the flip.")


class EdgesSettings(ConfigModel):
    """All edge detectors."""

    atm_target_dte_days: StrictInt = Field(30, ge=1, description="ATM IV is read on the expiry closest to this.")
    vrp: VrpSettings = Field(default_factory=VrpSettings, description="Volatility risk premium.")
    term_structure: TermStructureSettings = Field(
        default_factory=TermStructureSettings, description="Front/back IV term structure."
    )
    skew: SkewSettings = Field(default_factory=SkewSettings, description="25-delta skew extremes.")
    event_vol: EventVolSettings = Field(default_factory=EventVolSettings, description="Event premium.")
    gamma: GammaSettings = Field(default_factory=GammaSettings, description="Dealer gamma pressure.")
