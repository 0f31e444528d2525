"""Event volatility per (underlying, date): the nearest scheduled event, its IV premium, implied and past moves.

Seed-spec §2.5 ("Event volatility"). The inputs are the per-expiry frame (one ATM IV per expiry and day), the
canonical ``events`` calendar and daily bars.

Rules and the choices made where the spec leaves room:

* **Applicable events.** A symbol's own events plus every market-wide event (underlying ``"ALL"``), of the
  kinds in ``event_types`` (matched case-insensitively: ``fomc`` selects ``FOMC``; the calendar kind
  ``other`` is in no :class:`~volengine.config.enums.EventType` and is never used). An own event and a
  market-wide one of the same kind and date count once (the own one).
* **Reaction session.** The session whose close first reflects the event: the first bar on or after the
  event date for ``before_open``, ``during`` and ``unknown`` timings; the first bar after it for
  ``after_close``.
* **Upcoming.** The features describe the market as of the close of d, so an event is upcoming on d when its
  reaction session is later than d: ``after_close`` events dated d or later, other timings dated after d.
  (A ``before_open`` event dated d is already in d's close and in no option's remaining variance.) Every
  event is thus either upcoming or in the history, never both. The nearest upcoming event with
  ``event_date − d ≤ days_before_event`` calendar days is used; ties on the date go to the symbol's own
  event, then to the calendar's kind order (earnings, FOMC, CPI, NFP, GDP), then timing order.
* **Event expiry.** The first expiry strictly after the event date. For ``after_close`` events an expiry on
  the event date ends before the reaction, so "strictly after" is required; for the other timings an expiry
  on the event date may or may not contain the move (an AM-settled expiry settles at the open, before a
  ``during`` event, and the frame carries no settlement style), so the first expiry that surely contains it
  is used. The dilution by the extra non-event days is what the variance split below removes.
* **Baseline IV.** With event DTE = ``event_days``: the last expiry with DTE < event DTE −
  ``baseline_before_gap_days`` and the first with DTE > event DTE + ``baseline_after_gap_days`` that is
  later than the event expiry (so the event expiry is never its own baseline); the mean of both, else the
  one that exists, else the median ATM IV of the day's expiries. Only expiries with DTE > 0 and a finite
  ATM IV take part. Fewer than two such expiries: ``fallback_baseline_iv`` and ``event_baseline_flag``.
* **Implied move.** The event's share of the variance to the event expiry,
  ``σ_e² t_e − σ_b² t_e`` (floored at 0), as a 1-sd move in percent: ``100 · sqrt(...)``; the expected
  absolute move of a normal move is ``sqrt(2/π)`` times that.
* **Historical move.** Mean of ``abs(ln(P_R / P_{R−1}))`` × 100 over past events of the same kind that apply
  to the symbol (own or market-wide) whose reaction session R is on or before d, with P the adjusted close
  (the close where either adjusted value is missing). Events sharing one reaction session count once.

No look-ahead: the row of d reads the expiries of d and bars up to d only (the event calendar is a published
schedule, so future event dates are known). ATM IVs that are NaN are read as missing, and every missing
number in the output is null.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import polars as pl

from volengine.config.edges import EventVolSettings
from volengine.data.schema import MARKET_WIDE, conform
from volengine.errors import SchemaError

DAY = ("underlying", "date")
EXPIRY_COLUMNS = ("underlying", "date", "expiration", "dte", "t", "atm_iv")
#: E|X| / sd of a normal variable
ABS_MOVE_PER_SD = math.sqrt(2.0 / math.pi)
OUTPUT_COLUMNS = (
    *DAY,
    "event_date",
    "event_kind",
    "event_timing",
    "event_is_market_wide",
    "event_days",
    "event_expiration",
    "event_expiration_dte",
    "event_iv",
    "event_baseline_iv",
    "event_baseline_source",
    "event_baseline_flag",
    "event_premium_pct",
    "event_implied_move_pct",
    "event_implied_abs_move_pct",
    "event_hist_move_pct",
    "event_hist_count",
    "event_move_ratio",
)


def _require(frame: pl.DataFrame, columns: Iterable[str], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        msg = f"frame '{name}' needs column(s) {', '.join(missing)}; got {', '.join(frame.columns)}"
        raise SchemaError(msg, path=name, column=missing[0])


def _applicable_events(events: pl.DataFrame, underlyings: pl.LazyFrame, settings: EventVolSettings) -> pl.LazyFrame:
    """One row per (underlying, event_date, kind) of the events that apply to each underlying."""
    kinds = [t.value for t in settings.event_types]
    ev = (
        conform(events, "events", source="events")
        .lazy()
        .filter(pl.col("kind").cast(pl.String).str.to_lowercase().is_in(kinds))
        .select(
            pl.col("underlying").cast(pl.String),
            pl.col("date").alias("event_date"),
            "kind",
            "timing",
        )
    )
    is_wide = pl.col("underlying") == MARKET_WIDE
    own = ev.filter(~is_wide).join(underlyings, on="underlying", how="semi")
    wide = ev.filter(is_wide).drop("underlying").join(underlyings, how="cross")
    return (
        pl.concat(
            [
                own.with_columns(pl.lit(value=False).alias("event_is_market_wide")),
                wide.with_columns(pl.lit(value=True).alias("event_is_market_wide")),
            ],
            how="diagonal",
        )
        .sort("underlying", "event_date", "kind", "event_is_market_wide")
        .unique(subset=["underlying", "event_date", "kind"], keep="first", maintain_order=True)
    )


def _nearest_events(days: pl.LazyFrame, events: pl.LazyFrame, settings: EventVolSettings) -> pl.LazyFrame:
    """Per (underlying, date) with an upcoming event in the window: that event and its calendar distance."""
    event_date = pl.col("event_date")
    not_amc = (pl.col("timing") != "after_close").cast(pl.Int64)
    # each event is a candidate on the dates d in [event - window, last date on which it is still upcoming]
    first = event_date - pl.duration(days=settings.days_before_event)
    last = event_date - pl.duration(days=not_amc)
    return (
        events.with_columns(pl.date_ranges(first, last, "1d").alias("date"))
        .explode("date")
        .join(days, on=DAY, how="semi")
        .sort([*DAY, "event_date", "event_is_market_wide", "kind", "timing"])
        .unique(subset=list(DAY), keep="first", maintain_order=True)
        .with_columns((event_date - pl.col("date")).dt.total_days().cast(pl.Int32).alias("event_days"))
    )


def _expiry_features(nearest: pl.LazyFrame, expiries: pl.LazyFrame, settings: EventVolSettings) -> pl.LazyFrame:
    """Event expiry, event IV and baseline IV per (underlying, date) with an event."""
    exp, dte, iv = pl.col("expiration"), pl.col("dte"), pl.col("atm_iv")
    per_expiry = nearest.select(*DAY, "event_date", "event_days").join(expiries, on=DAY, how="inner")
    event_exp = per_expiry.group_by(DAY).agg(exp.filter(exp > pl.col("event_date")).min().alias("event_expiration"))
    valid = iv.is_not_null() & (dte > 0)
    before = valid & (dte < pl.col("event_days") - settings.baseline_before_gap_days)
    after = valid & (dte > pl.col("event_days") + settings.baseline_after_gap_days) & (exp > pl.col("event_expiration"))
    is_event = exp == pl.col("event_expiration")
    stats = (
        per_expiry.join(event_exp, on=DAY, how="left")
        .group_by(DAY)
        .agg(
            pl.col("event_expiration").first(),
            dte.filter(is_event).first().cast(pl.Int32).alias("event_expiration_dte"),
            iv.filter(is_event).first().alias("event_iv"),
            pl.col("t").filter(is_event).first().alias("_t_event"),
            # one expiry per DTE and day, so "last before" / "first after" are the max / min DTE
            iv.filter(before & (dte == dte.filter(before).max())).first().alias("_iv_before"),
            iv.filter(after & (dte == dte.filter(after).min())).first().alias("_iv_after"),
            iv.filter(valid).median().alias("_iv_median"),
            valid.sum().alias("_n_iv"),
        )
    )
    b, a = pl.col("_iv_before"), pl.col("_iv_after")
    is_fallback = pl.col("_n_iv") < 2
    source = (
        pl.when(is_fallback)
        .then(pl.lit("fallback"))
        .when(b.is_not_null() & a.is_not_null())
        .then(pl.lit("both"))
        .when(b.is_not_null())
        .then(pl.lit("before"))
        .when(a.is_not_null())
        .then(pl.lit("after"))
        .otherwise(pl.lit("median"))
    )
    baseline = (
        pl.when(is_fallback)
        .then(pl.lit(settings.fallback_baseline_iv))
        .otherwise(pl.coalesce((b + a) / 2.0, b, a, pl.col("_iv_median")))
    )
    return stats.with_columns(
        source.alias("event_baseline_source"),
        baseline.alias("event_baseline_iv"),
        is_fallback.alias("event_baseline_flag"),
    )


def _implied_moves(frame: pl.LazyFrame) -> pl.LazyFrame:
    iv, base, t = pl.col("event_iv"), pl.col("event_baseline_iv"), pl.col("_t_event")
    # clip, not max_horizontal: a null variance must stay null, not become 0
    event_var = (iv * iv * t - base * base * t).clip(lower_bound=0.0)
    move = event_var.sqrt() * 100.0
    return frame.with_columns(
        ((iv / base - 1.0) * 100.0).alias("event_premium_pct"),
        move.alias("event_implied_move_pct"),
        (move * ABS_MOVE_PER_SD).alias("event_implied_abs_move_pct"),
    )


def _session_returns(bars: pl.DataFrame, underlyings: pl.LazyFrame) -> pl.LazyFrame:
    """(underlying, session, ret): log close-to-close return of each bar against the bar before it."""
    b = (
        conform(bars, "bars", source="bars")
        .lazy()
        .select(pl.col("underlying").cast(pl.String), "date", "close", pl.col("adj_close").fill_nan(None))
        .join(underlyings, on="underlying", how="semi")
        .sort("underlying", "date")
    )

    def log_ret(col: str) -> pl.Expr:
        return (pl.col(col) / pl.col(col).shift(1)).log().over("underlying")

    return b.select(
        "underlying",
        pl.col("date").alias("session"),
        pl.coalesce(log_ret("adj_close"), log_ret("close")).alias("ret"),
    )


def _historical_moves(events: pl.LazyFrame, returns: pl.LazyFrame, nearest: pl.LazyFrame) -> pl.LazyFrame:
    """Mean absolute reaction-session move and count of past same-kind events, per (underlying, date)."""
    reaction_from = pl.col("event_date") + pl.duration(days=(pl.col("timing") == "after_close").cast(pl.Int64))
    reactions = (
        events.select("underlying", "kind", reaction_from.alias("_reaction_from"))
        .sort("_reaction_from")
        .join_asof(
            returns.sort("session"),
            left_on="_reaction_from",
            right_on="session",
            by="underlying",
            strategy="forward",
            check_sortedness=False,  # both sides are sorted on the key just above
        )
        .filter(pl.col("ret").is_finite())
        .unique(subset=["underlying", "kind", "session"], keep="first")
        .sort("underlying", "kind", "session")
        .with_columns(
            pl.col("ret").abs().cum_sum().over("underlying", "kind").alias("_abs_sum"),
            pl.int_range(1, pl.len() + 1).over("underlying", "kind").alias("_count"),
        )
        .select("underlying", "kind", "session", "_abs_sum", "_count")
        .sort("session")
    )
    count = pl.col("_count")
    return (
        nearest.select(*DAY, "kind")
        .sort("date")
        .join_asof(
            reactions,
            left_on="date",
            right_on="session",
            by=["underlying", "kind"],
            strategy="backward",
            check_sortedness=False,
        )
        .select(
            *DAY,
            (pl.col("_abs_sum") / count * 100.0).alias("event_hist_move_pct"),
            count.fill_null(0).cast(pl.Int32).alias("event_hist_count"),
        )
    )


def event_features(
    expiries: pl.DataFrame,
    events: pl.DataFrame,
    bars: pl.DataFrame,
    settings: EventVolSettings | None = None,
) -> pl.DataFrame:
    """Nearest upcoming event per (underlying, date) with its IV premium, implied move and past moves.

    Parameters
    ----------
    expiries : polars.DataFrame
        Per-expiry frame: ``underlying``, ``date``, ``expiration``, ``dte`` (calendar days), ``t`` (years to
        settlement) and ``atm_iv`` (decimal; NaN or null when missing).
    events : polars.DataFrame
        Canonical ``events`` table (``date``, ``underlying`` or ``"ALL"``, ``kind``, ``timing``).
    bars : polars.DataFrame
        Daily bars with ``underlying``, ``date``, ``close`` and optionally ``adj_close``.
    settings : EventVolSettings, optional
        Window, baseline gaps, fallback IV and event kinds; defaults to ``EventVolSettings()``.

    Returns
    -------
    polars.DataFrame
        One row per (underlying, date) of ``expiries``, in input order; all ``event_*`` columns are null on
        days without an upcoming event in the window:

        * ``event_date``, ``event_kind`` (String, calendar spelling), ``event_timing`` (String),
          ``event_is_market_wide``, ``event_days`` (Int32, calendar days from d);
        * ``event_expiration``, ``event_expiration_dte`` (Int32), ``event_iv`` (its ATM IV);
        * ``event_baseline_iv``, ``event_baseline_source`` ("both", "before", "after", "median",
          "fallback"), ``event_baseline_flag`` (True for the fallback);
        * ``event_premium_pct`` = (event IV / baseline − 1) × 100;
        * ``event_implied_move_pct`` (1 sd, percent) and ``event_implied_abs_move_pct`` (× sqrt(2/π));
        * ``event_hist_move_pct`` (mean absolute reaction-session log return × 100), ``event_hist_count``
          (Int32, past events averaged), ``event_move_ratio`` = implied abs move / historical move (null
          unless the latter is > 0).

    Raises
    ------
    SchemaError
        A required column is missing or cannot be read with its canonical dtype.

    Notes
    -----
    Rules in the module docstring. The variance split follows the forward-variance view of event
    vol (e.g. Dubinsky, Johannes, Kaeck and Seeger, "Option Pricing of Earnings Announcement Risks",
    Review of Financial Studies 32(2), 2019, https://doi.org/10.1093/rfs/hhy060).
    """
    s = settings if settings is not None else EventVolSettings()
    _require(expiries, EXPIRY_COLUMNS, "expiries")
    u_dtype = expiries.schema["underlying"]
    ex = expiries.lazy().select(
        pl.col("underlying").cast(pl.String),
        "date",
        "expiration",
        "dte",
        pl.col("t").cast(pl.Float64),
        pl.col("atm_iv").cast(pl.Float64).fill_nan(None),
    )
    days = ex.select(DAY).unique(maintain_order=True)
    underlyings = days.select("underlying").unique()
    applicable = _applicable_events(events, underlyings, s)
    nearest = _nearest_events(days, applicable, s)
    features = _implied_moves(_expiry_features(nearest, ex, s))
    hist = _historical_moves(applicable, _session_returns(bars, underlyings), nearest)
    out = (
        days.join(nearest, on=DAY, how="left", maintain_order="left")
        .join(features, on=DAY, how="left", maintain_order="left")
        .join(hist, on=DAY, how="left", maintain_order="left")
        .with_columns(
            pl.col("underlying").cast(u_dtype),
            pl.col("kind").cast(pl.String).alias("event_kind"),
            pl.col("timing").cast(pl.String).alias("event_timing"),
            pl.when(pl.col("event_hist_move_pct") > 0)
            .then(pl.col("event_implied_abs_move_pct") / pl.col("event_hist_move_pct"))
            .alias("event_move_ratio"),
        )
    )
    return out.select(OUTPUT_COLUMNS).collect()
