"""Risk-engine and stress settings (seed-spec §2.9). Percentages are of mark-to-market equity."""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import Field, StrictBool, StrictFloat, StrictInt, field_validator, model_validator

from volengine.config._base import (
    ConfigModel,
    Problem,
    Symbol,
    check_increasing,
    check_order,
    key_ordered,
    raise_problems,
)
from volengine.config.enums import KillSwitchAction, KillSwitchReset, StressFailureAction

_Pct = Annotated[StrictFloat, Field(gt=0, le=100)]


def _default_clusters() -> dict[str, tuple[str, ...]]:
    return {"us_equity_index": ("SPY", "QQQ", "IWM")}


class RiskSettings(ConfigModel):
    """Sizing, portfolio limits with warn levels, the drawdown kill switch and cluster rules."""

    per_trade_risk_pct: StrictFloat = Field(1.0, gt=0, le=100, description="Risk budget per trade.")
    total_risk_pct: StrictFloat = Field(10.0, gt=0, le=100, description="Open max loss of all trades.")
    max_contracts: StrictInt = Field(50, ge=1, description="Contracts per trade, after sizing.")
    max_open_trades: StrictInt = Field(10, ge=1, description="No new trade at or above this many open.")
    daily_loss_limit_pct: StrictFloat = Field(3.0, gt=0, le=100, description="Block at this loss vs prior close.")
    weekly_loss_limit_pct: StrictFloat = Field(5.0, gt=0, le=100, description="Block at this loss, Monday..d.")
    max_drawdown_pct: StrictFloat = Field(15.0, gt=0, le=100, description="Kill switch at this drawdown from HWM.")
    daily_loss_warn_pct: StrictFloat = Field(2.0, gt=0, le=100, description="Warn at this daily loss.")
    weekly_loss_warn_pct: StrictFloat = Field(3.0, gt=0, le=100, description="Warn at this weekly loss.")
    drawdown_warn_pct: StrictFloat = Field(10.0, gt=0, le=100, description="Warn at this drawdown.")
    kill_switch_action: KillSwitchAction = Field(
        KillSwitchAction.BLOCK, description="block: no new trades; close: also close open positions."
    )
    kill_switch_reset: KillSwitchReset = Field(
        KillSwitchReset.MANUAL,
        description="manual: holds until an explicit reset; after_days: recovery rule.",
    )
    kill_switch_recovery_days: StrictInt = Field(
        1, ge=1, description="after_days only: trading days the kill switch holds (VolMachine 1)."
    )
    what_if_risk_pcts: tuple[_Pct, ...] = Field(
        (1.0, 2.0, 5.0, 10.0), description="Per-trade risk levels of the what-if sizing ladder."
    )
    use_kelly: StrictBool = Field(False, description="Size by fractional Kelly instead of the fixed budget.")
    kelly_fraction: StrictFloat = Field(0.25, gt=0, le=1, description="Fraction of full Kelly when used.")
    stress_failure_action: StressFailureAction = Field(
        StressFailureAction.REVIEW, description="Recommendation of a candidate that fails its stress test."
    )
    clusters: dict[str, tuple[Symbol, ...]] = Field(
        default_factory=_default_clusters, description="Named groups of correlated symbols."
    )
    cluster_max_risk_usd: StrictFloat | None = Field(
        None, gt=0, description="Open max loss per cluster; null = off (VolMachine backtest 1000)."
    )
    cluster_max_open_trades: StrictInt | None = Field(
        None, ge=1, description="Open trades per cluster; null = off (VolMachine backtest 2)."
    )
    symbol_stop_cooldown_days: StrictInt = Field(
        0, ge=0, description="Trading days a symbol waits after a stop-loss; 0 = off (VolMachine 10)."
    )
    cluster_stop_cooldown_days: StrictInt = Field(
        0, ge=0, description="Trading days a cluster waits after a stop-loss; 0 = off (VolMachine 5)."
    )
    best_edge_per_symbol: StrictBool = Field(True, description="Keep only the strongest candidate per symbol.")

    @field_validator("clusters", mode="after")
    @classmethod
    def _order_clusters(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        return key_ordered(value)

    @model_validator(mode="after")
    def _check(self) -> Self:
        problems: list[Problem] = []
        check_order(self, ("per_trade_risk_pct", "total_risk_pct"), strict=False, problems=problems)
        check_order(self, ("daily_loss_limit_pct", "weekly_loss_limit_pct"), strict=False, problems=problems)
        check_order(self, ("daily_loss_warn_pct", "daily_loss_limit_pct"), strict=True, problems=problems)
        check_order(self, ("weekly_loss_warn_pct", "weekly_loss_limit_pct"), strict=True, problems=problems)
        check_order(self, ("drawdown_warn_pct", "max_drawdown_pct"), strict=True, problems=problems)
        check_increasing("what_if_risk_pcts", self.what_if_risk_pcts, problems)
        raise_problems(problems)
        return self


class StressSettings(ConfigModel):
    """Stress scenarios run for every candidate and the portfolio; each leg repriced at its own IV + shift."""

    spot_moves_frac: tuple[Annotated[StrictFloat, Field(gt=0, lt=1)], ...] = Field(
        (0.01, 0.02, 0.05), description="Spot moves applied both ways at unchanged IV."
    )
    gap_scenarios_frac: tuple[Annotated[StrictFloat, Field(gt=0, lt=1)], ...] = Field(
        (0.02, 0.05), description="Gap sizes g of the crash (-g) and rally (+g) scenarios."
    )
    crash_iv_shift_vol_points: StrictFloat = Field(5.0, ge=0, description="IV shift in a crash gap.")
    rally_iv_shift_vol_points: StrictFloat = Field(-2.5, le=0, description="IV shift in a rally gap.")
    iv_shift_vol_points: StrictFloat = Field(5.0, gt=0, description="Vol-only shocks of ± this at spot.")
    iv_extreme_shift_vol_points: StrictFloat = Field(10.0, gt=0, description="Extra vol-only shock up.")
    panic_spot_move_frac: StrictFloat = Field(-0.05, lt=0, gt=-1, description="Spot move of the panic case.")
    panic_iv_shift_vol_points: StrictFloat = Field(5.0, ge=0, description="IV shift of the panic case.")
    spread_widen_factor: StrictFloat = Field(2.0, ge=1, description="Exit bid-ask spreads x this.")

    @model_validator(mode="after")
    def _check(self) -> Self:
        problems: list[Problem] = []
        check_increasing("spot_moves_frac", self.spot_moves_frac, problems)
        check_increasing("gap_scenarios_frac", self.gap_scenarios_frac, problems)
        check_order(self, ("iv_shift_vol_points", "iv_extreme_shift_vol_points"), strict=False, problems=problems)
        raise_problems(problems)
        return self
