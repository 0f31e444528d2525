"""Structure-builder settings (seed-spec §2.7, §2.8): liquidity, expiry, strikes, validation, payoff, edge map."""

from __future__ import annotations

from typing import Self

from pydantic import Field, StrictBool, StrictFloat, StrictInt, field_validator, model_validator

from volengine.config._base import (
    ConfigModel,
    Problem,
    check_complete,
    check_order,
    enum_ordered,
    raise_problems,
)
from volengine.config.enums import Regime, SignalKind, StrikeMode, StructureChoice


class LiquiditySettings(ConfigModel):
    """Per-leg liquidity filter; the effective set resolves base → paper → universe (``resolve_symbol``)."""

    min_volume: StrictInt = Field(100, ge=0, description="Minimum day volume per leg (contracts).")
    min_open_interest: StrictInt = Field(500, ge=0, description="Minimum open interest per leg (contracts).")
    max_bid_ask_pct: StrictFloat = Field(5.0, gt=0, le=200, description="Maximum (ask - bid) / mid x 100 per leg.")
    enforce_liquidity: StrictBool = Field(True, description="Reject legs failing the filter.")


def _paper_liquidity() -> LiquiditySettings:
    return LiquiditySettings(min_volume=10, min_open_interest=50, max_bid_ask_pct=8.0, enforce_liquidity=False)


