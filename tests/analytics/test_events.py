"""Event volatility: baseline cases, premium and implied-move arithmetic, window, upcoming vs past events,
AMC vs BMO reaction sessions, market-wide vs single-name events, and no look-ahead."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest
from numpy.testing import assert_allclose
from polars.testing import assert_frame_equal

from volengine.analytics.events import event_features
from volengine.config.edges import EventVolSettings
from volengine.config.enums import EventType
from volengine.data.schema import EVENTS, MARKET_WIDE
from volengine.errors import SchemaError

D = dt.date


def _expiries(rows: list[tuple[str, dt.date, int, float]]) -> pl.DataFrame:
    """(underlying, date, dte, atm_iv) rows; expiration = date + dte, t = dte / 365."""
    u, day, dte, iv = (list(c) for c in zip(*rows, strict=True))
    frame = pl.DataFrame(
        {
            "underlying": pl.Series(u, dtype=pl.Categorical),
            "date": pl.Series(day, dtype=pl.Date),
            "dte": pl.Series(dte, dtype=pl.Int32),
            "atm_iv": pl.Series(iv, dtype=pl.Float64),
        }
    )
    frame = frame.with_columns(
        (pl.col("date") + pl.duration(days=pl.col("dte"))).alias("expiration"),
        (pl.col("dte").cast(pl.Float64) / 365.0).alias("t"),
        pl.lit(100.0).alias("forward"),
        pl.lit(100.0).alias("spot"),
    )
    return frame.select("underlying", "date", "expiration", "dte", "t", "atm_iv", "forward", "spot").sort(
        "underlying", "date", "expiration"
    )


def _events(rows: list[tuple[dt.date, str, str, str]]) -> pl.DataFrame:
    """(date, underlying, kind, timing) rows in the canonical events schema."""
    if not rows:
        return pl.DataFrame(schema=EVENTS)
    day, u, kind, timing = (list(c) for c in zip(*rows, strict=True))
    return pl.DataFrame(
        {"date": day, "underlying": u, "kind": kind, "timing": timing, "description": [""] * len(rows)},
        schema=EVENTS,
    )


def _bars(underlying: str, days: list[dt.date], log_returns: list[float]) -> pl.DataFrame:
    close = 100.0 * np.exp(np.cumsum(log_returns))
    return pl.DataFrame(
        {
            "underlying": pl.Series([underlying] * len(days), dtype=pl.Categorical),
            "date": pl.Series(days, dtype=pl.Date),
            "close": close,
        }
    )


NO_BARS = pl.DataFrame(
    {"underlying": pl.Series([], dtype=pl.Categorical), "date": pl.Series([], dtype=pl.Date), "close": []}
)

# ---------------------------------------------------------------- baseline cases, one symbol each
# d = Thu 2024-02-29; each symbol reports before the open on Tue 2024-03-05: event DTE 5.
# before: DTE < 5 - 3 = 2; after: DTE > 5 + 7 = 12 (and later than the event expiry); event expiry: first
# expiration strictly after 03-05, i.e. DTE 8 (03-08); the DTE-5 expiry on the event date itself is not it.
DAY = D(2024, 2, 29)
EVENT = D(2024, 3, 5)
BASELINE_CHAIN = [
    ("BOTH", DAY, 1, 0.20),
    ("BOTH", DAY, 5, 0.50),
    ("BOTH", DAY, 8, 0.35),
    ("BOTH", DAY, 15, 0.24),
    ("BOTH", DAY, 22, 0.23),
    ("BEFORE", DAY, 1, 0.20),
    ("BEFORE", DAY, 8, 0.35),
    ("BEFORE", DAY, 12, 0.30),  # DTE 12 is not > 12
    ("AFTER", DAY, 2, 0.19),  # DTE 2 is not < 2
    ("AFTER", DAY, 8, 0.35),
    ("AFTER", DAY, 15, 0.24),
    ("AFTER", DAY, 22, 0.23),
    ("MEDIAN", DAY, 2, 0.19),
    ("MEDIAN", DAY, 8, 0.35),
    ("MEDIAN", DAY, 12, 0.30),
    ("FALLBACK", DAY, 8, 0.35),
    ("FALLBACK", DAY, 15, float("nan")),  # no IV: only one expiry has one
    ("ONLYAFTER", DAY, 30, 0.30),  # the event expiry is DTE 30 and > 12, yet not its own baseline
    ("ONLYAFTER", DAY, 60, 0.20),
]
SYMBOLS = ["BOTH", "BEFORE", "AFTER", "MEDIAN", "FALLBACK", "ONLYAFTER"]


@pytest.fixture
def baseline_rows() -> dict[str, dict[str, object]]:
    events = _events([(EVENT, u, "earnings", "before_open") for u in SYMBOLS])
    out = event_features(_expiries(BASELINE_CHAIN), events, NO_BARS)
    return {str(r["underlying"]): r for r in out.iter_rows(named=True)}


@pytest.mark.parametrize(
    ("symbol", "source", "baseline"),
    [
        ("BOTH", "both", (0.20 + 0.24) / 2),
        ("BEFORE", "before", 0.20),
        ("AFTER", "after", 0.24),
        ("MEDIAN", "median", 0.30),  # median of 0.19, 0.30, 0.35
        ("FALLBACK", "fallback", 0.20),
        ("ONLYAFTER", "after", 0.20),
    ],
)
def test_baseline_cases(baseline_rows: dict[str, dict[str, object]], symbol: str, source: str, baseline: float) -> None:
    row = baseline_rows[symbol]
    assert row["event_baseline_source"] == source
    assert_allclose(row["event_baseline_iv"], baseline, rtol=1e-12)
    assert row["event_baseline_flag"] is (source == "fallback")
    assert row["event_days"] == 5
    assert row["event_date"] == EVENT


def test_event_expiry_is_strictly_after_the_event(baseline_rows: dict[str, dict[str, object]]) -> None:
    row = baseline_rows["BOTH"]
    assert row["event_expiration"] == D(2024, 3, 8)
    assert row["event_expiration_dte"] == 8
    assert row["event_iv"] == 0.35
    assert baseline_rows["ONLYAFTER"]["event_expiration_dte"] == 30


def test_premium_and_implied_move_arithmetic(baseline_rows: dict[str, dict[str, object]]) -> None:
    row = baseline_rows["BOTH"]
    # premium = (0.35 / 0.22 - 1) x 100 = 59.0909...
    assert_allclose(row["event_premium_pct"], (0.35 / 0.22 - 1) * 100, rtol=1e-12)
    assert_allclose(row["event_premium_pct"], 59.090909090909, rtol=1e-10)
    # event variance = (0.35^2 - 0.22^2) x 8/365 = 0.0741 x 0.0219178 = 0.00162411; sqrt = 0.0403003
    assert_allclose(row["event_implied_move_pct"], 100 * math.sqrt(0.0741 * 8 / 365), rtol=1e-12)
    assert_allclose(row["event_implied_move_pct"], 4.03003, rtol=1e-5)
    assert_allclose(row["event_implied_abs_move_pct"], 4.03003 * math.sqrt(2 / math.pi), rtol=1e-5)
    # fallback: (0.35 / 0.20 - 1) x 100 = 75
    assert_allclose(baseline_rows["FALLBACK"]["event_premium_pct"], 75.0, rtol=1e-12)
    # the event expiry is not its own baseline: 0.30 against the DTE-60 IV 0.20, not against itself
    row = baseline_rows["ONLYAFTER"]
    assert_allclose(row["event_premium_pct"], 50.0, rtol=1e-12)
    row = baseline_rows["MEDIAN"]
    assert_allclose(row["event_premium_pct"], (0.35 / 0.30 - 1) * 100, rtol=1e-12)


def test_before_baseline_is_the_last_expiry_before_the_gap() -> None:
    chain = [("G", DAY, 1, 0.20), ("G", DAY, 3, 0.22), ("G", DAY, 8, 0.35)]
    events = _events([(EVENT, "G", "earnings", "before_open")])
    # gap 0: before = DTE < 5: DTE 1 and 3, the last is DTE 3
    row = event_features(_expiries(chain), events, NO_BARS, EventVolSettings(baseline_before_gap_days=0)).row(
        0, named=True
    )
    assert (row["event_baseline_source"], row["event_baseline_iv"]) == ("before", 0.22)
    # default gap 3: before = DTE < 2: DTE 1 only
    row = event_features(_expiries(chain), events, NO_BARS).row(0, named=True)
    assert (row["event_baseline_source"], row["event_baseline_iv"]) == ("before", 0.20)


def test_event_iv_below_baseline_gives_zero_move() -> None:
    chain = [("X", DAY, 1, 0.40), ("X", DAY, 8, 0.30), ("X", DAY, 15, 0.40)]
    row = event_features(_expiries(chain), _events([(EVENT, "X", "earnings", "during")]), NO_BARS).row(0, named=True)
    assert_allclose(row["event_premium_pct"], -25.0, rtol=1e-12)
    assert row["event_implied_move_pct"] == 0.0
    assert row["event_hist_count"] == 0
    assert row["event_hist_move_pct"] is None
    assert row["event_move_ratio"] is None


# ---------------------------------------------------------------- window and upcoming rule


def test_window_is_inclusive_at_five_days() -> None:
    chain = [("W", D(2024, 3, 1), 10, 0.3), ("W", D(2024, 3, 2), 9, 0.3), ("W", D(2024, 3, 2), 20, 0.2)]
    events = _events([(D(2024, 3, 7), "W", "earnings", "before_open")])
    out = event_features(_expiries(chain), events, NO_BARS)
    assert out["date"].to_list() == [D(2024, 3, 1), D(2024, 3, 2)]
    six, five = out.row(0, named=True), out.row(1, named=True)
    assert all(v is None for k, v in six.items() if k.startswith("event_"))  # 6 days out
    assert five["event_days"] == 5
    narrow = event_features(_expiries(chain), events, NO_BARS, EventVolSettings(days_before_event=4))
    assert narrow["event_date"].null_count() == 2


@pytest.mark.parametrize(
    ("timing", "upcoming_on_event_date"),
    [("before_open", False), ("during", False), ("unknown", False), ("after_close", True)],
)
def test_event_on_d_is_upcoming_only_after_the_close(timing: str, upcoming_on_event_date: bool) -> None:
    chain = [("U", D(2024, 3, 5), 3, 0.3), ("U", D(2024, 3, 5), 10, 0.2)]
    events = _events([(D(2024, 3, 5), "U", "earnings", timing)])
    row = event_features(_expiries(chain), events, NO_BARS).row(0, named=True)
    assert (row["event_date"] is not None) is upcoming_on_event_date
    if upcoming_on_event_date:
        assert row["event_days"] == 0
        assert row["event_expiration"] == D(2024, 3, 8)


# ---------------------------------------------------------------- market-wide vs single-name


def test_market_wide_events_apply_to_every_symbol() -> None:
    day = D(2024, 3, 18)
    chain = [(u, day, dte, 0.25) for u in ("AAPL", "MSFT", "IBM", "XOM") for dte in (4, 11, 25)]
    events = _events(
        [
            (D(2024, 3, 20), MARKET_WIDE, "FOMC", "during"),
            (D(2024, 3, 20), "AAPL", "earnings", "after_close"),  # same date: own event first
            (D(2024, 3, 19), "MSFT", "earnings", "after_close"),  # nearer than the FOMC
            (D(2024, 3, 19), "GOOG", "earnings", "after_close"),  # not in the frame: ignored
            (D(2024, 3, 19), "IBM", "other", "before_open"),  # kind 'other' is never used
            (D(2024, 3, 20), "XOM", "GDP", "before_open"),  # own event first, though GDP sorts after FOMC
            (D(2024, 3, 20), "AAPL", "FOMC", "after_close"),  # own copy of a market-wide event replaces it
        ]
    )
    out = event_features(_expiries(chain), events, NO_BARS)
    got = {
        str(r["underlying"]): (r["event_kind"], r["event_date"], r["event_is_market_wide"])
        for r in out.iter_rows(named=True)
    }
    assert got == {
        "AAPL": ("earnings", D(2024, 3, 20), False),
        "MSFT": ("earnings", D(2024, 3, 19), False),
        "IBM": ("FOMC", D(2024, 3, 20), True),
        "XOM": ("GDP", D(2024, 3, 20), False),
    }
    only_fomc = EventVolSettings(event_types=(EventType.FOMC,))
    out = event_features(_expiries(chain), events, NO_BARS, only_fomc)
    assert out["event_kind"].to_list() == ["FOMC"] * 4
    assert out["event_timing"].to_list() == ["after_close", "during", "during", "during"]
    assert out["event_is_market_wide"].to_list() == [False, True, True, True]


# ---------------------------------------------------------------- historical moves and look-ahead

# sessions: weekdays 2024-01-02 .. 2024-03-15 without Mon 2024-02-19 (Presidents' Day)
SESSIONS = [
    D(2024, 1, 2) + dt.timedelta(days=i)
    for i in range(74)
    if (D(2024, 1, 2) + dt.timedelta(days=i)).weekday() < 5 and D(2024, 1, 2) + dt.timedelta(days=i) != D(2024, 2, 19)
]
# log return of each session's close; 0.001 except on these sessions
MOVES = {
    D(2024, 1, 10): -0.03,  # earnings before the open on 01-10: reaction the same session
    D(2024, 1, 11): 0.02,  # CPI before the open
    D(2024, 2, 1): 0.009,  # the day of an after-close report: not its reaction
    D(2024, 2, 2): 0.05,  # reaction to 02-01 after the close
    D(2024, 2, 13): -0.01,  # CPI
    D(2024, 2, 16): 0.008,  # Friday after-close report ...
    D(2024, 2, 20): -0.07,  # ... reacts on Tuesday: Monday 02-19 has no session
    D(2024, 2, 28): 0.015,  # GDP
}
HIST_EVENTS = [
    (D(2024, 1, 10), "AAPL", "earnings", "before_open"),
    (D(2024, 1, 11), MARKET_WIDE, "CPI", "before_open"),
    (D(2024, 2, 1), "AAPL", "earnings", "after_close"),
    (D(2024, 2, 13), MARKET_WIDE, "CPI", "before_open"),
    (D(2024, 2, 16), "AAPL", "earnings", "after_close"),
    (D(2024, 2, 20), "AAPL", "earnings", "before_open"),  # a second calendar entry for the same reaction
    (D(2024, 2, 28), MARKET_WIDE, "GDP", "before_open"),
    (D(2024, 2, 29), MARKET_WIDE, "GDP", "before_open"),
    (D(2024, 3, 7), "AAPL", "earnings", "after_close"),
    (D(2024, 3, 12), MARKET_WIDE, "CPI", "before_open"),
]


def _hist_inputs() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    bars = _bars("AAPL", SESSIONS, [MOVES.get(s, 0.001) for s in SESSIONS])
    chain = []
    for day in SESSIONS:
        fridays = [day + dt.timedelta(days=k) for k in range(1, 50) if (day + dt.timedelta(days=k)).weekday() == 4]
        chain += [("AAPL", day, (f - day).days, 0.30 - 0.002 * i) for i, f in enumerate(fridays)]
    return _expiries(chain), _events(HIST_EVENTS), bars


@pytest.fixture(scope="module")
def hist_rows() -> dict[dt.date, dict[str, object]]:
    out = event_features(*_hist_inputs())
    return {r["date"]: r for r in out.iter_rows(named=True)}


@pytest.mark.parametrize(
    ("day", "kind", "event_date", "moves"),
    [
        (D(2024, 1, 9), "earnings", D(2024, 1, 10), []),
        (D(2024, 1, 10), "CPI", D(2024, 1, 11), []),  # the 01-10 report is in 01-10's close: not upcoming
        (D(2024, 2, 1), "earnings", D(2024, 2, 1), [0.03]),  # after the close of d: still upcoming
        (D(2024, 2, 12), "CPI", D(2024, 2, 13), [0.02]),
        (D(2024, 2, 16), "earnings", D(2024, 2, 16), [0.03, 0.05]),  # reacts 02-20; 02-02's move is in
        (D(2024, 2, 28), "GDP", D(2024, 2, 29), [0.015]),  # a reaction on d itself is in the history
        (D(2024, 3, 4), "earnings", D(2024, 3, 7), [0.03, 0.05, 0.07]),  # 02-20 counted once
        (D(2024, 3, 8), "CPI", D(2024, 3, 12), [0.02, 0.01]),
    ],
)
def test_historical_moves(
    hist_rows: dict[dt.date, dict[str, object]],
    day: dt.date,
    kind: str,
    event_date: dt.date,
    moves: list[float],
) -> None:
    row = hist_rows[day]
    assert (row["event_kind"], row["event_date"]) == (kind, event_date)
    assert row["event_hist_count"] == len(moves)
    if moves:
        assert_allclose(row["event_hist_move_pct"], 100 * np.mean(moves), rtol=1e-9)
        assert_allclose(row["event_move_ratio"], row["event_implied_abs_move_pct"] / (100 * np.mean(moves)))
    else:
        assert row["event_hist_move_pct"] is None


def test_days_without_an_event_are_null(hist_rows: dict[dt.date, dict[str, object]]) -> None:
    # 02-20: the 02-16 report has reacted, the next event (03-07) is 16 days away
    row = hist_rows[D(2024, 2, 20)]
    assert all(v is None for k, v in row.items() if k.startswith("event_"))
    assert len(hist_rows) == len(SESSIONS)


def test_adjusted_close_is_preferred_for_returns() -> None:
    expiries, events, bars = _hist_inputs()
    # a 2:1 split on 02-02 in the raw close; the adjusted close carries the true return
    raw = bars.with_columns(
        pl.when(pl.col("date") >= D(2024, 2, 2)).then(pl.col("close") / 2).otherwise(pl.col("close")).alias("close"),
        pl.col("close").alias("adj_close"),
    )
    got = event_features(expiries, events, raw).filter(pl.col("date") == D(2024, 3, 4))
    assert_allclose(got["event_hist_move_pct"].item(), 100 * np.mean([0.03, 0.05, 0.07]), rtol=1e-9)


@pytest.mark.parametrize(
    "cut", [D(2024, 1, 10), D(2024, 2, 1), D(2024, 2, 16), D(2024, 2, 20), D(2024, 2, 28), D(2024, 3, 7)]
)
def test_no_look_ahead(cut: dt.date) -> None:
    expiries, events, bars = _hist_inputs()
    full = event_features(expiries, events, bars).filter(pl.col("date") == cut)
    truncated = event_features(
        expiries.filter(pl.col("date") <= cut), events, bars.filter(pl.col("date") <= cut)
    ).filter(pl.col("date") == cut)
    assert_frame_equal(full, truncated)


def test_no_events_gives_null_rows() -> None:
    expiries, _, bars = _hist_inputs()
    out = event_features(expiries, _events([]), bars)
    assert out.height == len(SESSIONS)
    assert out["event_date"].null_count() == out.height
    assert out["event_premium_pct"].null_count() == out.height


def test_output_schema_and_errors() -> None:
    expiries, events, bars = _hist_inputs()
    out = event_features(expiries, events, bars)
    assert out.schema["underlying"] == pl.Categorical
    assert out.schema["event_days"] == pl.Int32
    assert out.schema["event_hist_count"] == pl.Int32
    assert out.schema["event_kind"] == pl.String
    assert out.schema["event_baseline_flag"] == pl.Boolean
    with pytest.raises(SchemaError, match="atm_iv"):
        event_features(expiries.drop("atm_iv"), events, bars)
    with pytest.raises(SchemaError, match="timing"):
        event_features(expiries, events.drop("timing"), bars)
