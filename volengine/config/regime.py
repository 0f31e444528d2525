"""Regime-engine settings (seed-spec §2.4): features, thresholds, score points, decision, gating, sizing."""

from __future__ import annotations

from typing import Annotated, Any, Self

from pydantic import Field, StrictBool, StrictFloat, StrictInt, field_validator, model_validator

from volengine.config._base import (
    ConfigModel,
    Problem,
    check_complete,
    check_increasing,
    check_order,
    enum_ordered,
    raise_problems,
)
from volengine.config.enums import Regime, VolIndexProxyMode


class RegimeFeatures(ConfigModel):
    """Windows of the SPY features the regime rules read (all in trading days / bars)."""

    ma_periods_days: tuple[StrictInt, StrictInt, StrictInt] = Field(
        (20, 50, 200), description="Short, medium and long moving averages (MA20, MA50, MA200)."
    )
    rv_windows_days: tuple[StrictInt, StrictInt, StrictInt] = Field(
        (5, 20, 60), description="Short, medium and long realized-vol windows (rv5, rv20, rv60), ddof 1."
    )
    return_horizons_days: tuple[StrictInt, StrictInt, StrictInt] = Field(
        (5, 20, 60), description="Horizons k of return_k = P_t / P_(t-k) - 1."
    )
    drawdown_lookback_days: StrictInt = Field(252, ge=2, description="Window of the running max in drawdown.")
    vix_percentile_lookback_days: StrictInt = Field(252, ge=2, description="Trailing window of VIX percentile.")
    vix_change_days: StrictInt = Field(5, ge=1, description="Horizon of the VIX change feature.")
    annualization_days: StrictInt = Field(252, ge=1, description="Trading days per year for sqrt annualizing.")
    history_bars: StrictInt = Field(252, ge=2, description="Bars fetched before d (at least the longest window).")
    history_buffer_bars: StrictInt = Field(30, ge=0, description="Extra bars fetched on top of history_bars.")

    @model_validator(mode="after")
    def _check(self) -> Self:
        problems: list[Problem] = []
        for name in ("ma_periods_days", "rv_windows_days", "return_horizons_days"):
            values = getattr(self, name)
            if min(values) < 1:
                problems.append(Problem(name, "must all be >= 1", list(values)))
            check_increasing(name, values, problems)
        longest = max(*self.ma_periods_days, *self.rv_windows_days, self.drawdown_lookback_days)
        if self.history_bars < longest:
            problems.append(Problem("history_bars", f"must be >= the longest window ({longest})", self.history_bars))
        raise_problems(problems)
        return self


class RegimeThresholds(ConfigModel):
    """Thresholds of the regime rules; the table of seed-spec §2.4 names each use."""

    vix_low_points: StrictFloat = Field(15.0, gt=0, description="VIX below this scores LOW_VOL_GRIND.")
    vix_elevated_points: StrictFloat = Field(
        20.0, gt=0, description="Elevated VIX: with decision.use_panic_vol_gate, PANIC needs VIX at or above this."
    )
    vix_high_points: StrictFloat = Field(25.0, gt=0, description="VIX at or above this scores PANIC.")
    vix_panic_points: StrictFloat = Field(35.0, gt=0, description="VIX at or above this scores PANIC more.")
    trend_strong_frac: StrictFloat = Field(
        0.03, gt=0, le=1, description="abs(price_vs_ma50 / ma200) beyond this scores a trend."
    )
    trend_weak_frac: StrictFloat = Field(
        0.01, gt=0, le=1, description="abs(price_vs_ma50) and abs(MA20/MA50 - 1) below this score CHOP."
    )
    ma_cross_band_frac: StrictFloat = Field(
        0.02, gt=0, le=1, description="MA20/MA50 below 1 - band scores DOWN, above 1 + band scores UP."
    )
    rv_low: StrictFloat = Field(0.10, gt=0, description="rv20 below this scores GRIND; above it allows CHOP.")
    rv_elevated: StrictFloat = Field(
        0.20, gt=0, description="rv20 below this allows the steady-GRIND rule; at or above it opens the PANIC gate."
    )
    rv_high: StrictFloat = Field(0.30, gt=0, description="rv5 at or above this scores PANIC.")
    rv_ratio_spike: StrictFloat = Field(1.5, gt=0, description="rv5/rv20 at or above this scores PANIC.")
    rv_ratio_calm: StrictFloat = Field(0.8, gt=0, description="rv5/rv20 below this scores GRIND.")
    drawdown_correction_frac: StrictFloat = Field(
        -0.10, lt=0, ge=-1, description="Drawdown at or below this is a correction."
    )
    drawdown_bear_frac: StrictFloat = Field(-0.20, lt=0, ge=-1, description="Drawdown at or below this is bear.")
    return_strong_frac: StrictFloat = Field(0.05, gt=0, description="abs(return_20) beyond this scores a trend.")
    return_weak_frac: StrictFloat = Field(0.02, gt=0, description="abs(return_20) below this allows CHOP.")
    near_high_days: StrictInt = Field(10, ge=1, description="days_since_high below this scores UP and GRIND.")

    @model_validator(mode="after")
    def _check(self) -> Self:
        problems: list[Problem] = []
        check_order(
            self,
            ("vix_low_points", "vix_elevated_points", "vix_high_points", "vix_panic_points"),
            strict=True,
            problems=problems,
        )
        check_order(self, ("trend_weak_frac", "trend_strong_frac"), strict=True, problems=problems)
        check_order(self, ("rv_low", "rv_elevated", "rv_high"), strict=True, problems=problems)
        check_order(self, ("rv_ratio_calm", "rv_ratio_spike"), strict=True, problems=problems)
        check_order(self, ("drawdown_bear_frac", "drawdown_correction_frac"), strict=True, problems=problems)
        check_order(self, ("return_weak_frac", "return_strong_frac"), strict=True, problems=problems)
        raise_problems(problems)
        return self