class ExpirySettings(ConfigModel):
    """Expiry window and target (calendar days to expiry from d)."""

    min_dte_days: StrictInt = Field(7, ge=0, description="Earliest expiry considered.")
    max_dte_days: StrictInt = Field(60, ge=1, description="Latest expiry considered.")
    target_dte_days: StrictInt = Field(30, ge=0, description="The expiry closest to this inside the window wins.")
    preferred_dte_days: tuple[StrictInt, ...] = Field(
        (21, 30, 45), description="Preferred expiries, inside [min_dte_days, max_dte_days]."
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        problems: list[Problem] = []
        check_order(self, ("min_dte_days", "max_dte_days"), strict=False, problems=problems)
        if not problems:
            window = f"[{self.min_dte_days}, {self.max_dte_days}]"
            bounds = ("min_dte_days", "max_dte_days")
            if not self.min_dte_days <= self.target_dte_days <= self.max_dte_days:
                problems.append(Problem("target_dte_days", f"must lie within {window}", self.target_dte_days, bounds))
            if any(not self.min_dte_days <= d <= self.max_dte_days for d in self.preferred_dte_days):
                preferred = list(self.preferred_dte_days)
                problems.append(Problem("preferred_dte_days", f"must lie within {window}", preferred, bounds))
        raise_problems(problems)
        return self


class StrikeSettings(ConfigModel):
    """Strike placement and widths (strike distances in points, i.e. dollars per share)."""

    strike_mode: StrikeMode = Field(StrikeMode.OFFSET, description="offset: ATM ± k·w; delta: target abs(delta).")
    preferred_width_points: StrictFloat = Field(5.0, gt=0, description="Width search starts here.")
    min_width_points: StrictFloat = Field(1.0, gt=0, description="... and steps down to this.")
    max_width_points: StrictFloat = Field(20.0, gt=0, description="Widest width allowed.")
    credit_spread_width_points: StrictFloat = Field(5.0, gt=0, description="Credit vertical width.")
    iron_condor_wing_width_points: StrictFloat = Field(10.0, gt=0, description="Iron condor wing width.")
    butterfly_wing_width_points: StrictFloat = Field(5.0, gt=0, description="Butterfly wing width.")
    credit_spread_short_delta_abs: StrictFloat = Field(
        0.30, gt=0, lt=1, description="delta mode: abs(delta) of a credit vertical's short strike."
    )
    iron_condor_short_delta_abs: StrictFloat = Field(
        0.16, gt=0, lt=1, description="delta mode: abs(delta) of each iron condor short strike."
    )
    debit_spread_long_delta_abs: StrictFloat = Field(
        0.50, gt=0, lt=1, description="delta mode: abs(delta) of a debit vertical's long strike."
    )
    credit_spread_offset_widths: StrictFloat = Field(
        1.0, ge=0, description="offset mode: k of a credit vertical's short strike at ATM ∓ k·w."
    )
    iron_condor_offset_widths: StrictFloat = Field(
        1.0, ge=0, description="offset mode: k of the iron condor short strikes at ATM ± k·w."
    )
    debit_spread_offset_widths: StrictFloat = Field(
        0.0, ge=0, description="offset mode: k of a debit vertical's long strike at ATM ± k·w."
    )
    diagonal_width_points: StrictFloat = Field(
        5.0, gt=0, description="Diagonal: the long back strike sits this far in the money of the short front one."
    )
    diagonal_short_delta_abs: StrictFloat = Field(
        0.30, gt=0, lt=1, description="delta mode: abs(delta) of a diagonal's short front strike."
    )
    diagonal_offset_widths: StrictFloat = Field(
        0.0, ge=0, description="offset mode: k of a diagonal's short front strike at ATM ± k·w (out of the money)."
    )
    max_substitution_points: StrictFloat = Field(
        5.0, ge=0, description="A substituted (fallback) strike may sit at most this far from its target."
    )
    max_substituted_trades_pct: StrictFloat = Field(
        25.0, ge=0, le=100, description="Above this share of trades on substituted strikes a backtest is INVALID."
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        problems: list[Problem] = []
        names = ("min_width_points", "preferred_width_points", "max_width_points")
        check_order(self, names, strict=False, problems=problems)
        for name in (
            "credit_spread_width_points",
            "iron_condor_wing_width_points",
            "butterfly_wing_width_points",
            "diagonal_width_points",
        ):
            value = getattr(self, name)
            if not problems and not self.min_width_points <= value <= self.max_width_points:
                bounds = f"[{self.min_width_points}, {self.max_width_points}]"
                problems.append(
                    Problem(name, f"must lie within {bounds}", value, ("min_width_points", "max_width_points"))
                )
        raise_problems(problems)
        return self


class StructureValidation(ConfigModel):
    """The hard validation gate of seed-spec §2.8."""

    max_loss_cap_usd: StrictFloat | None = Field(
        None,
        gt=0,
        description="Max loss per contract must not exceed this; null = the per-trade risk budget.",
    )
    vertical_tolerance_points: StrictFloat = Field(
        0.01, ge=0, description="abs(max_loss - (width - credit)) allowed for verticals."
    )
    max_margin_equity_pct: StrictFloat = Field(
        50.0, gt=0, le=100, description="Margin (≈ max loss) x 100 must be <= this % of equity."
    )
    min_reward_risk_ratio: StrictFloat = Field(0.0, ge=0, description="Minimum max profit / max loss; 0 = off.")
    min_credit_width_ratio: StrictFloat = Field(
        0.0,
        ge=0,
        lt=1,
        description="Minimum credit / width for credit structures; 0 = off (VolMachine 0.20).",
    )


class PayoffSettings(ConfigModel):
    """Payoff grids (seed-spec §2.8) for plots and interpolated breakevens; risk numbers stay analytic."""

    plot_span_frac: StrictFloat = Field(0.50, gt=0, lt=1, description="Plot grid: spot x (1 ± this) ...")
    plot_points: StrictInt = Field(500, ge=2, description="... in this many points.")
    breakeven_span_frac: StrictFloat = Field(
        0.30, gt=0, lt=1, description="Breakeven interpolation grid: spot x (1 ± this) ..."
    )
    breakeven_points: StrictInt = Field(200, ge=2, description="... in this many points.")

    @model_validator(mode="after")
    def _check(self) -> Self:
        problems: list[Problem] = []
        check_order(self, ("breakeven_span_frac", "plot_span_frac"), strict=False, problems=problems)
        raise_problems(problems)
        return self


def _default_edge_map() -> dict[Regime, dict[SignalKind, StructureChoice]]:
    common = {
        SignalKind.TERM_BACKWARDATION: StructureChoice.CALENDAR,
        SignalKind.TERM_CONTANGO: StructureChoice.NONE,
        SignalKind.SKEW_STEEP: StructureChoice.PUT_CREDIT_SPREAD,
        SignalKind.SKEW_FLAT: StructureChoice.CALL_DEBIT_SPREAD,
        SignalKind.EVENT_VOL: StructureChoice.IRON_CONDOR,
        SignalKind.GAMMA_PIN: StructureChoice.CALL_BUTTERFLY,
        SignalKind.GAMMA_NEGATIVE: StructureChoice.NONE,
    }
    vrp = {
        Regime.LOW_VOL_GRIND: StructureChoice.IRON_CONDOR,
        Regime.HIGH_VOL_PANIC: StructureChoice.PUT_CREDIT_SPREAD,
        Regime.TREND_UP: StructureChoice.PUT_CREDIT_SPREAD,
        Regime.TREND_DOWN: StructureChoice.CALL_CREDIT_SPREAD,
        Regime.CHOP: StructureChoice.IRON_CONDOR,
    }
    return {regime: enum_ordered({SignalKind.VRP: vrp[regime], **common}, SignalKind) for regime in Regime}


class StructuresSettings(ConfigModel):
    """Everything the structure builders read."""

    liquidity: LiquiditySettings = Field(default_factory=LiquiditySettings, description="Base liquidity set.")
    paper_liquidity: LiquiditySettings = Field(
        default_factory=_paper_liquidity, description="Replaces the base set in paper mode."
    )
    expiry: ExpirySettings = Field(default_factory=ExpirySettings, description="Expiry window.")
    strikes: StrikeSettings = Field(default_factory=StrikeSettings, description="Strikes and widths.")
    validation: StructureValidation = Field(default_factory=StructureValidation, description="Hard gate.")
    payoff: PayoffSettings = Field(default_factory=PayoffSettings, description="Payoff plot grids.")
    edge_map: dict[Regime, dict[SignalKind, StructureChoice]] = Field(
        default_factory=_default_edge_map,
        description="Structure built per regime and signal; short-vol signals take short-vol structures.",
    )

    @field_validator("edge_map", mode="after")
    @classmethod
    def _order_edge_map(
        cls, value: dict[Regime, dict[SignalKind, StructureChoice]]
    ) -> dict[Regime, dict[SignalKind, StructureChoice]]:
        return {regime: enum_ordered(row, SignalKind) for regime, row in enum_ordered(value, Regime).items()}

    @model_validator(mode="after")
    def _check(self) -> Self:
        problems: list[Problem] = []
        check_complete("edge_map", self.edge_map, Regime, problems)
        for regime, row in self.edge_map.items():
            check_complete(f"edge_map.{regime}", row, SignalKind, problems)
            for signal, choice in row.items():
                if choice is StructureChoice.NONE or choice.is_short_vol == signal.is_short_vol:
                    continue
                thesis = "short-vol" if signal.is_short_vol else "long-vol"
                problems.append(
                    Problem(
                        f"edge_map.{regime}.{signal}",
                        f"a {thesis} signal needs a {thesis} structure or none",
                        str(choice),
                    )
                )
        raise_problems(problems)
        return self
