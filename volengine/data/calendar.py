"""XNYS sessions, listed expiries, days to expiry and time to expiry, vectorized.

Sessions, opens, closes and early closes come from ``exchange_calendars`` (``XNYS``), loaded once per process
for 1980-01-01 → 2045-12-31 and held as sorted numpy arrays; every function here is a ``searchsorted`` or a
polars expression over whole arrays, never a Python loop over rows.

Conventions
-----------
* Dates are US/Eastern exchange dates (``pl.Date``); times are ``Datetime("ns", "America/New_York")``.
* ``dte_calendar``: calendar days from the quote date to the expiration (``expiration - date``).
* ``dte_trading``: XNYS sessions strictly after the quote date up to and including the expiration.
* ``tte_years``: calendar time from the quote time to the settlement time, in years of 365 days
  (``seconds / (365 * 86400)``). The quote time defaults to the session close of the quote date (16:00 ET, 13:00
  on early closes); a Cboe 15:45 snapshot is the close minus 15 minutes (:func:`quote_times`). The settlement
  time is the open (09:30 ET) of the expiration day for AM-settled series and its close (early-close aware) for
  PM-settled ones. An expired contract keeps ``tte_years <= 0``; kernels treat it as intrinsic.
* Expiry rules are today's listing rules (third-Friday monthlies, Friday weeklies, optional dailies; a Friday
  holiday moves the expiry to the previous session, e.g. Good Friday 2025-04-18 → Thursday 2025-04-17), not the
  historical dates on which each product was introduced.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import numpy as np
import polars as pl

from volengine.data.schema import ET, ExerciseStyle, SettlementTime
from volengine.errors import DataError

CALENDAR = "XNYS"
CALENDAR_START = "1980-01-01"
CALENDAR_END = "2045-12-31"
#: seconds in the 365-day year of ``tte_years``
SECONDS_PER_YEAR = 365.0 * 86_400.0
_NS_PER_YEAR = SECONDS_PER_YEAR * 1e9
_NS_PER_MINUTE = 60 * 10**9
#: minutes before the close of the Cboe DataShop "15:45" snapshot
CBOE_SNAPSHOT_LEAD_MINUTES = 15
#: ``snapshot`` values (schema ``option_quotes.snapshot``) taken before the close
_PRE_CLOSE_SNAPSHOTS = {"cboe_1545": CBOE_SNAPSHOT_LEAD_MINUTES}
_QUARTER_MONTHS = (3, 6, 9, 12)

DatesLike = pl.Series | np.ndarray | Sequence[Any] | dt.date | str
Settlement = Literal["AM", "PM"]


@dataclass(frozen=True)
class Product:
    """Listing facts of one underlying.

    ``am_root`` is the root of AM-settled standard monthlies (``SPX``) or None; ``pm_root`` is the root of the
    PM-settled series (weeklies, dailies, and for ETFs/stocks every series).
    """

    style: Literal["american", "european"]
    pm_root: str
    am_root: str | None = None
    has_weeklies: bool = True


#: known products; any other symbol is an American, PM-settled stock with monthlies only
PRODUCTS: dict[str, Product] = {
    "SPX": Product("european", pm_root="SPXW", am_root="SPX"),
    "NDX": Product("european", pm_root="NDXP", am_root="NDX"),
    "RUT": Product("european", pm_root="RUTW", am_root="RUT"),
    "XSP": Product("european", pm_root="XSP"),
    "SPY": Product("american", pm_root="SPY"),
    "QQQ": Product("american", pm_root="QQQ"),
    "IWM": Product("american", pm_root="IWM"),
    "DIA": Product("american", pm_root="DIA"),
}
#: roots whose series settle AM on the Special Opening Quotation
AM_ROOTS = frozenset(p.am_root for p in PRODUCTS.values() if p.am_root)


@dataclass(frozen=True)
class _Xnys:
    days: np.ndarray  # int32 days since 1970-01-01 of every session, ascending
    opens_ns: np.ndarray  # int64 UTC epoch ns of each session open
    closes_ns: np.ndarray  # int64 UTC epoch ns of each session close


@lru_cache(maxsize=1)
def _xnys() -> _Xnys:
    import exchange_calendars as xcals

    # exchange_calendars 4.x trips pandas 3 deprecation warnings inside its constructor; they are not ours
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        cal = xcals.get_calendar(CALENDAR, start=CALENDAR_START, end=CALENDAR_END)
        days = (np.asarray(cal.sessions_nanos, dtype=np.int64) // (86_400 * 10**9)).astype(np.int32)
        opens = np.array(cal.opens_nanos, dtype=np.int64)
        closes = np.array(cal.closes_nanos, dtype=np.int64)
    for arr in (days, opens, closes):
        arr.flags.writeable = False
    return _Xnys(days, opens, closes)


# --------------------------------------------------------------------------------------------- conversions


def _as_date_series(dates: DatesLike, name: str = "date") -> pl.Series:
    """Any date-like input as a ``pl.Date`` Series (datetimes become their ET date)."""
    if isinstance(dates, pl.Series):
        s = dates
    elif isinstance(dates, np.ndarray):
        s = pl.Series(name, dates.astype("datetime64[D]") if dates.dtype.kind == "M" else dates)
    elif isinstance(dates, dt.date | str):
        s = pl.Series(name, [dates])
    else:
        s = pl.Series(name, list(dates))
    if s.dtype == pl.String:
        s = s.str.to_date()
    elif isinstance(s.dtype, pl.Datetime):
        s = (s.dt.convert_time_zone(ET) if s.dtype.time_zone else s).dt.date()  # type: ignore[union-attr]
    elif s.dtype == pl.Null:
        s = s.cast(pl.Date)
    if s.dtype != pl.Date:
        msg = f"{name} must be dates; got dtype {s.dtype}"
        raise DataError(msg, column=name)
    return s.alias(name)


def _days(s: pl.Series) -> np.ndarray:
    """int64 days since epoch of a Date Series (nulls as 0; callers mask them)."""
    return s.to_physical().fill_null(0).to_numpy().astype(np.int64)


def _check_range(days: np.ndarray, valid: np.ndarray, what: str) -> None:
    cal = _xnys()
    lo, hi = int(cal.days[0]), int(cal.days[-1])
    bad = valid & ((days < lo) | (days > hi))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        value, first, last = _from_days(int(days[row])), _from_days(lo), _from_days(hi)
        msg = f"{what} must be within the {CALENDAR} calendar {first}..{last}; got {value} at row {row}"
        raise DataError(msg, column=what, row=row, value=value)


def _masked(out: pl.Series, valid: np.ndarray) -> pl.Series:
    """``out`` with nulls where ``valid`` is False."""
    if valid.all():
        return out
    return pl.select(pl.when(pl.lit(pl.Series(valid))).then(out)).to_series().alias(out.name)


def _date_out(days: np.ndarray, valid: np.ndarray, name: str) -> pl.Series:
    return _masked(pl.Series(name, days.astype(np.int32)).cast(pl.Date), valid)


def _local_ns(days: np.ndarray, minutes: int) -> np.ndarray:
    """UTC epoch ns of ``minutes`` after midnight ET on each day (for dates that are not sessions)."""
    s = pl.Series(days.astype(np.int32)).cast(pl.Date).cast(pl.Datetime("ns"))
    local = (s + dt.timedelta(minutes=minutes)).dt.replace_time_zone(ET, ambiguous="earliest", non_existent="null")
    return local.dt.cast_time_unit("ns").to_physical().fill_null(0).to_numpy()


def _ns_to_et(ns: np.ndarray, valid: np.ndarray, name: str) -> pl.Series:
    return _masked(pl.Series(name, ns.astype(np.int64)).cast(pl.Datetime("ns", ET)), valid)


def _from_days(day: int) -> dt.date:
    return dt.date(1970, 1, 1) + dt.timedelta(days=day)


# ------------------------------------------------------------------------------------------------- sessions


def sessions(start: dt.date | str, end: dt.date | str) -> pl.Series:
    """XNYS sessions in ``[start, end]`` (inclusive), ascending, as a ``pl.Date`` Series named ``date``.

    Examples
    --------
    >>> sessions("2024-03-27", "2024-04-02").to_list()
    [datetime.date(2024, 3, 27), datetime.date(2024, 3, 28), datetime.date(2024, 4, 1), datetime.date(2024, 4, 2)]
    """
    lo, hi = (_days(_as_date_series(x))[0] for x in (start, end))
    cal = _xnys()
    _check_range(np.array([lo, hi]), np.array([True, True]), "start/end")
    sel = cal.days[np.searchsorted(cal.days, lo, "left") : np.searchsorted(cal.days, hi, "right")]
    return pl.Series("date", sel).cast(pl.Date)


def _lookup(dates: DatesLike, what: str = "date") -> tuple[pl.Series, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(series, days, valid, index of the first session >= day, is_session) for each date."""
    s = _as_date_series(dates, what)
    days = _days(s)
    valid = s.is_not_null().to_numpy()
    _check_range(days, valid, what)
    cal = _xnys()
    idx = np.searchsorted(cal.days, days, "left")
    hit = valid & (cal.days[np.minimum(idx, len(cal.days) - 1)] == days)
    return s, days, valid, idx, hit