def _points(default: float, description: str) -> Any:
    return Field(default, ge=0, le=100, description=description)


class RegimePoints(ConfigModel):
    """Score points each rule adds to a regime (seed-spec §2.4 table)."""

    vix_panic_score: StrictFloat = _points(3.0, "PANIC, VIX >= vix_panic_points.")
    vix_high_score: StrictFloat = _points(1.5, "PANIC, vix_high_points <= VIX < vix_panic_points.")
    rv_high_score: StrictFloat = _points(2.0, "PANIC, rv5 >= rv_high.")
    rv_spike_score: StrictFloat = _points(1.5, "PANIC, rv5/rv20 >= rv_ratio_spike.")
    drawdown_bear_panic_score: StrictFloat = _points(1.5, "PANIC, drawdown <= drawdown_bear_frac.")
    drawdown_bear_down_score: StrictFloat = _points(1.0, "TREND_DOWN, drawdown <= drawdown_bear_frac.")
    drawdown_correction_panic_score: StrictFloat = _points(0.5, "PANIC, correction but not bear.")
    drawdown_correction_down_score: StrictFloat = _points(1.0, "TREND_DOWN, correction but not bear.")
    price_vs_ma50_score: StrictFloat = _points(1.5, "UP/DOWN, price_vs_ma50 beyond +/- trend_strong_frac.")
    price_vs_ma200_score: StrictFloat = _points(1.0, "UP/DOWN, price_vs_ma200 beyond +/- trend_strong_frac.")
    ma_cross_score: StrictFloat = _points(1.0, "UP/DOWN, MA20/MA50 beyond 1 +/- ma_cross_band_frac.")
    return_20_score: StrictFloat = _points(1.0, "UP/DOWN, return_20 beyond +/- return_strong_frac.")
    near_high_up_score: StrictFloat = _points(0.5, "TREND_UP, days_since_high < near_high_days.")
    near_high_grind_score: StrictFloat = _points(0.5, "LOW_VOL_GRIND, days_since_high < near_high_days.")
    vix_low_score: StrictFloat = _points(1.5, "LOW_VOL_GRIND, VIX < vix_low_points.")
    rv_low_score: StrictFloat = _points(1.5, "LOW_VOL_GRIND, rv20 < rv_low.")
    rv_calm_score: StrictFloat = _points(1.0, "LOW_VOL_GRIND, rv5/rv20 < rv_ratio_calm.")
    steady_grind_score: StrictFloat = _points(
        1.0, "LOW_VOL_GRIND, 0 < price_vs_ma20 < trend_strong_frac and rv20 < rv_elevated."
    )
    flat_ma50_chop_score: StrictFloat = _points(1.0, "CHOP, abs(price_vs_ma50) < trend_weak_frac.")
    flat_ma_cross_chop_score: StrictFloat = _points(0.5, "CHOP, abs(MA20/MA50 - 1) < trend_weak_frac.")
    flat_return_chop_score: StrictFloat = _points(1.0, "CHOP, abs(return_20) < return_weak_frac and rv20 > rv_low.")


_DEFAULT_TIE_ORDER = (
    Regime.HIGH_VOL_PANIC,
    Regime.TREND_DOWN,
    Regime.TREND_UP,
    Regime.CHOP,
    Regime.LOW_VOL_GRIND,
)


