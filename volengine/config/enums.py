"""Named choices used by the configuration and imported by the pipeline packages.

Every enum is a :class:`enum.StrEnum`, so a member compares equal to its value and YAML can spell it as a
plain string. Regimes are spelled in capitals (as in the report); everything else in lower case.
"""

from __future__ import annotations

from enum import StrEnum


class Regime(StrEnum):
    """The five market regimes of the regime engine (seed-spec §2.4)."""

    LOW_VOL_GRIND = "LOW_VOL_GRIND"
    HIGH_VOL_PANIC = "HIGH_VOL_PANIC"
    TREND_UP = "TREND_UP"
    TREND_DOWN = "TREND_DOWN"
    CHOP = "CHOP"


class EdgeType(StrEnum):
    """The five edge detectors (seed-spec §2.2)."""

    VRP = "vrp"
    TERM_STRUCTURE = "term_structure"
    SKEW_EXTREME = "skew_extreme"
    EVENT_VOL = "event_vol"
    GAMMA_PRESSURE = "gamma_pressure"


class SignalKind(StrEnum):
    """One outcome of an edge detector; the edge → structure map is keyed by these.

    A detector can fire in two opposite ways (steep or flat skew, contango or backwardation), and each way
    has its own thesis and therefore its own structure.
    """

    VRP = "vrp"
    TERM_BACKWARDATION = "term_backwardation"
    TERM_CONTANGO = "term_contango"
    SKEW_STEEP = "skew_steep"
    SKEW_FLAT = "skew_flat"
    EVENT_VOL = "event_vol"
    GAMMA_PIN = "gamma_pin"
    GAMMA_NEGATIVE = "gamma_negative"

    @property
    def edge_type(self) -> EdgeType:
        """The detector that emits this signal."""
        return _SIGNAL_EDGE[self]

    @property
    def is_short_vol(self) -> bool:
        """True when the thesis is that premium is rich (sell it)."""
        return self in _SHORT_VOL_SIGNALS


_SIGNAL_EDGE = {
    SignalKind.VRP: EdgeType.VRP,
    SignalKind.TERM_BACKWARDATION: EdgeType.TERM_STRUCTURE,
    SignalKind.TERM_CONTANGO: EdgeType.TERM_STRUCTURE,
    SignalKind.SKEW_STEEP: EdgeType.SKEW_EXTREME,
    SignalKind.SKEW_FLAT: EdgeType.SKEW_EXTREME,
    SignalKind.EVENT_VOL: EdgeType.EVENT_VOL,
    SignalKind.GAMMA_PIN: EdgeType.GAMMA_PRESSURE,
    SignalKind.GAMMA_NEGATIVE: EdgeType.GAMMA_PRESSURE,
}
_SHORT_VOL_SIGNALS = frozenset({SignalKind.VRP, SignalKind.SKEW_STEEP, SignalKind.EVENT_VOL, SignalKind.GAMMA_PIN})


class StructureType(StrEnum):
    """Structure families of seed-spec §2.2 (VolMachine never built ``diagonal``; VolEngine builds the long,
    covered form: see :mod:`volengine.structures.builders`)."""

    CREDIT_SPREAD = "credit_spread"
    DEBIT_SPREAD = "debit_spread"
    IRON_CONDOR = "iron_condor"
    IRON_BUTTERFLY = "iron_butterfly"
    BUTTERFLY = "butterfly"
    CALENDAR = "calendar"
    DIAGONAL = "diagonal"
    NONE = "none"


class StructureChoice(StrEnum):
    """A buildable structure with its side: the values of the edge → structure map.

    ``none`` means the signal is reported but not traded (a PASS with ``UNSUPPORTED_EDGE``).
    """

    PUT_CREDIT_SPREAD = "put_credit_spread"
    CALL_CREDIT_SPREAD = "call_credit_spread"
    CALL_DEBIT_SPREAD = "call_debit_spread"
    PUT_DEBIT_SPREAD = "put_debit_spread"
    IRON_CONDOR = "iron_condor"
    IRON_BUTTERFLY = "iron_butterfly"
    CALL_BUTTERFLY = "call_butterfly"
    PUT_BUTTERFLY = "put_butterfly"
    CALENDAR = "calendar"
    DIAGONAL = "diagonal"
    NONE = "none"

    @property
    def structure_type(self) -> StructureType:
        """The structure family this choice builds."""
        return _CHOICE_TYPE[self]

    @property
    def is_short_vol(self) -> bool:
        """True for structures that profit when implied vol is rich and realized vol stays low."""
        return self in _SHORT_VOL_CHOICES


_CHOICE_TYPE = {
    StructureChoice.PUT_CREDIT_SPREAD: StructureType.CREDIT_SPREAD,
    StructureChoice.CALL_CREDIT_SPREAD: StructureType.CREDIT_SPREAD,
    StructureChoice.CALL_DEBIT_SPREAD: StructureType.DEBIT_SPREAD,
    StructureChoice.PUT_DEBIT_SPREAD: StructureType.DEBIT_SPREAD,
    StructureChoice.IRON_CONDOR: StructureType.IRON_CONDOR,
    StructureChoice.IRON_BUTTERFLY: StructureType.IRON_BUTTERFLY,
    StructureChoice.CALL_BUTTERFLY: StructureType.BUTTERFLY,
    StructureChoice.PUT_BUTTERFLY: StructureType.BUTTERFLY,
    StructureChoice.CALENDAR: StructureType.CALENDAR,
    StructureChoice.DIAGONAL: StructureType.DIAGONAL,
    StructureChoice.NONE: StructureType.NONE,
}
_SHORT_VOL_CHOICES = frozenset(
    {
        StructureChoice.PUT_CREDIT_SPREAD,
        StructureChoice.CALL_CREDIT_SPREAD,
        StructureChoice.IRON_CONDOR,
        StructureChoice.IRON_BUTTERFLY,
        StructureChoice.CALL_BUTTERFLY,
        StructureChoice.PUT_BUTTERFLY,
    }
)


