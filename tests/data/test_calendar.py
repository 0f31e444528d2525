"""XNYS sessions, expiry rules, DTE/TTE conventions and the watermark, on dates checked by hand."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from volengine.data import calendar as cal
from volengine.errors import DataError

D = dt.date
HOURS_PER_YEAR = 365 * 24


def test_sessions_skip_weekends_and_holidays() -> None:
    days = cal.sessions("2024-03-27", D(2024, 4, 2))
    assert days.dtype == pl.Date
    assert days.to_list() == [D(2024, 3, 27), D(2024, 3, 28), D(2024, 4, 1), D(2024, 4, 2)]  # Good Friday 03-29
    assert cal.sessions("2024-01-01", "2024-12-31").len() == 252


def test_is_next_previous_session_are_vectorized_and_null_safe() -> None:
    dates = pl.Series([D(2024, 3, 29), D(2024, 3, 28), None, D(2024, 3, 30)])
    assert cal.is_session(dates).to_list() == [False, True, None, False]
    assert cal.next_session(dates).to_list() == [D(2024, 4, 1), D(2024, 4, 1), None, D(2024, 4, 1)]
    assert cal.previous_session(dates).to_list() == [D(2024, 3, 28), D(2024, 3, 27), None, D(2024, 3, 28)]
    as_numpy = np.array(["2024-03-29", "2024-04-01"], dtype="datetime64[D]")
    assert cal.is_session(as_numpy).to_list() == [False, True]


def test_session_close_is_early_close_aware() -> None:
    closes = cal.session_close_time(["2024-11-29", "2024-11-27", "2024-11-28"])
    assert closes.dtype == pl.Datetime("ns", "America/New_York")
    assert closes.dt.strftime("%Y-%m-%d %H:%M").to_list() == ["2024-11-29 13:00", "2024-11-27 16:00", None]
    assert cal.session_open_time(["2024-11-29"]).dt.strftime("%H:%M").to_list() == ["09:30"]
    # 13:00 ET is 18:00 UTC in November (EST) and 17:00 UTC in July (EDT)
    utc = cal.session_close_time(["2024-11-29", "2024-07-03"]).dt.convert_time_zone("UTC")
    assert utc.dt.hour().to_list() == [18, 17]


def test_out_of_range_dates_raise_a_data_error() -> None:
    with pytest.raises(DataError, match="XNYS calendar"):
        cal.is_session(["1970-01-02"])


def test_monthly_expiries_third_friday_and_holiday_shift() -> None:
    march = cal.monthly_expiries("2024-03-01", "2024-03-31").to_list()
    assert march == [D(2024, 3, 15)]  # Good Friday 2024 (03-29) is not the third Friday
    assert cal.monthly_expiries("2025-04-01", "2025-04-30").to_list() == [D(2025, 4, 17)]  # Good Friday 04-18
    year = cal.monthly_expiries("2024-01-01", "2024-12-31")
    assert year.len() == 12
    assert (year.dt.weekday() == 5).all()  # all Fridays in 2024
    assert year.dt.day().is_between(15, 21).all()


def test_weekly_expiries_are_fridays_or_the_thursday_before_a_holiday() -> None:
    weeks = cal.weekly_expiries("2024-03-20", "2024-04-12").to_list()
    assert weeks == [D(2024, 3, 22), D(2024, 3, 28), D(2024, 4, 5), D(2024, 4, 12)]


def test_listed_expiries_roots_settlement_and_flags() -> None:
    spx = cal.listed_expiries("2024-03-14", "SPX", 40)
    assert spx.columns == ["date", "expiration", "root", "settlement", "style", "is_monthly", "is_quarterly"]
    rows = {(r["expiration"], str(r["root"])): r for r in spx.iter_rows(named=True)}
    am = rows[(D(2024, 3, 15), "SPX")]
    assert (am["settlement"], am["style"], am["is_monthly"], am["is_quarterly"]) == ("AM", "european", True, True)
    assert rows[(D(2024, 3, 15), "SPXW")]["settlement"] == "PM"
    assert rows[(D(2024, 3, 28), "SPXW")]["is_monthly"] is False  # Thursday weekly before Good Friday
    assert rows[(D(2024, 4, 19), "SPX")]["is_quarterly"] is False
    # on expiration day the AM monthly no longer trades; the PM weekly (0DTE) does
    today = cal.listed_expiries("2024-03-15", "SPX", 0)
    assert today.select("root").to_series().cast(pl.String).to_list() == ["SPXW"]


def test_listed_expiries_etfs_dailies_and_stocks() -> None:
    spy = cal.listed_expiries("2024-03-11", "SPY", 7)
    assert spy["expiration"].to_list() == [D(2024, 3, 15)]
    assert set(spy["style"]) == {"american"}
    assert set(spy["settlement"]) == {"PM"}
    daily = cal.listed_expiries("2024-03-11", "SPY", 7, use_daily=True)
    assert daily["expiration"].to_list() == cal.sessions("2024-03-11", "2024-03-18").to_list()
    stock = cal.listed_expiries("2024-03-11", "ACME", 60)
    assert stock["expiration"].to_list() == [D(2024, 3, 15), D(2024, 4, 19)]  # monthlies only
    many = cal.listed_expiries(cal.sessions("2024-01-02", "2024-12-31"), "SPY", 30)
    assert many["date"].n_unique() == 252
    assert (many["expiration"] >= many["date"]).all()
    assert ((many["expiration"] - many["date"]).dt.total_days() <= 30).all()


def test_settlement_for_uses_the_root_then_the_date() -> None:
    assert cal.settlement_for("SPX", "SPX") == "AM"
    assert cal.settlement_for("SPX", "SPXW", D(2024, 3, 15)) == "PM"
    assert cal.settlement_for("SPY", "SPY", D(2024, 3, 15)) == "PM"
    assert cal.settlement_for("SPX", None, D(2025, 4, 17)) == "AM"  # holiday-shifted monthly
    assert cal.settlement_for("SPX", None, D(2025, 4, 11)) == "PM"
    frame = pl.DataFrame({"root": ["SPX", "SPXW", "NDX", "QQQ"]})
    assert frame.select(cal.settlement_expr())["settlement"].to_list() == ["AM", "PM", "AM", "PM"]


def test_dte_trading_vs_calendar_by_hand() -> None:
    # Thu 2024-03-28 -> Fri 2024-04-05: Good Friday closed; sessions 04-01, 02, 03, 04, 05
    dates = pl.Series([D(2024, 3, 28), D(2024, 3, 28), D(2024, 4, 5), D(2024, 4, 8)])
    exps = pl.Series([D(2024, 4, 5), D(2024, 3, 29), D(2024, 4, 5), D(2024, 4, 5)])
    assert cal.dte_calendar(dates, exps).to_list() == [8, 1, 0, -3]
    assert cal.dte_trading(dates, exps).to_list() == [5, 0, 0, -1]
    assert cal.dte_trading(D(2024, 3, 28), exps).to_list() == [5, 0, 5, 5]  # one date broadcasts


def test_tte_am_and_pm_differ_by_six_and_a_half_hours() -> None:
    dates = pl.Series([D(2024, 3, 14)] * 2 + [D(2024, 3, 1)] * 2)
    exps = pl.Series([D(2024, 3, 15)] * 4)
    settle = pl.Series(["AM", "PM", "AM", "PM"], dtype=pl.Enum(["AM", "PM"]))
    tte = cal.tte_years(dates, exps, settle).to_numpy()
    np.testing.assert_allclose(tte[1] - tte[0], 6.5 / HOURS_PER_YEAR, rtol=1e-12)
    np.testing.assert_allclose(tte[3] - tte[2], 6.5 / HOURS_PER_YEAR, rtol=1e-12)
    # Thursday 16:00 ET -> Friday 09:30 ET is 17.5 h; -> Friday 16:00 is 24 h
    np.testing.assert_allclose(tte[:2], [17.5 / HOURS_PER_YEAR, 24 / HOURS_PER_YEAR], rtol=1e-12)
    # 14 calendar days across the 2024-03-10 DST change are 14 * 24 - 1 hours of clock time
    np.testing.assert_allclose(tte[3], (14 * 24 - 1) / HOURS_PER_YEAR, rtol=1e-12)


def test_tte_from_snapshot_times_and_early_closes() -> None:
    q = cal.quote_times(["2024-11-29", "2024-11-29"], pl.Series(["cboe_1545", "eod_1600"]))
    assert q.dt.strftime("%H:%M").to_list() == ["12:45", "13:00"]
    tte = cal.tte_years(q, D(2024, 11, 29), "PM").to_numpy()
    np.testing.assert_allclose(tte * HOURS_PER_YEAR, [0.25, 0.0], atol=1e-12)
    naive = pl.Series([dt.datetime(2024, 3, 15, 15, 45)])  # naive datetimes are ET
    np.testing.assert_allclose(cal.tte_years(naive, "2024-03-15", "PM").to_numpy() * HOURS_PER_YEAR, [0.25])


def test_expired_contracts_stay_non_positive() -> None:
    tte = cal.tte_years(["2024-03-15", "2024-03-18", "2024-03-15"], ["2024-03-15"] * 3, ["AM", "PM", "PM"])
    assert tte[0] < 0
    assert tte[1] < 0
    assert tte[2] == 0.0
    with_null = cal.tte_years(pl.Series([D(2024, 3, 1), None]), pl.Series([D(2024, 3, 15)] * 2), "PM")
    assert with_null.null_count() == 1


def test_tte_is_vectorized_over_large_arrays() -> None:
    days = cal.sessions("2015-01-01", "2024-12-31")
    exps = cal.next_session(days)
    tte = cal.tte_years(days, exps, "PM")
    assert tte.len() == days.len()
    assert (tte > 0).all()
    # close to next close: 21 h (early close, DST) up to 99 h (Thu 2015-12-24 13:00 -> Mon 12-28 16:00)
    hours = tte.to_numpy() * HOURS_PER_YEAR
    assert hours.min() == pytest.approx(21.0)
    assert hours.max() == pytest.approx(99.0)


def test_staleness_counts_trading_days_behind_the_expected_session() -> None:
    assert cal.expected_session("2024-04-01") == D(2024, 3, 28)
    assert cal.staleness("2024-03-28", "2024-04-01") == 0  # Good Friday is not a missed day
    assert cal.staleness("2024-03-27", "2024-04-02") == 2  # 03-28 and 04-01 missing
    assert cal.staleness("2024-04-05", "2024-04-02") == 0  # data ahead of the expectation
    assert not cal.is_stale("2024-03-26", "2024-04-02")  # 3 behind (27, 28, 04-01): allowed
    assert cal.is_stale("2024-03-25", "2024-04-02")  # 4 behind
    assert cal.is_stale("2024-03-26", "2024-04-02", max_days=2)
