"""Data-quality check of the option quotes in a store: keep, flag or reject every row, quarantine rejects.

Every ``option_quotes`` row gets a verdict and, unless kept, one reason (the first rule it breaks, in the order
below). Rules are polars expressions over the whole frame of one underlying; nothing loops over rows.

Rejected (moved to the ``quarantine`` dataset, reason ``quality:<code>``):

* ``crossed``: ``bid > ask``.
* ``nonpositive_price``: ``bid < 0`` or ``ask <= 0``.
* ``missing_underlying_price``: ``underlying_price`` null, NaN or ``<= 0``.
* ``strike_far_from_spot``: ``strike / underlying_price`` outside ``[min_strike_to_spot, max_strike_to_spot]``.
* ``ask_above_bound``: the ask exceeds the no-arbitrage upper bound (call ≤ S, put ≤ K; the loosest forms,
  valid for American and European exercise) by more than ``max_ask_over_bound_frac``.

Flagged (kept in ``option_quotes``, reported):

* ``no_quote``: bid and ask both null (trade-only rows such as day aggregates).
* ``zero_bid``: ``bid == 0`` (no market on the bid).
* ``stale_quote``: the same (bid, ask, last) on ``stale_sessions`` or more consecutive observations of the
  contract (only past rows decide, so the flag has no look-ahead).
* ``parity_violation``: both legs of a call/put pair whose ``mid_C − mid_P`` is off put-call parity by more
  than the two half-spreads plus ``parity_tolerance`` (American pairs: outside the early-exercise band
  ``S·e^{−qT} − K ≤ C − P ≤ S − K·e^{−rT}`` by that much; see :func:`parity_residuals`).
* ``wide_spread``: ``(ask − bid) / mid > max_spread_frac``.

Per underlying the report also lists the XNYS sessions missing between its first and last quote date.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from volengine.data import calendar
from volengine.data.schema import spec

if TYPE_CHECKING:
    from volengine.data.store import Store

QUOTE_KEY = spec("option_quotes").key
#: a contract through time: the quote key without the date
CONTRACT_KEY = tuple(k for k in QUOTE_KEY if k != "date")
#: a call/put pair: the quote key without the right
PAIR_KEY = tuple(k for k in QUOTE_KEY if k != "right")
#: one chain (all strikes of one expiration in one snapshot)
CHAIN_KEY = tuple(k for k in PAIR_KEY if k != "strike")
REASON_PREFIX = "quality:"


class Verdict(StrEnum):
    """What the check does with a row."""

    KEPT = "kept"
    FLAGGED = "flagged"
    REJECTED = "rejected"


class Reason(StrEnum):
    """Why a row is rejected or flagged (see the module docstring)."""

    CROSSED = "crossed"
    NONPOSITIVE_PRICE = "nonpositive_price"
    MISSING_UNDERLYING_PRICE = "missing_underlying_price"
    STRIKE_FAR_FROM_SPOT = "strike_far_from_spot"
    ASK_ABOVE_BOUND = "ask_above_bound"
    NO_QUOTE = "no_quote"
    ZERO_BID = "zero_bid"
    STALE_QUOTE = "stale_quote"
    PARITY_VIOLATION = "parity_violation"
    WIDE_SPREAD = "wide_spread"


REJECT_REASONS = (
    Reason.CROSSED,
    Reason.NONPOSITIVE_PRICE,
    Reason.MISSING_UNDERLYING_PRICE,
    Reason.STRIKE_FAR_FROM_SPOT,
    Reason.ASK_ABOVE_BOUND,
)
FLAG_REASONS = (Reason.NO_QUOTE, Reason.ZERO_BID, Reason.STALE_QUOTE, Reason.PARITY_VIOLATION, Reason.WIDE_SPREAD)
VerdictDtype = pl.Enum([v.value for v in Verdict])


@dataclass(frozen=True)
class QualityThresholds:
    """Thresholds of the quality rules; every default is documented here and in the module docstring.

    Attributes
    ----------
    min_strike_to_spot, max_strike_to_spot : float
        Reject strikes with ``K/S`` outside ``[0.2, 5.0]``.
    max_ask_over_bound_frac : float
        Reject an ask above ``S·(1 + 0.05)`` (calls) or ``K·(1 + 0.05)`` (puts).
    max_spread_frac : float
        Flag ``(ask − bid)/mid > 0.5`` (50 % of mid) when the bid is positive.
    stale_sessions : int
        Flag a quote seen unchanged on 5 or more consecutive observations of the contract.
    parity_tolerance : float
        Dollars added to the two half-spreads before a parity gap is flagged (0.05).
    parity_min_pairs : int
        Chains with at least 5 call/put pairs (off the American exercise boundary) fit their own discount
        factor and forward; smaller chains use ``S·e^{−qT} − K·e^{−rT}`` with ``rate_cc`` and ``div_yield_cc``.
    rate_cc, div_yield_cc : float
        Continuously compounded rate and dividend yield of the small-chain parity formula (0.0, 0.0).
    """

    min_strike_to_spot: float = 0.2
    max_strike_to_spot: float = 5.0
    max_ask_over_bound_frac: float = 0.05
    max_spread_frac: float = 0.5
    stale_sessions: int = 5
    parity_tolerance: float = 0.05
    parity_min_pairs: int = 5
    rate_cc: float = 0.0
    div_yield_cc: float = 0.0


# ------------------------------------------------------------------------------------------ row rules


def _reject_rules(th: QualityThresholds) -> list[tuple[Reason, pl.Expr]]:
    c = pl.col
    spot = c("underlying_price")
    bound = pl.when(c("right") == "C").then(spot).otherwise(c("strike")) * (1.0 + th.max_ask_over_bound_frac)
    moneyness = c("strike") / spot
    return [
        (Reason.CROSSED, c("bid") > c("ask")),
        (Reason.NONPOSITIVE_PRICE, (c("bid") < 0) | (c("ask") <= 0)),
        (Reason.MISSING_UNDERLYING_PRICE, spot.is_null() | spot.is_nan() | (spot <= 0)),
        (Reason.STRIKE_FAR_FROM_SPOT, ~moneyness.is_between(th.min_strike_to_spot, th.max_strike_to_spot)),
        (Reason.ASK_ABOVE_BOUND, c("ask") > bound),
    ]


def _sorted_by(frame: pl.DataFrame, keys: tuple[str, ...], last: str) -> pl.DataFrame:
    """``frame`` sorted so equal ``keys`` are contiguous, then by ``last`` (physical codes sort several times
    faster than lexically ordered categoricals, and contiguity is all the group rules need)."""
    return frame.sort(*(pl.col(k).to_physical() for k in keys), last)


def _group_starts(columns: tuple[str, ...]) -> pl.Expr:
    """True where a row starts a new run of equal ``columns`` (the frame is sorted so runs are contiguous)."""
    c = pl.col
    return pl.any_horizontal(*(c(k).ne_missing(c(k).shift(1)) for k in columns)).fill_null(value=True)


def _stale_expr(th: QualityThresholds) -> pl.Expr:
    """True on rows whose quote has been unchanged on ``stale_sessions`` consecutive observations.

    Needs the frame sorted by contract then date. The position in a run of equal (contract, bid, ask, last)
    is the row index minus that of the run's first row: a forward fill, no per-group window.
    """
    index = pl.int_range(pl.len(), dtype=pl.Int64)
    start = pl.when(_group_starts((*CONTRACT_KEY, "bid", "ask", "last"))).then(index).forward_fill()
    return (index - start + 1) >= th.stale_sessions


def parity_residuals(quotes: pl.DataFrame, th: QualityThresholds | None = None) -> pl.DataFrame:
    """Put-call parity residual of every call/put pair with two-sided markets.

    ``y = mid_C − mid_P`` is compared with ``a − D·K``. Chains with at least ``parity_min_pairs`` pairs fit
    ``D`` (discount factor) and ``a`` (discounted forward, ``S·e^{−qT}``) robustly: with the chain's ``n``
    pairs sorted by strike, ``D`` is the median of the slopes between each pair and the one ``n // 2`` strikes
    above it (a wide baseline, so tick-rounded mids do not quantize ``D`` the way adjacent-strike slopes
    would), and ``a`` the median of ``y + D·K``; one bad pair moves neither. Pairs with an American leg at
    its exercise boundary (the mid within its half-spread of intrinsic value ``max(±(S − K), 0)``) sit on
    the early-exercise side of parity and are left out of the fit (they are still checked). Smaller chains
    (or a fitted ``D`` outside [0.5, 1.1]) use ``a = S·e^{−qT}``, ``D = e^{−rT}`` with ``T = tte_years``
    (:func:`volengine.data.calendar.tte_years`).

    The pair violates parity when ``resid > tol + early_call`` or ``resid < −tol − early_put``, where ``tol``
    is the two half-spreads plus ``parity_tolerance``. For American exercise parity is only a band,
    ``S·e^{−qT} − K ≤ C − P ≤ S − K·e^{−rT}``, so ``early_put = K·(1 − D)`` (the bound on the put's
    early-exercise premium) and ``early_call = S − a`` (the call's, from dividends); both are 0 for European
    exercise.

    Parameters
    ----------
    quotes : pl.DataFrame
        Canonical option quotes; a ``_rejected`` Boolean column, when present, leaves those rows out.
    th : QualityThresholds, optional

    Returns
    -------
    pl.DataFrame
        ``row_call, row_put, resid, tol, lower, is_violation``; ``row_*`` are the legs' row indices in
        ``quotes``, ``resid``/``tol``/``lower`` are in dollars (``tol`` includes ``early_call``, ``lower``
        is ``−tol − early_put`` without it).
    """
    th = th or QualityThresholds()
    c = pl.col
    if "_row" not in quotes.columns:
        quotes = quotes.with_row_index("_row")
    if "_rejected" not in quotes.columns:
        quotes = quotes.with_columns(_rejected=pl.lit(value=False))
    two_sided = c("bid").is_not_null() & c("ask").is_not_null() & (c("bid") > 0) & (c("ask") >= c("bid"))
    mid, half = (c("bid") + c("ask")) / 2, (c("ask") - c("bid")) / 2
    intrinsic = (
        pl.when(c("right") == "C")
        .then(c("underlying_price") - c("strike"))
        .otherwise(c("strike") - c("underlying_price"))
    )
    legs = quotes.filter(two_sided & ~c("_rejected")).select(
        *PAIR_KEY,
        "right",
        "_row",
        mid.alias("mid"),
        half.alias("half"),
        ((c("style") == "american") & (mid - intrinsic.clip(lower_bound=0.0) <= half + 1e-9)).alias("at_floor"),
        "underlying_price",
        "style",
        "settlement",
        "quote_time",
    )
    calls = legs.filter(c("right") == "C").drop("right")
    puts = legs.filter(c("right") == "P").select(*PAIR_KEY, "_row", "mid", "half", "at_floor")
    pairs = calls.join(puts, on=list(PAIR_KEY), suffix="_p", nulls_equal=True)
    if pairs.is_empty():
        return pl.DataFrame(
            schema={
                "row_call": pl.UInt32,
                "row_put": pl.UInt32,
                "resid": pl.Float64,
                "tol": pl.Float64,
                "lower": pl.Float64,
                "is_violation": pl.Boolean,
            }
        )
    quote_time = pairs["quote_time"].fill_null(calendar.quote_times(pairs["date"], pairs["snapshot"]))
    tte = calendar.tte_years(quote_time, pairs["expiration"], pairs["settlement"])
    k, y = c("strike"), c("mid") - c("mid_p")
    pairs = (
        pairs.with_columns(tte=tte.clip(lower_bound=0.0).fill_null(0.0), y=y, fit_ok=~(c("at_floor") | c("at_floor_p")))
        .pipe(_sorted_by, CHAIN_KEY, "strike")
        .with_columns(_chain=_group_starts(CHAIN_KEY).cum_sum())
    )
    fit = pairs.join(_parity_fit(pairs.filter("fit_ok")), on="_chain", how="left").with_columns(
        use_fit=(c("n").fill_null(0) >= th.parity_min_pairs) & c("d_fit").is_between(0.5, 1.1).fill_null(value=False)
    )
    fit = fit.with_columns(
        d=pl.when("use_fit").then("d_fit").otherwise((-th.rate_cc * c("tte")).exp()),
        a=pl.when("use_fit").then("a_fit").otherwise(c("underlying_price") * (-th.div_yield_cc * c("tte")).exp()),
    )
    is_american = c("style") == "american"
    early_put = pl.when(is_american).then((k * (1.0 - c("d"))).clip(lower_bound=0.0)).otherwise(0.0)
    early_call = pl.when(is_american).then((c("underlying_price") - c("a")).clip(lower_bound=0.0)).otherwise(0.0)
    spread = c("half") + c("half_p") + th.parity_tolerance
    return (
        fit.select(
            c("_row").alias("row_call"),
            c("_row_p").alias("row_put"),
            (c("y") - (c("a") - c("d") * k)).alias("resid"),
            (spread + early_call).alias("tol"),
            (-spread - early_put).alias("lower"),
        )
        .with_columns(is_violation=(c("resid") > c("tol")) | (c("resid") < c("lower")))
        .sort("row_call")
    )


def _parity_fit(ok: pl.DataFrame) -> pl.DataFrame:
    """``_chain, n, d_fit, a_fit`` from the fit pairs ``ok`` (sorted by chain, then strike).

    ``d_fit`` is the median slope ``−Δy/ΔK`` between each pair and the pair ``n // 2`` positions above it in
    its chain, ``a_fit`` the median of ``y + d_fit·K``.
    """
    if ok.is_empty():
        return pl.DataFrame(schema={"_chain": pl.UInt32, "n": pl.UInt32, "d_fit": pl.Float64, "a_fit": pl.Float64})
    chain = ok["_chain"].to_numpy()
    strike = ok["strike"].to_numpy()
    y = ok["y"].to_numpy()
    first = np.r_[True, chain[1:] != chain[:-1]]
    group = np.cumsum(first) - 1
    index = np.arange(chain.size)
    start = np.maximum.accumulate(np.where(first, index, 0))
    size = np.bincount(group)[group]
    partner = index + size // 2
    has = (size >= 2) & (partner < start + size)
    slope = np.full(chain.size, np.nan)
    j = partner[has]
    dk = strike[j] - strike[has]
    slope[has] = np.where(dk > 0, -(y[j] - y[has]) / np.where(dk > 0, dk, 1.0), np.nan)
    c = pl.col
    return (
        ok.select("_chain", "strike", "y")
        .with_columns(slope=pl.Series(slope).fill_nan(None))
        .with_columns(d_fit=c("slope").median().over("_chain"))
        .group_by("_chain")
        .agg(n=pl.len(), d_fit=c("d_fit").first(), a_fit=(c("y") + c("d_fit") * c("strike")).median())
    )


def classify_quotes(quotes: pl.DataFrame, thresholds: QualityThresholds | None = None) -> pl.DataFrame:
    """Verdict and reason for every row of a canonical ``option_quotes`` frame.

    Parameters
    ----------
    quotes : pl.DataFrame
        Canonical option quotes (any subset of underlyings and dates; the stale rule sees only these rows).
    thresholds : QualityThresholds, optional
        Rule thresholds; the defaults of :class:`QualityThresholds` when omitted.

    Returns
    -------
    pl.DataFrame
        ``quotes`` in its original row order plus ``verdict`` (Enum kept/flagged/rejected) and ``reason``
        (a :class:`Reason` value, null when kept).
    """
    th = thresholds or QualityThresholds()
    c = pl.col
    reject = pl.lit(None, dtype=pl.String)
    for reason, bad in reversed(_reject_rules(th)):
        reject = pl.when(bad.fill_null(value=False)).then(pl.lit(reason.value)).otherwise(reject)
    df = (
        quotes.with_row_index("_row")
        .with_columns(_reject=reject)
        .with_columns(_rejected=c("_reject").is_not_null())
        .pipe(_sorted_by, CONTRACT_KEY, "date")
        .with_columns(_stale=_stale_expr(th))
        .sort("_row")
    )
    parity = parity_residuals(df, th).filter("is_violation")
    # df is back in _row order, so a scatter into a boolean array marks both legs of every violating pair
    is_parity_bad = np.zeros(df.height, dtype=bool)
    is_parity_bad[parity["row_call"].to_numpy()] = True
    is_parity_bad[parity["row_put"].to_numpy()] = True
    mid = (c("bid") + c("ask")) / 2
    flags: list[tuple[Reason, pl.Expr]] = [
        (Reason.NO_QUOTE, c("bid").is_null() & c("ask").is_null()),
        (Reason.ZERO_BID, c("bid") == 0),
        (Reason.STALE_QUOTE, c("_stale")),
        (Reason.PARITY_VIOLATION, pl.lit(pl.Series(is_parity_bad))),
        (Reason.WIDE_SPREAD, (c("bid") > 0) & ((c("ask") - c("bid")) / mid > th.max_spread_frac)),
    ]
    flag = pl.lit(None, dtype=pl.String)
    for reason, bad in reversed(flags):
        flag = pl.when(bad.fill_null(value=False)).then(pl.lit(reason.value)).otherwise(flag)
    return (
        df.with_columns(_flag=flag)
        .with_columns(
            verdict=pl.when("_rejected")
            .then(pl.lit(Verdict.REJECTED.value))
            .when(c("_flag").is_not_null())
            .then(pl.lit(Verdict.FLAGGED.value))
            .otherwise(pl.lit(Verdict.KEPT.value))
            .cast(VerdictDtype),
            reason=pl.coalesce("_reject", "_flag"),
        )
        .drop("_row", "_reject", "_rejected", "_stale", "_flag")
    )


def missing_sessions(dates: pl.Series) -> list[dt.date]:
    """XNYS sessions between the first and last of ``dates`` that ``dates`` does not contain."""
    present = dates.drop_nulls().unique()
    if present.is_empty():
        return []
    expected = calendar.sessions(present.min(), present.max())  # type: ignore[arg-type]
    return expected.filter(~expected.is_in(present.implode())).to_list()


# ---------------------------------------------------------------------------------------------- report


@dataclass
class QualityReport:
    """Result of :func:`check_store`.

    ``counts`` has one row per (underlying, year, verdict, reason) with ``rows``; ``missing_sessions`` maps an
    underlying to the XNYS sessions absent between its first and last quote date; ``quarantined`` is the
    number of rows moved to the quarantine (0 on a dry run).
    """

    counts: pl.DataFrame
    missing_sessions: dict[str, list[dt.date]]
    date_ranges: dict[str, tuple[dt.date, dt.date]]
    quarantined: int
    is_dry_run: bool
    thresholds: QualityThresholds
    store: str = ""
    run_id: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def total_rows(self) -> int:
        """Rows checked."""
        return int(self.counts["rows"].sum())

    def verdict_count(self, verdict: Verdict | str) -> int:
        """Rows with one verdict."""
        return int(self.counts.filter(pl.col("verdict") == str(verdict))["rows"].sum())

    def by_reason(self) -> pl.DataFrame:
        """``verdict, reason, rows`` over the whole check: rejected reasons first, then flagged, most rows first."""
        table = self._by(["verdict", "reason"]).filter(pl.col("reason").is_not_null())
        return table.sort(["verdict", "rows", "reason"], descending=[True, True, False])

    def by_underlying(self) -> pl.DataFrame:
        """``underlying, rows, kept, flagged, rejected, missing_sessions``."""
        return self._wide("underlying").with_columns(
            missing_sessions=pl.col("underlying").replace_strict(
                {u: len(v) for u, v in self.missing_sessions.items()}, default=0, return_dtype=pl.Int64
            )
        )

    def by_year(self) -> pl.DataFrame:
        """``year, rows, kept, flagged, rejected``."""
        return self._wide("year")

    def _by(self, keys: list[str]) -> pl.DataFrame:
        return self.counts.group_by(keys).agg(pl.col("rows").sum()).sort(keys, nulls_last=True)

    def _wide(self, key: str) -> pl.DataFrame:
        base = self.counts.group_by(key).agg(
            pl.col("rows").sum(),
            *(pl.col("rows").filter(pl.col("verdict") == v.value).sum().alias(v.value) for v in Verdict),
        )
        return base.sort(key)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dictionary of the report."""
        reasons = {r.value: 0 for r in (*REJECT_REASONS, *FLAG_REASONS)}
        for row in self.by_reason().iter_rows(named=True):
            reasons[row["reason"]] = int(row["rows"])
        return {
            "store": self.store,
            "run_id": self.run_id,
            "dry_run": self.is_dry_run,
            "total_rows": self.total_rows,
            "verdicts": {v.value: self.verdict_count(v) for v in Verdict},
            "reasons": reasons,
            "quarantined": self.quarantined,
            "by_underlying": {str(r.pop("underlying")): r for r in self.by_underlying().iter_rows(named=True)},
            "by_year": {str(r.pop("year")): r for r in self.by_year().iter_rows(named=True)},
            "by_underlying_year_reason": self.counts.with_columns(pl.col("verdict").cast(pl.String)).to_dicts(),
            "date_ranges": {u: [str(a), str(b)] for u, (a, b) in self.date_ranges.items()},
            "missing_sessions": {u: [str(d) for d in v] for u, v in self.missing_sessions.items()},
            "thresholds": asdict(self.thresholds),
            "notes": self.notes,
        }

    def to_json(self, path: str | Path | None = None) -> str:
        """The report as JSON text; also written to ``path`` when given."""
        text = json.dumps(self.to_dict(), indent=2, default=str)
        if path is not None:
            Path(path).write_text(text + "\n", encoding="utf-8")
        return text


_COUNT_SCHEMA = {
    "underlying": pl.String,
    "year": pl.Int32,
    "verdict": VerdictDtype,
    "reason": pl.String,
    "rows": pl.Int64,
}
# what the rules read; the rest of a row is only read back for rows that move to the quarantine
_RULE_COLUMNS = (
    *QUOTE_KEY,
    "style",
    "settlement",
    "quote_time",
    "bid",
    "ask",
    "last",
    "underlying_price",
)


def check_store(
    store: Store,
    *,
    underlyings: list[str] | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    is_dry_run: bool = False,
    thresholds: QualityThresholds | None = None,
    run_id: str | None = None,
) -> QualityReport:
    """Classify every option quote in ``store`` and move the rejected rows to its quarantine.

    Each underlying is read and classified on its own (lazily scanned, then collected on the columns the
    rules need). Unless ``is_dry_run``, all rejected rows of the run move in one store transaction: written
    to ``quarantine`` with ``reject_reason = "quality:<reason>"``, ``source_file = "option_quotes@<run_id>"``
    and ``source_row`` numbering them, then deleted from ``option_quotes``. Nothing is dropped silently.

    Parameters
    ----------
    store : Store
    underlyings : list of str, optional
        Restrict to these symbols (default: every underlying in the store).
    start, end : date, optional
        Inclusive quote-date range.
    is_dry_run : bool
        Report only; the store is not touched.
    thresholds : QualityThresholds, optional
    run_id : str, optional
        Identifies this run in the quarantine's ``source_file`` (default: the UTC time).
    """
    th = thresholds or QualityThresholds()
    run_id = run_id or dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    symbols = underlyings or _store_underlyings(store)
    counts, moved, keys = [], [], []
    notes: list[str] = []
    missing: dict[str, list[dt.date]] = {}
    ranges: dict[str, tuple[dt.date, dt.date]] = {}
    for symbol in symbols:
        lazy = store.scan("option_quotes", underlyings=[symbol], start=start, end=end)
        rows = lazy.select(_RULE_COLUMNS).collect()
        if rows.is_empty():
            notes.append(f"{symbol}: no option quotes in the store for the requested dates")
            continue
        classified = classify_quotes(rows, th)
        year = pl.col("date").dt.year().cast(pl.Int32).alias("year")
        counts.append(
            classified.group_by(pl.col("underlying").cast(pl.String), year, "verdict", "reason").agg(
                rows=pl.len().cast(pl.Int64)
            )
        )
        missing[symbol] = missing_sessions(rows["date"])
        ranges[symbol] = (rows["date"].min(), rows["date"].max())  # type: ignore[assignment]
        rejected = classified.filter(pl.col("verdict") == Verdict.REJECTED.value).select(*QUOTE_KEY, "reason")
        if not rejected.is_empty() and not is_dry_run:
            full = lazy.join(rejected.lazy(), on=list(QUOTE_KEY), how="inner", nulls_equal=True).collect()
            moved.append(full)
            keys.append(rejected.select(QUOTE_KEY))
    quarantined = _quarantine(store, moved, keys, run_id) if moved else 0
    table = (pl.concat([_conform_counts(f) for f in counts]) if counts else pl.DataFrame(schema=_COUNT_SCHEMA)).sort(
        "underlying", "year", "verdict", "reason", nulls_last=True
    )
    return QualityReport(
        counts=table,
        missing_sessions=missing,
        date_ranges=ranges,
        quarantined=quarantined,
        is_dry_run=is_dry_run,
        thresholds=th,
        store=str(getattr(store, "root", "")),
        run_id=run_id,
        notes=notes,
    )


def _conform_counts(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(pl.col(name).cast(dtype) for name, dtype in _COUNT_SCHEMA.items())


def _store_underlyings(store: Store) -> list[str]:
    return list(store.underlyings("option_quotes"))


def _quarantine(store: Store, moved: list[pl.DataFrame], keys: list[pl.DataFrame], run_id: str) -> int:
    """Write the rejected rows to the quarantine and delete them from option_quotes, in one transaction."""
    rows = pl.concat(moved, how="vertical_relaxed").sort(*QUOTE_KEY)
    out = rows.with_columns(
        reject_reason=pl.lit(REASON_PREFIX) + pl.col("reason"),
        source_file=pl.lit(f"option_quotes@{run_id}"),
        source_row=pl.int_range(pl.len(), dtype=pl.Int64),
    ).drop("reason")
    note = f"volengine data check {run_id}: quarantined {out.height} rejected option quote(s)"
    with store.transaction(source_files=(), note=note) as tx:
        tx.write("quarantine", out)
        tx.delete("option_quotes", pl.concat(keys, how="vertical_relaxed"))
    return out.height
