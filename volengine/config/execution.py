"""Fills, commissions and backtest settings (seed-spec §2.9, §2.13, §2.16; domain notes §1.5, §1.6).

One fill model serves entry, daily marks and exit. In the fraction-of-spread model a leg concedes a
fraction f of its bid-ask width w: buy = bid + f·w, sell = ask − f·w (f = 0.5 is the mid, 1 the natural).
"""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import Field, StrictBool, StrictFloat, StrictInt, model_validator

from volengine.config._base import ConfigModel, Problem, check_increasing, check_order, raise_problems
from volengine.config.enums import ExecutionTiming, FillModel, SignalKind
from volengine.config.structures import LiquiditySettings

_Fraction = Annotated[StrictFloat, Field(ge=0, le=1)]


class FillSettings(ConfigModel):
    """Fill model and slippage."""

    model: FillModel = Field(FillModel.CONSERVATIVE, description="conservative: sell at bid, buy at ask.")
    spread_fraction_by_legs: tuple[_Fraction, ...] = Field(
        (0.75, 0.66, 0.56, 0.53),
        min_length=1,
        description="spread_fraction model: f for 1, 2, 3, 4 legs (the last entry serves more legs).",
    )
    strict_close_haircut_frac: StrictFloat = Field(
        0.02, ge=0, lt=1, description="strict_close: sell at close x (1 - this), buy at close x (1 + this)."
    )
    strict_close_min_price_points: StrictFloat = Field(0.01, ge=0, description="strict_close: sell floor.")
    relaxed_close_offset_points: StrictFloat = Field(
        0.02, ge=0, description="relaxed_close: sell at close - this, buy at close + this."
    )
    slippage_pct: StrictFloat = Field(0.5, ge=0, le=100, description="Adverse slippage, % of the price.")


class CommissionSettings(ConfigModel):
    """Costs per contract, charged for every leg on each side (open and close)."""

    commission_per_contract_usd: StrictFloat = Field(0.65, ge=0, description="Per leg, per contract, each side.")
    reg_fee_per_contract_usd: StrictFloat = Field(0.02, ge=0, description="Regulatory fee per contract filled.")


class CreditExits(ConfigModel):
    """Exit rules of credit structures; null turns a rule off."""

    take_profit_pct: StrictFloat | None = Field(
        50.0, gt=0, le=100, description="Exit when MTM >= this % of max profit (the credit)."
    )
    stop_loss_credit_multiple: StrictFloat | None = Field(1.0, gt=0, description="Exit when MTM <= -this x the credit.")
    stop_loss_max_loss_pct: StrictFloat | None = Field(
        None, gt=0, le=100, description="Also exit when MTM <= -this % of max loss; null = off."
    )
    time_stop_dte_days: StrictInt | None = Field(21, ge=0, description="Exit when DTE <= this.")


class DebitExits(ConfigModel):
    """Exit rules of debit structures; null turns a rule off."""

    take_profit_pct: StrictFloat | None = Field(
        50.0, gt=0, le=100, description="Exit when MTM >= this % of max profit."
    )
    stop_loss_pct: StrictFloat | None = Field(50.0, gt=0, le=100, description="Exit when MTM <= -this % of the debit.")
    time_stop_dte_days: StrictInt | None = Field(21, ge=0, description="Exit when DTE <= this.")
    use_early_exit: StrictBool = Field(
        False,
        description="Exit a stalled trade near expiry (needs time_stop_dte_days < early_exit_dte_days).",
    )
    early_exit_dte_days: StrictInt = Field(14, ge=0, description="Early exit: DTE <= this ...")
    early_exit_max_mfe_pct: StrictFloat = Field(15.0, ge=0, le=100, description="... and MFE < this % of max profit.")


class ExitSettings(ConfigModel):
    """Exit checks on day t, in order: take profit, stop loss, early exit, time stop.

    The defaults are VolMachine's "explainability plan": credit TP 50 % of the credit, SL 1 x credit, exit at
    21 DTE; debit TP 50 % of max profit, SL 50 % of the debit, exit at 21 DTE.
    """

    credit: CreditExits = Field(default_factory=CreditExits, description="Credit structures.")
    debit: DebitExits = Field(default_factory=DebitExits, description="Debit structures.")
    exit_on_regime_change: StrictBool = Field(False, description="Also exit when the regime changes.")

    @model_validator(mode="after")
    def _check(self) -> Self:
        problems: list[Problem] = []
        debit = self.debit
        if debit.use_early_exit and debit.time_stop_dte_days is not None:
            if debit.early_exit_dte_days <= debit.time_stop_dte_days:
                problems.append(
                    Problem(
                        "debit.early_exit_dte_days",
                        f"must be > debit.time_stop_dte_days ({debit.time_stop_dte_days}) to ever act",
                        debit.early_exit_dte_days,
                        ("debit.time_stop_dte_days",),
                    )
                )
        raise_problems(problems)
        return self


