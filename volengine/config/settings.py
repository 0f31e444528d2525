"""The root :class:`Settings` model: one section per pipeline stage."""

from __future__ import annotations

from typing import TypeVar

from pydantic import Field

from volengine.config._base import ConfigModel
from volengine.config.analytics import AnalyticsSettings
from volengine.config.edges import EdgesSettings
from volengine.config.execution import BacktestSettings, CommissionSettings, FillSettings
from volengine.config.general import AccountSettings, DataSettings, MarketSettings, ReportSettings
from volengine.config.recommendation import RecommendationSettings
from volengine.config.regime import RegimeSettings
from volengine.config.risk import RiskSettings, StressSettings
from volengine.config.structures import StructuresSettings
from volengine.config.validation import MetricsSettings, ValidationSettings
from volengine.errors import ConfigError


class Settings(ConfigModel):
    """Every setting of a VolEngine run except the universe and credentials.

    Defaults live here; ``settings.yaml`` files override them (see :func:`volengine.config.load_settings`).
    Instances are frozen: derive a variant with :func:`volengine.config.with_overrides`.

    Examples
    --------
    >>> from volengine.config import Settings
    >>> Settings().risk.per_trade_risk_pct
    1.0
    """

    account: AccountSettings = Field(default_factory=AccountSettings, description="Trading account.")
    data: DataSettings = Field(default_factory=DataSettings, description="Data provider and store.")
    market: MarketSettings = Field(default_factory=MarketSettings, description="Rates and dividend yields.")
    analytics: AnalyticsSettings = Field(default_factory=AnalyticsSettings, description="Full-history analytics.")
    regime: RegimeSettings = Field(default_factory=RegimeSettings, description="Regime engine.")
    edges: EdgesSettings = Field(default_factory=EdgesSettings, description="Edge detectors.")
    structures: StructuresSettings = Field(default_factory=StructuresSettings, description="Structure builders.")
    risk: RiskSettings = Field(default_factory=RiskSettings, description="Sizing, limits and kill switch.")
    stress: StressSettings = Field(default_factory=StressSettings, description="Stress scenarios.")
    recommendation: RecommendationSettings = Field(
        default_factory=RecommendationSettings, description="TRADE/REVIEW/PASS, quality score, edge health."
    )
    fills: FillSettings = Field(default_factory=FillSettings, description="Fill model.")
    commissions: CommissionSettings = Field(default_factory=CommissionSettings, description="Trading costs.")
    backtest: BacktestSettings = Field(default_factory=BacktestSettings, description="Simulator and backtest.")
    validation: ValidationSettings = Field(
        default_factory=ValidationSettings, description="Walk-forward, LOYO, coverage, sanity tests, sweeps."
    )
    metrics: MetricsSettings = Field(default_factory=MetricsSettings, description="Performance metrics.")
    report: ReportSettings = Field(default_factory=ReportSettings, description="Report and logs.")


_S = TypeVar("_S", bound=ConfigModel)


def settings_section(settings: object, section: type[_S], name: str, error: type[Exception] = ConfigError) -> _S:
    """The ``name`` section of ``settings``: a :class:`Settings` (or anything holding the section as ``name``),
    the section itself, or None (its defaults); anything else raises ``error`` naming what it got."""
    if settings is None:
        return section()
    if isinstance(settings, section):
        return settings
    nested = getattr(settings, name, None)
    if isinstance(nested, section):
        return nested
    msg = f"settings must be Settings, {section.__name__} or None; got {type(settings).__name__}"
    raise error(msg)
