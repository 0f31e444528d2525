"""Recommendation, quality-score and edge-health settings (seed-spec §2.10).

The confidence gate that turns a candidate into REVIEW is ``regime.gating.min_confidence`` (one threshold for
§2.4 and §2.10); the what-if ladder and fractional Kelly are in ``risk``; a fallback edge may TRADE only with
``universe.execution.allow_fallback_edges``.
"""

from __future__ import annotations

from typing import Annotated, Any, Self

from pydantic import Field, StrictFloat, StrictInt, field_validator, model_validator

from volengine.config._base import (
    ConfigModel,
    Problem,
    check_grade_ladder,
    check_increasing,
    check_order,
    enum_ordered,
    raise_problems,
)
from volengine.config.enums import QualityGrade

_TOTAL_QUALITY_POINTS = 100.0


def _quality(default: float, description: str) -> Any:
    return Field(default, ge=0, le=100, description=description)


def _default_grades() -> dict[QualityGrade, float]:
    cutoffs = (90.0, 85.0, 80.0, 75.0, 70.0, 65.0, 60.0, 55.0, 50.0)
    return dict(zip([g for g in QualityGrade if g is not QualityGrade.D], cutoffs, strict=True))


class QualityScoreSettings(ConfigModel):
    """The 0-100 quality score: edge + regime + liquidity + pricing parts, then a letter grade.

    Edge = strength x edge weight. Regime = confidence x weight + fit, clipped to [regime min, regime max].
    Liquidity = min(OI cap, OI / per-point) + min(volume cap, volume / per-point) + max(0, spread cap - bid-ask %).
    Pricing = credit / max loss x credit weight, or max profit / debit x debit weight, capped; else the default.
    """

    edge_weight_quality_points: StrictFloat = _quality(25.0, "Edge part = strength x this.")
    regime_confidence_weight_quality_points: StrictFloat = _quality(20.0, "Regime part = confidence x this + fit.")
    grind_vrp_fit_quality_points: StrictFloat = Field(
        5.0, ge=-100, le=100, description="Fit of a VRP edge in LOW_VOL_GRIND."
    )
    grind_other_fit_quality_points: StrictFloat = Field(
        2.0, ge=-100, le=100, description="Fit of any other edge in LOW_VOL_GRIND."
    )
    panic_fit_quality_points: StrictFloat = Field(-5.0, ge=-100, le=100, description="Fit of any edge in PANIC.")
    regime_min_quality_points: StrictFloat = _quality(0.0, "Regime part is clipped below at this ...")
    regime_max_quality_points: StrictFloat = _quality(25.0, "... and above at this.")
    open_interest_max_quality_points: StrictFloat = _quality(10.0, "Cap of the open-interest part ...")
    open_interest_per_quality_point: StrictFloat = Field(
        500.0, gt=0, description="... which earns 1 point per this many contracts of OI."
    )
    volume_max_quality_points: StrictFloat = _quality(10.0, "Cap of the volume part ...")
    volume_per_quality_point: StrictFloat = Field(
        100.0, gt=0, description="... which earns 1 point per this many contracts of volume."
    )
    spread_max_quality_points: StrictFloat = _quality(5.0, "Spread part = max(0, this - bid-ask %).")
    credit_ratio_weight_quality_points: StrictFloat = Field(
        50.0, ge=0, description="Credit structures: pricing part = credit / max loss x this."
    )
    debit_ratio_weight_quality_points: StrictFloat = Field(
        12.5, ge=0, description="Debit structures: pricing part = max profit / debit x this."
    )
    pricing_max_quality_points: StrictFloat = _quality(25.0, "Cap of the pricing part.")
    pricing_default_quality_points: StrictFloat = _quality(10.0, "Pricing part when neither ratio exists.")
    grade_min_quality_points: dict[QualityGrade, Annotated[StrictFloat, Field(ge=0, le=100)]] = Field(
        default_factory=_default_grades,
        description="Lowest score of each grade, best first, strictly decreasing; below the last: D.",
    )

    @field_validator("grade_min_quality_points", mode="after")
    @classmethod
    def _order_grades(cls, value: dict[QualityGrade, float]) -> dict[QualityGrade, float]:
        return enum_ordered(value, QualityGrade)

    @model_validator(mode="after")
    def _check(self) -> Self:
        problems: list[Problem] = []
        check_order(self, ("regime_min_quality_points", "regime_max_quality_points"), strict=True, problems=problems)
        check_order(
            self, ("pricing_default_quality_points", "pricing_max_quality_points"), strict=False, problems=problems
        )
        check_grade_ladder("grade_min_quality_points", self.grade_min_quality_points, QualityGrade.D, problems)
        self._check_total(problems)
        raise_problems(problems)
        return self

    def _check_total(self, problems: list[Problem]) -> None:
        parts = {
            "edge": self.edge_weight_quality_points,
            "regime": self.regime_max_quality_points,
            "liquidity": self.open_interest_max_quality_points
            + self.volume_max_quality_points
            + self.spread_max_quality_points,
            "pricing": self.pricing_max_quality_points,
        }
        total = sum(parts.values())
        if abs(total - _TOTAL_QUALITY_POINTS) > 1e-9:
            terms = " + ".join(f"{name} {value:g}" for name, value in parts.items())
            related = (
                "edge_weight_quality_points",
                "regime_max_quality_points",
                "open_interest_max_quality_points",
                "volume_max_quality_points",
                "spread_max_quality_points",
            )
            message = f"must bring the part maxima to 100 ({terms} = {total:g})"
            problems.append(Problem("pricing_max_quality_points", message, self.pricing_max_quality_points, related))


