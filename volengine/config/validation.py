"""Research-validation and metrics settings (seed-spec §2.14, §2.15): walk-forward, leave-one-year-out,
coverage, sanity tests, sweep grids, event study, and the constants of the performance metrics.

Substituted (fallback) strike caps live with the builders in ``structures.strikes``.
"""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import Field, StrictBool, StrictFloat, StrictInt, model_validator

from volengine.config._base import ConfigModel, Problem, check_increasing, check_order, raise_problems

_Percentile = Annotated[StrictFloat, Field(ge=0, le=100)]
_Year = Annotated[StrictInt, Field(ge=1900, le=2200)]
_Days = Annotated[StrictInt, Field(ge=1)]


class WalkForwardSettings(ConfigModel):
    """Rolling walk-forward: fit on each in-sample window, freeze, test on the out-of-sample window after it."""

    in_sample_days: StrictInt = Field(180, ge=1, description="Calendar days of each in-sample window.")
    out_of_sample_days: StrictInt = Field(30, ge=1, description="Calendar days of each out-of-sample window.")
    step_days: StrictInt = Field(30, ge=1, description="Calendar days the windows move forward each period.")
    min_in_sample_trades: StrictInt = Field(10, ge=1, description="A period with fewer in-sample trades is skipped.")
    embargo_days: StrictInt = Field(
        0,
        ge=0,
        description="Calendar days dropped between each in-sample end and out-of-sample start (0 = none, VolMachine).",
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        problems: list[Problem] = []
        # a longer step would leave days that no out-of-sample window tests
        check_order(self, ("step_days", "out_of_sample_days"), strict=False, problems=problems)
        raise_problems(problems)
        return self


class LeaveOneYearOutSettings(ConfigModel):
    """Leave-one-year-out: choose parameters on the other years, test on the held-out one."""

    holdout_years: tuple[_Year, ...] = Field(
        (2022, 2023, 2024, 2025), min_length=1, description="Years held out in turn, ascending."
    )
    min_profitable_years: StrictInt = Field(
        3, ge=1, description="Pass when at least this many holdout years have PnL > 0."
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        problems: list[Problem] = []
        check_increasing("holdout_years", self.holdout_years, problems)
        if self.min_profitable_years > len(self.holdout_years):
            message = f"must be <= the number of holdout_years ({len(self.holdout_years)})"
            problems.append(Problem("min_profitable_years", message, self.min_profitable_years, ("holdout_years",)))
        raise_problems(problems)
        return self


class CoverageSettings(ConfigModel):
    """Data coverage gate, computed from the data alone (VALID/INVALID per day and symbol)."""

    min_valid_days_frac: StrictFloat = Field(
        0.90, gt=0, le=1, description="Each symbol needs this share of VALID days, else the run is invalid."
    )
    min_window_days: StrictInt = Field(14, ge=1, description="Otherwise use all-valid windows of >= this many days ...")
    max_gap_days: StrictInt = Field(3, ge=0, description="... whose gaps are <= this many trading days.")
    force: StrictBool = Field(False, description="Run anyway below the coverage gate, logged (--force).")

    @model_validator(mode="after")
    def _check(self) -> Self:
        problems: list[Problem] = []
        check_order(self, ("max_gap_days", "min_window_days"), strict=True, problems=problems)
        raise_problems(problems)
        return self


class SanityTestSettings(ConfigModel):
    """Sanity tests run on a backtest; a real edge should fail each perturbation and survive the holdout."""

    use_shuffled_dates: StrictBool = Field(True, description="Rerun with signal dates shuffled.")
    use_sign_flip: StrictBool = Field(True, description="Rerun with each signal's direction flipped.")
    use_holdout: StrictBool = Field(True, description="Test on data held out of every choice.")
    use_slippage_stress: StrictBool = Field(True, description="Rerun with slippage x slippage_multiplier.")
    slippage_multiplier: StrictFloat = Field(2.0, gt=1, description="Slippage factor of the slippage stress.")


class SweepSettings(ConfigModel):
    """Default grids of the in-process research sweeps, and the IV-percentile bins of expectancy reports."""

    stop_loss_credit_multiples: tuple[Annotated[StrictFloat, Field(gt=0)], ...] = Field(
        (1.0, 1.25, 1.5), min_length=1, description="Credit stop-loss multiples swept."
    )
    take_profit_pcts: tuple[Annotated[StrictFloat, Field(gt=0, le=100)], ...] = Field(
        (35.0, 50.0, 65.0), min_length=1, description="Take-profit % of max profit swept."
    )
    iv_percentile_gates: tuple[_Percentile | None, ...] = Field(
        (70.0, 75.0, 80.0, 85.0, 90.0, None), min_length=1, description="IV-percentile gates swept; null = no gate."
    )
    expectancy_iv_percentile_edges: tuple[_Percentile, ...] = Field(
        (0.0, 60.0, 70.0, 80.0, 90.0, 100.0),
        min_length=2,
        description="Bin edges of expectancy by IV percentile (0-60, 60-70, ...).",
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        problems: list[Problem] = []
        check_increasing("stop_loss_credit_multiples", self.stop_loss_credit_multiples, problems)
        check_increasing("take_profit_pcts", self.take_profit_pcts, problems)
        gates = self.iv_percentile_gates
        numbers = [g for g in gates if g is not None]
        check_increasing("iv_percentile_gates", numbers, problems)
        if len(gates) - len(numbers) > 1 or (None in gates and gates[-1] is not None):
            problems.append(Problem("iv_percentile_gates", "must hold at most one null (no gate), last", list(gates)))
        check_increasing("expectancy_iv_percentile_edges", self.expectancy_iv_percentile_edges, problems)
        raise_problems(problems)
        return self


class EventStudySettings(ConfigModel):
    """Per-event study: IV crush (IV lookback in ``edges.event_vol``), underlying returns, trade PnL."""

    return_horizons_days: tuple[_Days, ...] = Field(
        (1, 5), min_length=1, description="Trading days after the event of the returns reported."
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        problems: list[Problem] = []
        check_increasing("return_horizons_days", self.return_horizons_days, problems)
        raise_problems(problems)
        return self


class ValidationSettings(ConfigModel):
    """Everything the research-validation tools read."""

    walk_forward: WalkForwardSettings = Field(default_factory=WalkForwardSettings, description="Walk-forward.")
    leave_one_year_out: LeaveOneYearOutSettings = Field(
        default_factory=LeaveOneYearOutSettings, description="Leave-one-year-out."
    )
    coverage: CoverageSettings = Field(default_factory=CoverageSettings, description="Coverage gate.")
    sanity: SanityTestSettings = Field(default_factory=SanityTestSettings, description="Sanity tests.")
    sweeps: SweepSettings = Field(default_factory=SweepSettings, description="Sweep grids and report bins.")
    event_study: EventStudySettings = Field(default_factory=EventStudySettings, description="Event study.")


class MetricsSettings(ConfigModel):
    """Constants of the performance metrics."""

    annualization_days: StrictInt = Field(
        252, ge=1, description="Days per year: vol x sqrt(this), annualized (1 + R)^(this / n) - 1."
    )
    sharpe_risk_free_rate: StrictFloat = Field(
        0.05,
        ge=-0.05,
        le=0.25,
        description="Annual rate whose daily share is subtracted in Sharpe (spec 0.05, not market.risk_free_rate).",
    )