class RegimeDecision(ConfigModel):
    """How scores become a regime and a confidence."""

    tie_order: tuple[Regime, ...] = Field(
        _DEFAULT_TIE_ORDER, description="Winner among equal scores, first wins; a permutation of all 5."
    )
    full_confidence_score: StrictFloat = Field(5.0, gt=0, description="confidence = min(score / this, 1).")
    min_winning_score: StrictFloat = Field(1.0, ge=0, description="Below this best score: fallback regime.")
    fallback_regime: Regime = Field(Regime.CHOP, description="Regime given when no score reaches the minimum.")
    fallback_confidence: StrictFloat = Field(0.3, ge=0, le=1, description="Confidence of the fallback regime.")
    max_rationale_reasons: StrictInt = Field(5, ge=0, description="Reasons quoted in the rationale.")
    history_size: StrictInt = Field(252, ge=1, description="Classifications kept for transition counts.")
    use_panic_vol_gate: StrictBool = Field(
        True,
        description=(
            "PANIC may win only where the vol level is elevated (VIX >= vix_elevated_points or rv20 >= "
            "rv_elevated); false = VolMachine, where PANIC wins on points and ties alone."
        ),
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        problems: list[Problem] = []
        if set(self.tie_order) != set(Regime) or len(self.tie_order) != len(Regime):
            problems.append(
                Problem("tie_order", "must list each of the 5 regimes once", [str(r) for r in self.tie_order])
            )
        raise_problems(problems)
        return self


class RegimeGating(ConfigModel):
    """Confidence gate on new trades."""

    min_confidence: StrictFloat = Field(
        0.4, ge=0, le=1, description="Below this confidence: no new trades (candidates become REVIEW, §2.10)."
    )


class RegimeHysteresis(ConfigModel):
    """Stickiness of the incumbent regime (a VolEngine addition; 0 and 0 reproduce VolMachine)."""

    min_dwell_days: StrictInt = Field(0, ge=0, description="Days the incumbent regime lasts before a switch.")
    switch_margin_score: StrictFloat = Field(
        0.0, ge=0, description="Score points a challenger needs above the incumbent to switch."
    )
    confirm_days: StrictInt = Field(
        1, ge=1, description="Days in a row the same challenger must win the raw contest before a switch (1: at once)."
    )


class VolIndexProxy(ConfigModel):
    """Stand-in for the vol index on bars-only data: 100 × rv × implied/realized ratio, from data ≤ d."""

    mode: VolIndexProxyMode = Field(VolIndexProxyMode.AUTO, description="auto: only where no index value.")
    rv_window_days: StrictInt = Field(20, ge=2, description="Realized-vol window of the proxy.")
    implied_to_realized_ratio: StrictFloat = Field(
        1.2, gt=0, le=5, description="Assumed long-run vol-index / realized-vol ratio (VolEngine default)."
    )


class IntradayRegime(ConfigModel):
    """Intraday variant of the classifier."""

    bar_minutes: StrictInt = Field(30, ge=1, le=390, description="Bar size in minutes.")
    lookback_days: StrictInt = Field(5, ge=1, description="Trading days of bars read.")
    max_bars: StrictInt = Field(100, ge=2, description="Most recent bars kept.")
    bars_per_day: StrictInt = Field(13, ge=1, description="Bars per session; rv is annualized by sqrt(252 x this).")
    disagreement_confidence_multiplier: StrictFloat = Field(
        0.7,
        ge=0,
        le=1,
        description="Confidence factor when the intraday regime disagrees with the daily one.",
    )


def _default_size_multipliers() -> dict[Regime, float]:
    return {
        Regime.LOW_VOL_GRIND: 1.0,
        Regime.HIGH_VOL_PANIC: 0.5,
        Regime.TREND_UP: 1.0,
        Regime.TREND_DOWN: 0.75,
        Regime.CHOP: 0.5,
    }


class RegimeSettings(ConfigModel):
    """Everything the regime engine reads."""

    features: RegimeFeatures = Field(default_factory=RegimeFeatures, description="Feature windows.")
    thresholds: RegimeThresholds = Field(default_factory=RegimeThresholds, description="Rule thresholds.")
    points: RegimePoints = Field(default_factory=RegimePoints, description="Score points per rule.")
    decision: RegimeDecision = Field(default_factory=RegimeDecision, description="Scores to regime.")
    gating: RegimeGating = Field(default_factory=RegimeGating, description="Confidence gate.")
    size_multipliers: dict[Regime, Annotated[StrictFloat, Field(ge=0, le=1)]] = Field(
        default_factory=_default_size_multipliers, description="Contracts × this per regime (floored), 0–1."
    )
    hysteresis: RegimeHysteresis = Field(default_factory=RegimeHysteresis, description="Switch damping.")
    vol_index_proxy: VolIndexProxy = Field(default_factory=VolIndexProxy, description="Bars-only stand-in.")
    intraday: IntradayRegime = Field(default_factory=IntradayRegime, description="Intraday variant.")

    @field_validator("size_multipliers", mode="after")
    @classmethod
    def _order_multipliers(cls, value: dict[Regime, float]) -> dict[Regime, float]:
        return enum_ordered(value, Regime)

    @model_validator(mode="after")
    def _check(self) -> Self:
        problems: list[Problem] = []
        check_complete("size_multipliers", self.size_multipliers, Regime, problems)
        raise_problems(problems)
        return self