class EdgeHealthSettings(ConfigModel):
    """Edge health from closed trades: ACTIVE, WATCHLIST or SUSPENDED (MANUAL_HOLD is set by hand).

    With at least ``min_trades`` closed trades: ``suspend_consecutive_losses`` straight losses, or in the status
    window a hit rate below the suspend level or EV per $ risked below the suspend level, give SUSPENDED; else a
    hit rate or EV per $ below the watchlist levels gives WATCHLIST.
    """

    min_trades: StrictInt = Field(10, ge=1, description="Closed trades needed before a status other than ACTIVE.")
    windows_days: tuple[Annotated[StrictInt, Field(ge=1)], ...] = Field(
        (7, 30, 90), min_length=1, description="Trailing windows reported, besides lifetime."
    )
    status_window_days: StrictInt = Field(30, ge=1, description="Window whose hit rate and EV per $ set the status.")
    suspend_consecutive_losses: StrictInt = Field(5, ge=1, description="This many straight losses: SUSPENDED.")
    suspend_hit_rate_pct: StrictFloat = Field(25.0, ge=0, le=100, description="Hit rate below this: SUSPENDED.")
    suspend_ev_per_risk_pct: StrictFloat = Field(-10.0, ge=-100, description="EV per $ risked below this %: SUSPENDED.")
    watchlist_hit_rate_pct: StrictFloat = Field(35.0, ge=0, le=100, description="Hit rate below this: WATCHLIST.")
    watchlist_ev_per_risk_pct: StrictFloat = Field(0.0, ge=-100, description="EV per $ risked below this %: WATCHLIST.")

    @model_validator(mode="after")
    def _check(self) -> Self:
        problems: list[Problem] = []
        check_increasing("windows_days", self.windows_days, problems)
        if self.status_window_days not in self.windows_days:
            windows = ", ".join(map(str, self.windows_days))
            message = f"must be one of windows_days ({windows})"
            problems.append(Problem("status_window_days", message, self.status_window_days, ("windows_days",)))
        check_order(self, ("suspend_hit_rate_pct", "watchlist_hit_rate_pct"), strict=False, problems=problems)
        check_order(self, ("suspend_ev_per_risk_pct", "watchlist_ev_per_risk_pct"), strict=False, problems=problems)
        raise_problems(problems)
        return self


class ExplanationSettings(ConfigModel):
    """Thresholds quoted by the deterministic explanation templates ("do not trade on ...")."""

    caution_max_bid_ask_pct: StrictFloat = Field(5.0, gt=0, le=200, description="Warn when a leg's bid-ask % is above.")
    caution_min_open_interest: StrictInt = Field(500, ge=0, description="Warn when a leg's open interest is below.")


class RecommendationSettings(ConfigModel):
    """TRADE / REVIEW / PASS rules, quality score, explanations and edge health."""

    min_history_mode: StrictFloat = Field(
        0.5,
        ge=0,
        le=1,
        description="Edges with history_mode below this (or is_fallback) are fallbacks: REVIEW.",
    )
    quality: QualityScoreSettings = Field(default_factory=QualityScoreSettings, description="Quality score.")
    explanations: ExplanationSettings = Field(default_factory=ExplanationSettings, description="Explanations.")
    edge_health: EdgeHealthSettings = Field(default_factory=EdgeHealthSettings, description="Edge health.")