def is_session(dates: DatesLike) -> pl.Series:
    """Whether each date is an XNYS session (Boolean Series; null stays null)."""
    _, _, valid, _, hit = _lookup(dates)
    out = pl.Series("is_session", hit)
    return _masked(out, valid)


def next_session(dates: DatesLike) -> pl.Series:
    """The first XNYS session strictly after each date (``pl.Date``)."""
    _, _, valid, idx, hit = _lookup(dates)
    cal = _xnys()
    nxt = idx + hit.astype(np.int64)
    if (valid & (nxt >= len(cal.days))).any():
        msg = f"next_session: a date is on or after the last {CALENDAR} session {_from_days(int(cal.days[-1]))}"
        raise DataError(msg)
    return _date_out(cal.days[np.minimum(nxt, len(cal.days) - 1)], valid, "next_session")


def previous_session(dates: DatesLike) -> pl.Series:
    """The last XNYS session strictly before each date (``pl.Date``)."""
    _, _, valid, idx, _ = _lookup(dates)
    cal = _xnys()
    prv = idx - 1
    if (valid & (prv < 0)).any():
        msg = f"previous_session: a date is on or before the first {CALENDAR} session {_from_days(int(cal.days[0]))}"
        raise DataError(msg)
    return _date_out(cal.days[np.maximum(prv, 0)], valid, "previous_session")


