"""The traded universe (seed-spec §2.16 ``universe.yaml``): defaults plus per-symbol overrides.

Per-symbol values beat the globals of :class:`~volengine.config.Settings`. A field left null inherits:
``min_dte_days``/``max_dte_days`` from ``structures.expiry``, liquidity from ``structures.liquidity`` (or
``paper_liquidity`` in paper mode), ``dividend_yield`` from ``market.dividend_yields``.
:func:`resolve_symbol` applies that order once and returns concrete values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Self, TypeVar

from pydantic import (
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)

from volengine.config._base import ConfigModel, FrozenDict, Problem, Symbol, check_order, raise_problems
from volengine.config._problems import Provenance, validation_lines
from volengine.config.enums import ExerciseStyle, Settlement, StructureType, TradingMode
from volengine.config.settings import Settings
from volengine.config.structures import LiquiditySettings
from volengine.errors import ConfigError

T = TypeVar("T")

_BUILDABLE = tuple(t for t in StructureType if t is not StructureType.NONE)
#: the default families: diagonals are opt-in (VolMachine never traded them)
_DEFAULT_ALLOWED = tuple(t for t in _BUILDABLE if t is not StructureType.DIAGONAL)


class LiquidityOverride(ConfigModel):
    """Liquidity fields a symbol overrides; null keeps the inherited value."""

    min_volume: StrictInt | None = Field(None, ge=0, description="Minimum day volume per leg.")
    min_open_interest: StrictInt | None = Field(None, ge=0, description="Minimum open interest per leg.")
    max_bid_ask_pct: StrictFloat | None = Field(None, gt=0, le=200, description="Maximum bid-ask % of mid.")
    enforce_liquidity: StrictBool | None = Field(None, description="Reject legs failing the filter.")


class SymbolSettings(ConfigModel):
    """One symbol's overrides; every null field inherits from the universe defaults, then the settings."""

    enabled: StrictBool | None = Field(None, description="Scan this symbol.")
    description: str | None = Field(None, description="Free text (name, tier, sector).")
    min_dte_days: StrictInt | None = Field(None, ge=0, description="Earliest expiry considered.")
    max_dte_days: StrictInt | None = Field(None, ge=1, description="Latest expiry considered.")
    liquidity: LiquidityOverride = Field(default_factory=LiquidityOverride, description="Liquidity overrides.")
    vol_index: Symbol | None = Field(None, description="Vol index read for this symbol (one of vol_indices).")
    dividend_yield: StrictFloat | None = Field(None, ge=0, le=0.25, description="q, continuous, decimal.")
    multiplier: StrictInt | None = Field(None, ge=1, description="Shares per contract.")
    style: ExerciseStyle | None = Field(None, description="Exercise style of the listed options.")
    settlement: Settlement | None = Field(None, description="AM or PM settlement.")
    structures_allowed: tuple[StructureType, ...] | None = Field(
        None, min_length=1, description="Structure families that may be built on this symbol."
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        problems: list[Problem] = []
        check_order(self, ("min_dte_days", "max_dte_days"), strict=False, problems=problems)
        raise_problems(problems)
        return self


class UniverseDefaults(SymbolSettings):
    """Values every symbol starts from."""

    enabled: StrictBool = Field(True, description="Scan symbols by default.")
    multiplier: StrictInt = Field(100, ge=1, description="Shares per contract.")
    style: ExerciseStyle = Field(ExerciseStyle.AMERICAN, description="US ETF and equity options are American.")
    settlement: Settlement = Field(Settlement.PM, description="ETF and equity options settle PM.")
    structures_allowed: tuple[StructureType, ...] = Field(
        _DEFAULT_ALLOWED, min_length=1, description="Structure families that may be built (diagonal is opt-in)."
    )


def _liquidity(volume: int, open_interest: int, bid_ask_pct: float) -> LiquidityOverride:
    return LiquidityOverride(min_volume=volume, min_open_interest=open_interest, max_bid_ask_pct=bid_ask_pct)


def _default_symbols() -> dict[str, SymbolSettings]:
    return {
        "SPY": SymbolSettings(description="SPDR S&P 500 ETF", liquidity=_liquidity(1000, 5000, 1.5), vol_index="VIX"),
        "QQQ": SymbolSettings(
            description="Invesco QQQ (Nasdaq-100)", liquidity=_liquidity(500, 2000, 2.0), vol_index="VXN"
        ),
        "IWM": SymbolSettings(
            description="iShares Russell 2000 ETF", liquidity=_liquidity(300, 1500, 2.5), vol_index="RVX"
        ),
        "XLK": SymbolSettings(enabled=False, description="Technology Select Sector SPDR"),
        "TLT": SymbolSettings(enabled=False, description="iShares 20+ Year Treasury Bond ETF"),
        "AAPL": SymbolSettings(enabled=False, description="Apple (earnings-sensitive)"),
        "MSFT": SymbolSettings(enabled=False, description="Microsoft (earnings-sensitive)"),
        "NVDA": SymbolSettings(enabled=False, description="NVIDIA (earnings-sensitive)", min_dte_days=14),
    }


class EventCalendars(ConfigModel):
    """Event calendar files (FOMC, CPI, NFP, GDP, earnings); each listed file must exist."""

    calendar_files: tuple[Path, ...] = Field((), description="CSV/Parquet calendars, relative to the cwd.")


class UniverseExecution(ConfigModel):
    """Universe-wide execution rules."""

    allow_fallback_edges: StrictBool = Field(False, description="Let fallback (history_mode 0) edges TRADE.")
    paper_mode_only: StrictBool = Field(True, description="Refuse live mode.")
    min_history_days: StrictInt = Field(30, ge=0, description="Bars a symbol needs before it is scanned.")


class Universe(ConfigModel):
    """Symbols VolEngine scans, with their overrides.

    Examples
    --------
    >>> from volengine.config import Universe
    >>> Universe().enabled_symbols()
    ('SPY', 'QQQ', 'IWM')
    """

    defaults: UniverseDefaults = Field(default_factory=UniverseDefaults, description="Starting values.")
    symbols: dict[Symbol, SymbolSettings] = Field(default_factory=_default_symbols, description="Per symbol.")
    vol_indices: tuple[Symbol, ...] = Field(("VIX", "VVIX", "VXN", "RVX"), description="Known vol indices.")
    events: EventCalendars = Field(default_factory=EventCalendars, description="Event calendars.")
    execution: UniverseExecution = Field(default_factory=UniverseExecution, description="Execution rules.")

    @field_validator("symbols", mode="after")
    @classmethod
    def _read_only(cls, value: dict[str, SymbolSettings]) -> FrozenDict[str, SymbolSettings]:
        return FrozenDict(value)  # file order kept: it is the scan and report order

    @model_validator(mode="after")
    def _check(self) -> Self:
        problems: list[Problem] = []
        for name, spec in {"defaults": self.defaults, **self.symbols}.items():
            if spec.vol_index is not None and spec.vol_index not in self.vol_indices:
                field = ("defaults", "vol_index") if name == "defaults" else ("symbols", name, "vol_index")
                message = f"must be one of vol_indices ({', '.join(self.vol_indices)})"
                problems.append(Problem(field, message, spec.vol_index, ("vol_indices",)))
        raise_problems(problems)
        return self

    def symbol(self, symbol: str) -> SymbolSettings:
        """Return the defaults merged with ``symbol``'s overrides.

        Parameters
        ----------
        symbol : str
            Ticker, case-insensitive.

        Returns
        -------
        SymbolSettings
            ``enabled``, ``multiplier``, ``style``, ``settlement`` and ``structures_allowed`` are set;
            other null fields inherit from the settings (see :func:`resolve_symbol`).

        Raises
        ------
        ConfigError
            When the universe does not list ``symbol``.
        """
        key = symbol.strip().upper()
        if key not in self.symbols:
            known = ", ".join(self.symbols) or "none"
            msg = f"universe: symbol {symbol!r} is not in the universe (known: {known})"
            raise ConfigError(msg)
        merged = self.defaults.model_dump(exclude_none=True)
        override = self.symbols[key].model_dump(exclude_none=True)
        merged["liquidity"] = {**merged.pop("liquidity", {}), **override.pop("liquidity", {})}
        return SymbolSettings.model_validate({**merged, **override})

    def enabled_symbols(self) -> tuple[str, ...]:
        """Return the enabled symbols in file order."""
        return tuple(name for name in self.symbols if self.symbol(name).enabled)


class ResolvedSymbol(ConfigModel):
    """A symbol's effective settings after base → paper → universe defaults → symbol resolution."""

    symbol: Symbol = Field(description="Ticker.")
    enabled: StrictBool = Field(description="Scan this symbol.")
    min_dte_days: StrictInt = Field(ge=0, description="Earliest expiry considered.")
    max_dte_days: StrictInt = Field(ge=1, description="Latest expiry considered.")
    liquidity: LiquiditySettings = Field(description="Effective liquidity filter.")
    vol_index: Symbol | None = Field(description="Vol index, or null (regime uses the proxy).")
    dividend_yield: StrictFloat = Field(ge=0, le=0.25, description="q, continuous, decimal.")
    multiplier: StrictInt = Field(ge=1, description="Shares per contract.")
    style: ExerciseStyle = Field(description="Exercise style.")
    settlement: Settlement = Field(description="AM or PM settlement.")
    structures_allowed: tuple[StructureType, ...] = Field(min_length=1, description="Buildable families.")

    @model_validator(mode="after")
    def _check(self) -> Self:
        problems: list[Problem] = []
        check_order(self, ("min_dte_days", "max_dte_days"), strict=False, problems=problems)
        raise_problems(problems)
        return self


def resolve_symbol(settings: Settings, universe: Universe, symbol: str) -> ResolvedSymbol:
    """Resolve one symbol's effective settings.

    Parameters
    ----------
    settings : Settings
        Global settings (expiry window, liquidity sets, trading mode, dividend yields).
    universe : Universe
        The universe that lists ``symbol``.
    symbol : str
        Ticker, case-insensitive.

    Returns
    -------
    ResolvedSymbol
        Concrete values; liquidity resolves base → paper (in paper mode) → universe defaults → symbol.

    Raises
    ------
    ConfigError
        When ``symbol`` is unknown or the combination is inconsistent (e.g. a symbol's min DTE above the
        global max DTE).
    """
    spec = universe.symbol(symbol)
    key = symbol.strip().upper()
    structures = settings.structures
    is_paper = settings.account.mode is TradingMode.PAPER
    liquidity = structures.paper_liquidity if is_paper else structures.liquidity
    data = {
        "symbol": key,
        "enabled": spec.enabled,
        "min_dte_days": _first(spec.min_dte_days, structures.expiry.min_dte_days),
        "max_dte_days": _first(spec.max_dte_days, structures.expiry.max_dte_days),
        "liquidity": {**liquidity.model_dump(), **spec.liquidity.model_dump(exclude_none=True)},
        "vol_index": spec.vol_index,
        "dividend_yield": _first(spec.dividend_yield, settings.market.dividend_yield(key)),
        "multiplier": spec.multiplier,
        "style": spec.style,
        "settlement": spec.settlement,
        "structures_allowed": spec.structures_allowed,
    }
    try:
        return ResolvedSymbol.model_validate(data)
    except ValidationError as exc:
        label = f"universe symbol {key} (with settings)"
        raise ConfigError(validation_lines(exc, Provenance(label))) from None


def _first(value: T | None, fallback: T) -> T:
    return fallback if value is None else value
