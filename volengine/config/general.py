"""Account, data, market and report settings (seed-spec §2.3, §2.6, §2.12, §2.16).

No model here holds a credential: provider keys come from :func:`volengine.config.load_secrets`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import (
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StringConstraints,
    field_validator,
    model_validator,
)

from volengine.config._base import (
    ConfigModel,
    Problem,
    Symbol,
    check_grade_ladder,
    check_increasing,
    check_order,
    enum_ordered,
    key_ordered,
    raise_problems,
)
from volengine.config.enums import DataProvider, LogLevel, ReportFormat, SnapshotGrade, TradingMode

_Url = Annotated[str, StringConstraints(pattern=r"^https?://\S+$")]
_Port = Annotated[StrictInt, Field(ge=1, le=65535)]


class AccountSettings(ConfigModel):
    """The trading account."""

    equity_usd: StrictFloat = Field(100_000.0, gt=0, description="Starting (or current) account equity.")
    mode: TradingMode = Field(TradingMode.PAPER, description="paper uses structures.paper_liquidity.")
    timezone: str = Field(
        "America/Chicago", description="Display time zone of the operator; exchange dates stay US/Eastern."
    )

    @field_validator("timezone", mode="after")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            # without any tz database (some Windows installs) nothing can be checked: accept the name
            if available_timezones():
                msg = "must be an IANA time zone name such as America/New_York"
                raise ValueError(msg) from None
        return value


class CacheSettings(ConfigModel):
    """On-disk Parquet cache of provider responses."""

    enabled: StrictBool = Field(True, description="Use the cache.")
    path: Path = Field(Path("cache"), description="Cache directory (relative paths from the working directory).")
    ttl_hours: StrictFloat = Field(24.0, gt=0, description="Entries older than this are refetched.")


class PolygonSettings(ConfigModel):
    """Polygon REST and flat files (key: POLYGON_API_KEY; flat files: the POLYGON_S3_* pair)."""

    base_url: _Url = Field("https://api.polygon.io", description="REST endpoint.")
    flatfiles_url: _Url = Field("https://files.polygon.io", description="S3 endpoint of the flat files.")
    flatfiles_bucket: str = Field("flatfiles", min_length=1, description="S3 bucket of the flat files.")
    page_limit: StrictInt = Field(50_000, ge=1, le=50_000, description="Rows per page of bar requests.")
    spot_lookback_days: StrictInt = Field(7, ge=1, description="Spot = the latest daily close within this many days.")
    retry_backoff_seconds: tuple[Annotated[StrictFloat, Field(gt=0)], ...] = Field(
        (1.0, 2.0, 4.0), description="Waits between retries after HTTP 429."
    )


class TradierSettings(ConfigModel):
    """Tradier REST (key: TRADIER_API_KEY)."""

    production_url: _Url = Field("https://api.tradier.com/v1", description="Production endpoint (with /v1).")
    sandbox_url: _Url = Field("https://sandbox.tradier.com/v1", description="Sandbox endpoint.")
    use_sandbox: StrictBool = Field(True, description="Talk to the sandbox.")


class IbkrSettings(ConfigModel):
    """Interactive Brokers, paper orders only."""

    host: str = Field("127.0.0.1", min_length=1, description="Gateway or TWS host.")
    port: _Port = Field(4002, description="Gateway/TWS port; live ports are refused.")
    client_id: StrictInt = Field(99, ge=0, description="API client id.")
    paper_ports: tuple[_Port, ...] = Field((4002, 7497), description="Paper Gateway and TWS ports.")
    live_ports: tuple[_Port, ...] = Field((4001, 7496), description="Live ports, always refused.")

    @model_validator(mode="after")
    def _check(self) -> Self:
        problems: list[Problem] = []
        if self.port in self.live_ports:
            problems.append(Problem("port", "is a live-trading port and is refused", self.port, ("live_ports",)))
        if overlap := sorted(set(self.paper_ports) & set(self.live_ports)):
            problems.append(Problem("paper_ports", "must not include live_ports", overlap, ("live_ports",)))
        raise_problems(problems)
        return self


class ChainGridSettings(ConfigModel):
    """How a chain's strike increment is read: the modal strike step near spot, snapped to a listed size."""

    strike_increments_points: tuple[Annotated[StrictFloat, Field(gt=0)], ...] = Field(
        (0.5, 1.0, 2.5, 5.0), min_length=1, description="The modal strike step snaps to the nearest of these."
    )
    increment_window_frac: StrictFloat = Field(
        0.10, gt=0, le=1, description="The modal step is read over strikes within ± this fraction of spot."
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        problems: list[Problem] = []
        check_increasing("strike_increments_points", self.strike_increments_points, problems)
        raise_problems(problems)
        return self


class BestExpirySettings(ConfigModel):
    """A chain's default expiry: the DTE closest to the target, within the tolerance, inside the window.

    When no expiry qualifies, the closest with DTE > ``min_dte_days`` is taken. Separate from
    ``structures.expiry`` (builders) and ``edges.atm_target_dte_days`` (ATM IV), which have their own rules.
    """

    target_dte_days: StrictInt = Field(30, ge=1, description="Expiry with DTE closest to this ...")
    dte_tolerance_days: StrictInt = Field(15, ge=0, description="... within ± this many days of it ...")
    min_dte_days: StrictInt = Field(7, ge=0, description="... with DTE > this (exclusive) ...")
    max_dte_days: StrictInt = Field(60, ge=1, description="... and DTE <= this.")
    atm_max_distance_frac: StrictFloat = Field(
        0.02, gt=0, le=1, description="The ATM call/put pair must lie within max(this x spot, the floor below)."
    )
    atm_max_distance_min_points: StrictFloat = Field(3.0, ge=0, description="Floor of that ATM distance.")

    @model_validator(mode="after")
    def _check(self) -> Self:
        problems: list[Problem] = []
        check_order(self, ("min_dte_days", "target_dte_days"), strict=True, problems=problems)
        check_order(self, ("target_dte_days", "max_dte_days"), strict=False, problems=problems)
        raise_problems(problems)
        return self


def _default_snapshot_grades() -> dict[SnapshotGrade, float]:
    return {SnapshotGrade.A: 95.0, SnapshotGrade.B: 85.0, SnapshotGrade.C: 70.0, SnapshotGrade.D: 50.0}


_Pct = Annotated[StrictFloat, Field(ge=0, le=100)]


class DataSettings(ConfigModel):
    """Market-data provider, store and freshness rules."""

    provider: DataProvider = Field(DataProvider.EMBEDDED, description="Source of bars and chains.")
    store_path: Path = Field(Path("data/store"), description="Partitioned Parquet store of market data.")
    cache: CacheSettings = Field(default_factory=CacheSettings, description="Provider cache.")
    polygon: PolygonSettings = Field(default_factory=PolygonSettings, description="Polygon endpoints.")
    tradier: TradierSettings = Field(default_factory=TradierSettings, description="Tradier endpoints.")
    ibkr: IbkrSettings = Field(default_factory=IbkrSettings, description="IBKR connection.")
    chain_min_dte_days: StrictInt = Field(0, ge=0, description="Chains are fetched from this DTE ...")
    chain_max_dte_days: StrictInt = Field(90, ge=1, description="... up to this DTE.")
    max_stale_trading_days: StrictInt = Field(
        3, ge=0, description="Data further behind the expected previous trading day is stale."
    )
    snapshot_max_age_days: StrictInt = Field(5, ge=0, description="Latest chain snapshot <= d within this.")
    stale_quote_seconds: StrictInt = Field(300, ge=1, description="A quote older than this is stale.")
    snapshot_grade_min_valid_quotes_pct: dict[SnapshotGrade, _Pct] = Field(
        default_factory=_default_snapshot_grades,
        description="Snapshot grade by its % of valid quotes: the best grade whose minimum is met, else F.",
    )
    synthesized_bid_factor: StrictFloat = Field(
        0.975, gt=0, lt=1, description="Synthesized bid = mid x this (flagged; never TRADE)."
    )
    synthesized_ask_factor: StrictFloat = Field(
        1.025, gt=1, le=2, description="Synthesized ask = mid x this (flagged; never TRADE)."
    )
    chain_grid: ChainGridSettings = Field(default_factory=ChainGridSettings, description="Strike increment.")
    best_expiry: BestExpirySettings = Field(default_factory=BestExpirySettings, description="Default expiry.")

    @field_validator("snapshot_grade_min_valid_quotes_pct", mode="after")
    @classmethod
    def _order_grades(cls, value: dict[SnapshotGrade, float]) -> dict[SnapshotGrade, float]:
        return enum_ordered(value, SnapshotGrade)

    @model_validator(mode="after")
    def _check(self) -> Self:
        problems: list[Problem] = []
        check_order(self, ("chain_min_dte_days", "chain_max_dte_days"), strict=False, problems=problems)
        grades = self.snapshot_grade_min_valid_quotes_pct
        check_grade_ladder("snapshot_grade_min_valid_quotes_pct", grades, SnapshotGrade.F, problems)
        if self.best_expiry.max_dte_days > self.chain_max_dte_days:
            problems.append(
                Problem(
                    "best_expiry.max_dte_days",
                    f"must be <= chain_max_dte_days ({self.chain_max_dte_days}) so fetched chains reach it",
                    self.best_expiry.max_dte_days,
                    ("chain_max_dte_days",),
                )
            )
        raise_problems(problems)
        return self


def _default_dividend_yields() -> dict[str, float]:
    return {"IWM": 0.011, "QQQ": 0.005, "SPY": 0.013}


_Yield = Annotated[StrictFloat, Field(ge=0, le=0.25)]


class MarketSettings(ConfigModel):
    """Rates and dividend yields used everywhere in pricing (continuously compounded, decimals)."""

    risk_free_rate: StrictFloat = Field(0.045, ge=-0.05, le=0.25, description="r of Black-Scholes-Merton.")
    dividend_yields: dict[Symbol, _Yield] = Field(
        default_factory=_default_dividend_yields,
        description="q per symbol; others use default_dividend_yield.",
    )
    default_dividend_yield: _Yield = Field(0.0, description="q of symbols not listed.")
    strike_tolerance_points: StrictFloat = Field(
        0.01, ge=0, description="Strikes closer than this are the same strike."
    )

    @field_validator("dividend_yields", mode="after")
    @classmethod
    def _order_yields(cls, value: dict[str, float]) -> dict[str, float]:
        return key_ordered(value)

    def dividend_yield(self, symbol: str) -> float:
        """Return q for ``symbol`` (the listed yield, else ``default_dividend_yield``)."""
        return self.dividend_yields.get(symbol, self.default_dividend_yield)


class ReportSettings(ConfigModel):
    """Daily desk report and logs."""

    formats: tuple[ReportFormat, ...] = Field(tuple(ReportFormat), min_length=1, description="Outputs written.")
    output_path: Path = Field(Path("logs/reports"), description="Report directory.")
    write_latest: StrictBool = Field(True, description="Also write the 'latest' pointer.")
    log_path: Path = Field(Path("logs"), description="JSON-lines audit log directory.")
    log_level: LogLevel = Field(LogLevel.INFO, description="Log level.")
    json_logs: StrictBool = Field(True, description="Write logs as JSON lines.")
    strong_edge_strength: StrictFloat = Field(0.7, ge=0, le=1, description="Edges above this get the fire mark.")
    moderate_edge_strength: StrictFloat = Field(0.4, ge=0, le=1, description="Edges above this get the bolt.")

    @model_validator(mode="after")
    def _check(self) -> Self:
        problems: list[Problem] = []
        check_order(self, ("moderate_edge_strength", "strong_edge_strength"), strict=True, problems=problems)
        if len(set(self.formats)) != len(self.formats):
            problems.append(Problem("formats", "must not repeat a format", [str(f) for f in self.formats]))
        raise_problems(problems)
        return self