def _rollback_days(days: np.ndarray) -> np.ndarray:
    """Each day if it is a session, else the previous session (int64 days)."""
    cal = _xnys()
    return cal.days[np.searchsorted(cal.days, days, "right") - 1].astype(np.int64)


def session_open_time(dates: DatesLike) -> pl.Series:
    """The open of each date's session (09:30 ET); null for dates that are not sessions."""
    _, _, _, idx, hit = _lookup(dates)
    cal = _xnys()
    ns = cal.opens_ns[np.minimum(idx, len(cal.days) - 1)]
    return _ns_to_et(ns, hit, "session_open")


def session_close_time(dates: DatesLike) -> pl.Series:
    """The close of each date's session (16:00 ET, 13:00 on early closes); null for non-sessions.

    Examples
    --------
    >>> session_close_time(["2024-11-29"]).dt.strftime("%H:%M").to_list()
    ['13:00']
    """
    _, _, _, idx, hit = _lookup(dates)
    cal = _xnys()
    ns = cal.closes_ns[np.minimum(idx, len(cal.days) - 1)]
    return _ns_to_et(ns, hit, "session_close")


def _open_close_ns(dates: DatesLike, *, use_close: bool, what: str) -> tuple[np.ndarray, np.ndarray]:
    """UTC ns of each date's session open/close; for non-sessions 09:30/16:00 local time of that date."""
    _, days, valid, idx, hit = _lookup(dates, what)
    cal = _xnys()
    table = cal.closes_ns if use_close else cal.opens_ns
    ns = table[np.minimum(idx, len(cal.days) - 1)]
    if (valid & ~hit).any():
        ns = np.where(hit, ns, _local_ns(days, 16 * 60 if use_close else 9 * 60 + 30))
    return ns, valid