def _volmachine_liquidity() -> LiquiditySettings:
    return LiquiditySettings(min_volume=10, min_open_interest=100, max_bid_ask_pct=10.0)


class VolMachineProfile(ConfigModel):
    """The last VolMachine backtest's risk engine and settings (seed-spec §2.9, §2.16), off by default.

    When ``enabled``, a backtest takes these values in place of ``account.equity_usd``, the matching ``risk``
    limits (per-trade and total risk, open trades, drawdown kill, cluster caps, cooldowns), the resolved
    liquidity set and the width search; the daily run never reads them. Clusters are ``risk.clusters``; the
    other VolMachine backtest gates are noted at their own keys (``edges.skew.min_strength``,
    ``edges.skew.flat_max_iv_percentile``, ``structures.validation.min_credit_width_ratio``).
    """

    enabled: StrictBool = Field(False, description="Run backtests with this profile.")
    equity_usd: StrictFloat = Field(25_000.0, gt=0, description="Starting equity.")
    per_trade_risk_pct: StrictFloat = Field(2.0, gt=0, le=100, description="Risk budget per trade ...")
    per_trade_fallback_usd: StrictFloat = Field(500.0, gt=0, description="... or this when equity is unknown.")
    total_risk_pct: StrictFloat = Field(6.0, gt=0, le=100, description="Open max loss of all trades ...")
    total_risk_fallback_usd: StrictFloat = Field(1_500.0, gt=0, description="... or this when equity is unknown.")
    max_open_trades: StrictInt = Field(3, ge=1, description="Open positions at most.")
    cluster_max_risk_usd: StrictFloat = Field(1_000.0, gt=0, description="Open max loss per risk.clusters group.")
    cluster_max_open_trades: StrictInt = Field(2, ge=1, description="Open positions per risk.clusters group.")
    max_drawdown_pct: StrictFloat = Field(10.0, gt=0, le=100, description="Kill switch at this drawdown from HWM.")
    symbol_stop_cooldown_days: StrictInt = Field(10, ge=0, description="Trading days a symbol waits after a stop.")
    cluster_stop_cooldown_days: StrictInt = Field(5, ge=0, description="Trading days a cluster waits after a stop.")
    expected_hold_days: StrictInt = Field(
        30, ge=1, description="Capacity assumes an exit at expiry or after this many days, whichever is first."
    )
    width_cascade_points: tuple[Annotated[StrictFloat, Field(gt=0)], ...] = Field(
        (5.0, 10.0), min_length=1, description="Widths tried, narrowest first."
    )
    max_trade_risk_usd: StrictFloat = Field(500.0, gt=0, description="Max loss of one trade, all contracts.")
    liquidity: LiquiditySettings = Field(default_factory=_volmachine_liquidity, description="Liquidity set.")
    lookback_days: StrictInt = Field(90, ge=1, description="Days of history read before each signal date.")

    @model_validator(mode="after")
    def _check(self) -> Self:
        problems: list[Problem] = []
        check_order(self, ("per_trade_risk_pct", "total_risk_pct"), strict=False, problems=problems)
        check_order(self, ("per_trade_fallback_usd", "total_risk_fallback_usd"), strict=False, problems=problems)
        check_order(self, ("cluster_max_open_trades", "max_open_trades"), strict=False, problems=problems)
        check_increasing("width_cascade_points", self.width_cascade_points, problems)
        raise_problems(problems)
        return self


class BacktestSettings(ConfigModel):
    """Paper simulator and backtest."""

    execution: ExecutionTiming = Field(
        ExecutionTiming.NEXT_CLOSE,
        description="Day-N decisions fill at this price of the next session (next_open: modelled from the close).",
    )
    exits: ExitSettings = Field(
        default_factory=ExitSettings, description="Exit rules; defaults: VolMachine's explainability plan."
    )
    signals: tuple[SignalKind, ...] = Field(
        tuple(k for k in SignalKind if k is not SignalKind.SKEW_FLAT),
        description="Signals the backtest trades; skew_flat stays REVIEW until validated (seed-spec §2.5).",
    )
    diagnostic_return_horizons_days: tuple[Annotated[StrictInt, Field(ge=1)], ...] = Field(
        (1, 3, 5, 10),
        min_length=1,
        description="Per-trade diagnostics: underlying returns this many trading days after the signal.",
    )
    volmachine_profile: VolMachineProfile = Field(
        default_factory=VolMachineProfile, description="Last VolMachine backtest settings; off by default."
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        problems: list[Problem] = []
        check_increasing("diagnostic_return_horizons_days", self.diagnostic_return_horizons_days, problems)
        raise_problems(problems)
        return self