class StrikeMode(StrEnum):
    """How short strikes are placed: ATM ± k·width offsets, or a target absolute delta."""

    OFFSET = "offset"
    DELTA = "delta"


class GammaSignConvention(StrEnum):
    """Sign given to call and put gamma exposure when summing dealer GEX.

    ``calls_positive`` assumes dealers are long calls and short puts (calls +, puts −), the default.
    """

    CALLS_POSITIVE = "calls_positive"
    PUTS_POSITIVE = "puts_positive"

    @property
    def call_sign(self) -> int:
        """+1 or −1, the factor applied to call GEX."""
        return 1 if self is GammaSignConvention.CALLS_POSITIVE else -1

    @property
    def put_sign(self) -> int:
        """+1 or −1, the factor applied to put GEX."""
        return -self.call_sign


class CombineRule(StrEnum):
    """How two firing conditions combine: either one suffices (``any``) or both are needed (``all``)."""

    ANY = "any"
    ALL = "all"


class KillSwitchAction(StrEnum):
    """What a tripped drawdown kill switch does: block new trades, or also close open positions."""

    BLOCK = "block"
    CLOSE = "close"


class KillSwitchReset(StrEnum):
    """How a tripped kill switch is cleared: by an explicit reset only, or after a number of days."""

    MANUAL = "manual"
    AFTER_DAYS = "after_days"


class StressFailureAction(StrEnum):
    """Recommendation given to a candidate whose stress test fails."""

    PASS = "pass"
    REVIEW = "review"


class FillModel(StrEnum):
    """Fill model used for entry, marks and exit alike (seed-spec §2.13, domain notes §1.5)."""

    CONSERVATIVE = "conservative"
    MID = "mid"
    SPREAD_FRACTION = "spread_fraction"
    STRICT_CLOSE = "strict_close"
    RELAXED_CLOSE = "relaxed_close"


class ExecutionTiming(StrEnum):
    """Price at which a day-N signal fills on the next trading day."""

    NEXT_OPEN = "next_open"
    NEXT_CLOSE = "next_close"


class TradingMode(StrEnum):
    """Paper or live; paper mode uses the paper liquidity set."""

    PAPER = "paper"
    LIVE = "live"


class DataProvider(StrEnum):
    """Market-data source."""

    EMBEDDED = "embedded"
    POLYGON = "polygon"
    POLYGON_FLATFILES = "polygon_flatfiles"
    TRADIER = "tradier"
    IBKR = "ibkr"


class ExerciseStyle(StrEnum):
    """Exercise style of a symbol's listed options."""

    AMERICAN = "american"
    EUROPEAN = "european"


class Settlement(StrEnum):
    """Settlement time of a symbol's expiring options."""

    AM = "am"
    PM = "pm"


class VolIndexProxyMode(StrEnum):
    """When the regime engine uses a realized-vol stand-in for the vol index.

    ``auto`` uses it only on dates without a vol index value; ``always`` and ``never`` are explicit.
    """

    AUTO = "auto"
    ALWAYS = "always"
    NEVER = "never"


class EventType(StrEnum):
    """Calendar event types understood by the event-vol detector."""

    EARNINGS = "earnings"
    FOMC = "fomc"
    CPI = "cpi"
    NFP = "nfp"
    GDP = "gdp"


class ReportFormat(StrEnum):
    """Output formats of the daily desk report."""

    MARKDOWN = "markdown"
    HTML = "html"
    JSON = "json"


class LogLevel(StrEnum):
    """Log levels."""

    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


class SnapshotGrade(StrEnum):
    """Quality grade of a stored chain snapshot, from its share of valid quotes (seed-spec §2.3); F is the floor."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"
    F = "F"


class QualityGrade(StrEnum):
    """Letter grade of a candidate's 0-100 quality score (seed-spec §2.10); D is the floor.

    Values are ASCII (``A-``, not ``A−``), so YAML keys and JSON stay plain text.
    """

    A_PLUS = "A+"
    A = "A"
    A_MINUS = "A-"
    B_PLUS = "B+"
    B = "B"
    B_MINUS = "B-"
    C_PLUS = "C+"
    C = "C"
    C_MINUS = "C-"
    D = "D"


class RVEstimator(StrEnum):
    """Realized-volatility estimators, spelled as ``volengine.kernels.realized_vol``'s ``method``."""

    CLOSE_TO_CLOSE = "close_to_close"
    PARKINSON = "parkinson"
    GARMAN_KLASS = "garman_klass"
    ROGERS_SATCHELL = "rogers_satchell"
    YANG_ZHANG = "yang_zhang"

    @property
    def short(self) -> str:
        """Column-name abbreviation: cc, pk, gk, rs, yz."""
        return _RV_SHORT[self]


_RV_SHORT = {
    RVEstimator.CLOSE_TO_CLOSE: "cc",
    RVEstimator.PARKINSON: "pk",
    RVEstimator.GARMAN_KLASS: "gk",
    RVEstimator.ROGERS_SATCHELL: "rs",
    RVEstimator.YANG_ZHANG: "yz",
}