def quote_times(dates: DatesLike, snapshot: pl.Series | str | None = None) -> pl.Series:
    """The time a daily quote refers to: the session close, or 15 minutes before it for ``cboe_1545``.

    ``snapshot`` is the ``option_quotes.snapshot`` value per row (or one for all); other snapshots (``eod_1600``,
    ``cboe_eod``, ``near_eod``, ``day_agg``, ``synthetic``, None) map to the close. Dates that are not sessions
    use 16:00 ET of that date.
    """
    ns, valid = _open_close_ns(dates, use_close=True, what="date")
    if snapshot is not None:
        snap = pl.Series([snapshot] * len(ns)) if isinstance(snapshot, str) else snapshot
        lead = snap.cast(pl.String).replace_strict(_PRE_CLOSE_SNAPSHOTS, default=0, return_dtype=pl.Int64)
        ns = ns - lead.fill_null(0).to_numpy() * _NS_PER_MINUTE
    return _ns_to_et(ns, valid, "quote_time")


def settlement_times(expirations: DatesLike, settlement: pl.Series | Sequence[str | None] | str) -> pl.Series:
    """When each series settles: the open (09:30 ET) of the expiration day if AM, its close if PM."""
    open_ns, valid = _open_close_ns(expirations, use_close=False, what="expiration")
    close_ns, _ = _open_close_ns(expirations, use_close=True, what="expiration")
    is_am = _is_am(settlement, len(open_ns))
    return _ns_to_et(np.where(is_am, open_ns, close_ns), valid, "settlement_time")


def _is_am(settlement: pl.Series | Sequence[str | None] | str, n: int) -> np.ndarray:
    if isinstance(settlement, str):
        if settlement not in ("AM", "PM"):
            msg = f"settlement must be 'AM' or 'PM'; got {settlement!r}"
            raise DataError(msg, column="settlement", value=settlement)
        return np.full(n, settlement == "AM")
    s = (settlement if isinstance(settlement, pl.Series) else pl.Series(list(settlement))).cast(pl.String)
    bad = s.is_not_null() & ~s.is_in(["AM", "PM"])
    if bad.any():
        row = int(bad.arg_true()[0])
        msg = f"settlement must be 'AM' or 'PM'; got {s[row]!r} at row {row}"
        raise DataError(msg, column="settlement", row=row, value=s[row])
    if len(s) != n:
        msg = f"settlement has {len(s)} rows; expected {n}"
        raise DataError(msg, column="settlement")
    return (s == "AM").fill_null(value=False).to_numpy()


# ---------------------------------------------------------------------------------------- DTE and TTE


