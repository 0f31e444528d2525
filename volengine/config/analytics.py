"""Full-history analytics settings: parity forwards, surface features, realized vol, GARCH, percentiles."""

from __future__ import annotations

from typing import Self

from pydantic import Field, StrictBool, StrictFloat, StrictInt, model_validator

from volengine.config._base import ConfigModel, Problem, check_increasing, check_order, raise_problems
from volengine.config.enums import RVEstimator


class ParitySettings(ConfigModel):
    """Forward (and, without a rates table, discount factor) from put-call parity near the money."""

    near_pairs: StrictInt = Field(
        6, ge=1, le=50, description="Call/put pairs nearest spot whose parity forwards enter the median."
    )
    fit_discount_without_rates: StrictBool = Field(
        True, description="No rates table: fit the discount factor from parity when well conditioned."
    )
    min_fit_pairs: StrictInt = Field(4, ge=3, description="Fewest pairs for a discount-factor fit.")
    min_fit_years: StrictFloat = Field(
        0.25, gt=0, description="Shortest expiry whose parity fit may set the rate (noise ~ 1/T)."
    )
    max_fit_rate: StrictFloat = Field(0.25, gt=0, description="A fitted rate beyond ± this is rejected.")


class GarchSettings(ConfigModel):
    """Optional GARCH(1,1) realized-vol forecast through the ``arch`` package, refitted without look-ahead."""

    enabled: StrictBool = Field(False, description="Compute garch_vol (needs the arch package).")
    refit_every_days: StrictInt = Field(21, ge=1, description="Sessions between refits (anchored at the start).")
    min_observations: StrictInt = Field(500, ge=50, description="Returns needed before the first fit.")
    horizon_days: StrictInt = Field(21, ge=1, description="Forecast horizon: mean variance over this many days.")


class AnalyticsSettings(ConfigModel):
    """Per-contract and per-(underlying, day) feature settings."""

    parity: ParitySettings = Field(default_factory=ParitySettings, description="Parity forwards.")
    constant_maturities_days: tuple[StrictInt, ...] = Field(
        (7, 30, 60, 90), min_length=1, description="ATM IV at these constant maturities (calendar days)."
    )
    min_expiry_days: StrictInt = Field(
        1, ge=0, description="Expiries with fewer calendar days are left out of maturity interpolation."
    )
    model_free_min_dte_days: StrictInt = Field(
        7, ge=0, description="Shortest expiry in the 30-day model-free (VIX-style) variance."
    )
    model_free_tenor_days: StrictInt = Field(30, ge=1, description="Tenor of the model-free variance index.")
    wing_delta_abs: StrictFloat = Field(0.25, gt=0, lt=0.5, description="abs(delta) of the risk reversal.")
    rv_windows_days: tuple[StrictInt, ...] = Field(
        (10, 20, 60), min_length=1, description="Realized-vol windows (bars) computed for every estimator."
    )
    rv_estimators: tuple[RVEstimator, ...] = Field(
        tuple(RVEstimator), min_length=1, description="Realized-vol estimators computed."
    )
    iv_lookback_days: StrictInt = Field(252, ge=2, description="Trailing values in iv_rank and iv_percentile.")
    iv_min_history_days: StrictInt = Field(60, ge=1, description="Fewest values for iv_rank / iv_percentile.")
    skew_lookback_days: StrictInt = Field(252, ge=2, description="Trailing values in rr_25d_percentile.")
    garch: GarchSettings = Field(default_factory=GarchSettings, description="GARCH(1,1) forecast.")

    @model_validator(mode="after")
    def _check(self) -> Self:
        problems: list[Problem] = []
        check_increasing("constant_maturities_days", self.constant_maturities_days, problems)
        check_increasing("rv_windows_days", self.rv_windows_days, problems)
        if min(self.rv_windows_days) < 2:
            problems.append(Problem("rv_windows_days", "must all be >= 2", list(self.rv_windows_days)))
        if len(set(self.rv_estimators)) != len(self.rv_estimators):
            problems.append(Problem("rv_estimators", "must not repeat", [str(e) for e in self.rv_estimators]))
        check_order(self, ("iv_min_history_days", "iv_lookback_days"), strict=False, problems=problems)
        raise_problems(problems)
        return self