def _pair(dates: DatesLike, expirations: DatesLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d, e = _as_date_series(dates, "date"), _as_date_series(expirations, "expiration")
    if len(d) == 1 and len(e) > 1:
        d = pl.Series("date", [d[0]] * len(e), dtype=pl.Date)
    if len(e) == 1 and len(d) > 1:
        e = pl.Series("expiration", [e[0]] * len(d), dtype=pl.Date)
    if len(d) != len(e):
        msg = f"dates and expirations must have the same length; got {len(d)} and {len(e)}"
        raise DataError(msg)
    valid = (d.is_not_null() & e.is_not_null()).to_numpy()
    return _days(d), _days(e), valid


def dte_calendar(dates: DatesLike, expirations: DatesLike) -> pl.Series:
    """Calendar days to expiry, ``expiration - date`` (Int32; negative once expired)."""
    d, e, valid = _pair(dates, expirations)
    out = pl.Series("dte_calendar", (e - d).astype(np.int32))
    return _masked(out, valid)


def dte_trading(dates: DatesLike, expirations: DatesLike) -> pl.Series:
    """XNYS sessions strictly after ``date`` up to and including ``expiration`` (Int32; negative once expired).

    Examples
    --------
    >>> dte_trading(["2024-03-28"], ["2024-04-02"]).to_list()  # Good Friday 03-29 is closed
    [2]
    """
    d, e, valid = _pair(dates, expirations)
    _check_range(np.concatenate([d, e]), np.concatenate([valid, valid]), "date/expiration")
    cal = _xnys()
    n = np.searchsorted(cal.days, e, "right") - np.searchsorted(cal.days, d, "right")
    out = pl.Series("dte_trading", n.astype(np.int32))
    return _masked(out, valid)


def tte_years(
    quote: DatesLike,
    expirations: DatesLike,
    settlement: pl.Series | Sequence[str | None] | str,
) -> pl.Series:
    """Time to expiry in years of 365 days, from the quote time to the settlement time (Float64).

    Parameters
    ----------
    quote : Date or Datetime Series (or dates/strings) of shape (n,) or one value
        A date means the session close of that date (16:00 ET, 13:00 on early closes); a datetime is used as
        given (naive datetimes are ET), e.g. a 15:45 ET Cboe snapshot from :func:`quote_times`.
    expirations : Date Series of shape (n,) or one value
    settlement : "AM", "PM", or a Series of them
        AM settles at the open (09:30 ET) of the expiration day, PM at its close.

    Returns
    -------
    pl.Series
        ``(settlement_time - quote_time) / (365 * 86400 s)``; ``<= 0`` once the series has expired.

    Examples
    --------
    >>> am, pm = (tte_years(["2024-03-14"], ["2024-03-15"], s)[0] for s in ("AM", "PM"))
    >>> round((pm - am) * 365 * 24, 6)
    6.5
    """
    qs = quote if isinstance(quote, pl.Series) else _series_of(quote)
    if isinstance(qs.dtype, pl.Datetime):
        zone = qs.dtype.time_zone  # type: ignore[union-attr]
        q = (qs.dt.convert_time_zone("UTC") if zone else qs.dt.replace_time_zone(ET)).dt.cast_time_unit("ns")
        q_ns, q_valid = q.to_physical().fill_null(0).to_numpy(), q.is_not_null().to_numpy()
    else:
        q_ns, q_valid = _open_close_ns(qs, use_close=True, what="date")
    e = _as_date_series(expirations, "expiration")
    n = max(len(q_ns), len(e))
    q_ns, q_valid = np.broadcast_to(q_ns, n), np.broadcast_to(q_valid, n)
    if len(e) == 1 and n > 1:
        e = pl.Series("expiration", [e[0]] * n, dtype=pl.Date)
    if len(e) != n:
        msg = f"quote and expirations must have the same length; got {len(q_ns)} and {len(e)}"
        raise DataError(msg)
    settle = settlement_times(e, settlement)
    s_ns = settle.to_physical().fill_null(0).to_numpy()
    valid = q_valid & settle.is_not_null().to_numpy()
    out = pl.Series("tte_years", (s_ns - q_ns) / _NS_PER_YEAR)
    return _masked(out, valid)


def _series_of(values: Any) -> pl.Series:
    if isinstance(values, np.ndarray):
        return pl.Series("quote", values)
    if isinstance(values, dt.date | str):
        values = [values]
    s = pl.Series("quote", list(values))
    return s.str.to_date() if s.dtype == pl.String else s


# ----------------------------------------------------------------------------------------------- expiries


def _third_fridays(first: np.ndarray) -> np.ndarray:
    """Third Friday (days since epoch) of the months starting at ``first`` (days since epoch)."""
    weekday = (first + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    return first + (4 - weekday) % 7 + 14


def _month_starts(lo: int, hi: int) -> np.ndarray:
    a = np.datetime64(_from_days(lo), "M")
    b = np.datetime64(_from_days(hi), "M")
    return np.arange(a, b + 1).astype("datetime64[D]").astype(np.int64)


def _clip_calendar(lo: int, hi: int) -> tuple[int, int]:
    _check_range(np.array([lo, hi]), np.array([True, True]), "start/end")
    return lo, hi


def monthly_expiries(start: dt.date | str, end: dt.date | str) -> pl.Series:
    """Standard monthly expirations in ``[start, end]``: third Fridays, or the previous session on a holiday.

    Examples
    --------
    >>> monthly_expiries("2025-04-01", "2025-04-30").to_list()  # Good Friday 2025-04-18
    [datetime.date(2025, 4, 17)]
    """
    lo, hi = _clip_calendar(*(int(_days(_as_date_series(x))[0]) for x in (start, end)))
    exp = _rollback_days(_third_fridays(_month_starts(lo, hi)))
    return pl.Series("expiration", exp[(exp >= lo) & (exp <= hi)].astype(np.int32)).cast(pl.Date)


def weekly_expiries(start: dt.date | str, end: dt.date | str) -> pl.Series:
    """Friday expirations in ``[start, end]`` (the previous session when Friday is a holiday), monthlies included."""
    lo, hi = _clip_calendar(*(int(_days(_as_date_series(x))[0]) for x in (start, end)))
    first_friday = lo + (4 - (lo + 3) % 7) % 7
    fridays = np.arange(first_friday, hi + 7, 7, dtype=np.int64)
    exp = np.unique(_rollback_days(fridays))
    return pl.Series("expiration", exp[(exp >= lo) & (exp <= hi)].astype(np.int32)).cast(pl.Date)


def product(underlying: str) -> Product:
    """The :class:`Product` of a symbol (unknown symbols: American, PM, root = symbol, monthlies only)."""
    return PRODUCTS.get(underlying, Product("american", pm_root=underlying, has_weeklies=False))


def settlement_for(underlying: str, root: str | None = None, expiration: dt.date | str | None = None) -> Settlement:
    """AM or PM settlement of one series, from its root (the series metadata), else from the date.

    A root in :data:`AM_ROOTS` (``SPX``, ``NDX``, ``RUT``) settles AM; any other root PM. Without a root, an index
    with AM monthlies settles AM on a standard monthly expiration and PM otherwise.

    Examples
    --------
    >>> settlement_for("SPX", "SPX"), settlement_for("SPX", "SPXW"), settlement_for("SPY", "SPY")
    ('AM', 'PM', 'PM')
    """
    if root is not None:
        return "AM" if root in AM_ROOTS else "PM"
    p = product(underlying)
    if p.am_root is None or expiration is None:
        return "PM"
    exp = _as_date_series(expiration, "expiration")
    return "AM" if bool(monthly_expiries(exp[0], exp[0]).len()) else "PM"


def settlement_expr(root: str = "root") -> pl.Expr:
    """Polars expression of the settlement (``SettlementTime`` enum) of each row from its root column."""
    return (
        pl.when(pl.col(root).cast(pl.String).is_in(sorted(AM_ROOTS)))
        .then(pl.lit("AM"))
        .otherwise(pl.lit("PM"))
        .cast(SettlementTime)
        .alias("settlement")
    )


def listed_expiries(
    dates: DatesLike,
    underlying: str,
    max_days: int = 60,
    *,
    min_days: int = 0,
    use_weeklies: bool | None = None,
    use_daily: bool = False,
) -> pl.DataFrame:
    """Expirations listed on each date within ``[min_days, max_days]`` calendar days, one row per (date, root).

    Parameters
    ----------
    dates : date or Date Series of shape (n,)
    underlying : str
        Symbol; :data:`PRODUCTS` gives its roots, style and whether it lists weeklies.
    max_days, min_days : int
        Calendar-day window of ``expiration - date``.
    use_weeklies : bool or None
        Friday weeklies (None: the product's default).
    use_daily : bool
        Every session is an expiry of the PM root (SPXW/SPY/QQQ dailies).

    Returns
    -------
    pl.DataFrame
        ``date, expiration, root, settlement, style, is_monthly, is_quarterly`` sorted by date, expiration,
        root. ``is_monthly`` marks the standard monthly date (third Friday, holiday-shifted) for every root on
        it; ``is_quarterly`` a monthly in March, June, September or December. AM-settled monthlies stop trading
        the session before expiration, so they are listed only while ``expiration > date``.

    Examples
    --------
    >>> listed_expiries("2024-03-14", "SPX", 1)["root"].to_list()
    ['SPX', 'SPXW']
    """
    d = _as_date_series(dates, "date").drop_nulls().unique().sort()
    if d.is_empty():
        return _empty_listing()
    p = product(underlying)
    weeklies = p.has_weeklies if use_weeklies is None else use_weeklies
    lo, hi = int(_days(d)[0]) + min_days, int(_days(d)[-1]) + max_days
    cal = _xnys()
    hi = min(hi, int(cal.days[-1]))
    monthly = monthly_expiries(_from_days(lo), _from_days(hi))
    pm = [monthly]
    if weeklies:
        pm.append(weekly_expiries(_from_days(lo), _from_days(hi)))
    if use_daily:
        pm.append(sessions(_from_days(lo), _from_days(hi)).alias("expiration"))
    cands = pl.DataFrame({"expiration": pl.concat(pm).unique()}).with_columns(root=pl.lit(p.pm_root))
    if p.am_root is not None:
        cands = pl.concat([cands, pl.DataFrame({"expiration": monthly}).with_columns(root=pl.lit(p.am_root))])
    cands = cands.with_columns(
        is_am=pl.col("root").is_in(sorted(AM_ROOTS)),
        is_monthly=pl.col("expiration").is_in(monthly.implode()),
    )
    out = (
        pl.DataFrame({"date": d})
        .lazy()
        .with_columns(
            _lo=pl.col("date") + pl.duration(days=min_days),
            _hi=pl.col("date") + pl.duration(days=max_days),
        )
        .join_where(cands.lazy(), pl.col("expiration") >= pl.col("_lo"), pl.col("expiration") <= pl.col("_hi"))
        .filter(~pl.col("is_am") | (pl.col("expiration") > pl.col("date")))
        .select(
            "date",
            "expiration",
            pl.col("root").cast(pl.Categorical),
            pl.when("is_am").then(pl.lit("AM")).otherwise(pl.lit("PM")).cast(SettlementTime).alias("settlement"),
            pl.lit(p.style).cast(ExerciseStyle).alias("style"),
            "is_monthly",
            (pl.col("is_monthly") & pl.col("expiration").dt.month().is_in(_QUARTER_MONTHS)).alias("is_quarterly"),
        )
        .sort("date", "expiration", pl.col("root").cast(pl.String))
        .collect()
    )
    return out


def _empty_listing() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "date": pl.Date,
            "expiration": pl.Date,
            "root": pl.Categorical,
            "settlement": SettlementTime,
            "style": ExerciseStyle,
            "is_monthly": pl.Boolean,
            "is_quarterly": pl.Boolean,
        }
    )


# ------------------------------------------------------------------------------------------------ watermark


def expected_session(as_of: dt.date | str | None = None) -> dt.date:
    """The session whose data should be in the store on ``as_of``: the last session strictly before it.

    ``as_of`` defaults to today in New York.
    """
    if as_of is None:
        from zoneinfo import ZoneInfo

        as_of = dt.datetime.now(ZoneInfo(ET)).date()
    return previous_session(as_of)[0]  # type: ignore[no-any-return]


def staleness(data_max_date: dt.date | str, as_of: dt.date | str | None = None) -> int:
    """Trading days the data lags the expected session: sessions in ``(data_max_date, expected_session]``.

    Zero when the data reaches (or passes) the expected previous session.

    Examples
    --------
    >>> staleness("2024-03-27", "2024-04-02")  # expected 04-01; missing 03-28 and 04-01
    2
    """
    lag = int(dte_trading([data_max_date], [expected_session(as_of)])[0])
    return max(lag, 0)


def is_stale(data_max_date: dt.date | str, as_of: dt.date | str | None = None, max_days: int = 3) -> bool:
    """Whether the data is more than ``max_days`` trading days behind the expected previous session."""
    return staleness(data_max_date, as_of) > max_days
