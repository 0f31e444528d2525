"""Paths of a hand-built put credit spread: fills by the fill model, model marks, settlement at intrinsic."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
from numpy.testing import assert_allclose

from volengine.backtest.paths import build_paths
from volengine.config import Settings, with_overrides
from volengine.data.schema import Right
from volengine.kernels import black_price

DAYS = [dt.date(2024, 3, 11), dt.date(2024, 3, 12), dt.date(2024, 3, 13), dt.date(2024, 3, 14), dt.date(2024, 3, 15)]
EXP = dt.date(2024, 3, 15)


def _contracts() -> pl.DataFrame:
    # (day, strike): (bid, ask); the 90 put has no quote on day 2 (marked from the 85 put's IV)
    quotes = {
        (0, 95): (2.00, 2.20), (0, 90): (0.90, 1.00), (0, 85): (0.40, 0.50),
        (1, 95): (1.80, 2.00), (1, 90): (0.80, 0.90), (1, 85): (0.35, 0.45),
        (2, 95): (2.50, 2.70), (2, 85): (0.50, 0.60),
        (3, 95): (3.00, 3.20), (3, 90): (1.00, 1.10), (3, 85): (0.40, 0.50),
        (4, 95): (4.00, 4.20), (4, 90): (0.00, 0.05), (4, 85): (0.00, 0.05),
    }  # fmt: skip
    rows = []
    for (d, k), (bid, ask) in quotes.items():
        mid = 0.5 * (bid + ask) if bid > 0 else None
        t = (EXP - DAYS[d]).days / 365 + 1e-4
        rows.append({"underlying": "SPY", "date": DAYS[d], "expiration": EXP, "strike": float(k), "right": "P",
                     "bid": bid, "ask": ask, "mid": mid, "iv": 0.30 if mid is not None else float("nan"),
                     "forward": 96.0, "disc": 1.0, "t": t})  # fmt: skip
    return pl.DataFrame(rows).with_columns(pl.col("right").cast(Right))


def _frames() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    structures = pl.DataFrame({
        "candidate": [0], "underlying": ["SPY"], "date": [DAYS[0]], "expiration": [EXP], "n_legs": [2],
        "entry_cashflow_points": [2.00 - 1.00], "max_loss_points": [5.0 - 1.0], "max_profit_points": [1.0],
    })  # fmt: skip
    legs = pl.DataFrame({
        "candidate": [0, 0], "leg": [0, 1], "expiration": [EXP, EXP], "strike": [95.0, 90.0], "right": ["P", "P"],
        "qty": [-1, 1], "settlement": ["PM", "PM"],
    }).with_columns(pl.col("right").cast(Right))  # fmt: skip
    bars = pl.DataFrame({"underlying": ["SPY"] * 5, "date": DAYS, "open": [97.0, 97, 96, 95, 93.5],
                         "close": [97.0, 96.5, 95.5, 94.0, 92.0]})  # fmt: skip
    return structures, legs, bars


def test_conservative_fills_model_marks_and_settlement() -> None:
    s, legs, bars = _frames()
    path, arr = build_paths(s, legs, _contracts(), bars, pl.Series(DAYS), Settings())
    assert arr["off"].tolist() == [0, 4]
    assert arr["day"].tolist() == [1, 2, 3, 4]  # entry on the session after the signal, through expiry
    # entry day 1 (bid/ask): sell the 95 at 1.80, buy the 90 at 0.90 -> +0.90; close: buy 95 at 2.00, sell 90 at 0.80
    assert_allclose(arr["entry_cf"][0], 0.90)
    assert np.isnan(arr["entry_cf"][1:]).all()
    assert_allclose(arr["close_cf"][[0, 2]], [-2.00 + 0.80, -3.20 + 1.00])
    # day 2: the 90 put is marked from its chain (85 put's 30 % IV), around the mark by half the last width
    # (a zero bid is still a posted market to close into; only entries need a mid)
    assert path["model_marked"].to_list() == [False, True, False, False]
    t2 = (EXP - DAYS[2]).days / 365 + 1e-4
    mark = float(black_price(96.0, 90.0, t2, 1.0, 0.30, False))
    assert_allclose(arr["close_cf"][1], -2.70 + (mark - 0.5 * 0.10))  # f = 1: sell at mark - w/2 (last width 0.10)
    # expiry (PM, close 92): 95 put worth 3.00 intrinsic, 90 put 0 -> settle -3.00
    assert np.isnan(arr["settle_cf"][:3]).all()
    assert_allclose(arr["settle_cf"][3], -3.00)
    # max loss at the fill: width 5 - credit 0.90
    assert_allclose(arr["max_loss"][0], 4.10)
    assert_allclose(arr["max_profit"][0], 0.90)
    assert arr["dte"].tolist() == [3, 2, 1, 0]


def test_spread_fraction_model_concedes_f_of_the_width() -> None:
    s, legs, bars = _frames()
    settings = with_overrides(Settings(), {"fills": {"model": "spread_fraction"}})
    _, arr = build_paths(s, legs, _contracts(), bars, pl.Series(DAYS), settings)
    f = settings.fills.spread_fraction_by_legs[1]  # 2 legs
    sell95 = 2.00 - f * 0.20
    buy90 = 0.80 + f * 0.10
    assert_allclose(arr["entry_cf"][0], sell95 - buy90)


def test_path_rows_carry_the_structures_stress_scenarios() -> None:
    from volengine.risk import scenario_grid, stress_pnl

    s, legs, bars = _frames()
    _, arr = build_paths(s, legs, _contracts(), bars, pl.Series(DAYS), Settings())
    moves, shifts = scenario_grid()
    assert arr["stress"].shape == (4, moves.size)
    t1 = (EXP - DAYS[1]).days / 365 + 1e-4
    exp = stress_pnl(np.full(2, 96.0), np.array([95.0, 90.0]), np.full(2, t1), np.ones(2), np.full(2, 0.30),
                     np.zeros(2, bool), np.array([-1.0, 1.0]), moves, shifts).sum(axis=0)  # fmt: skip
    assert_allclose(arr["stress"][0], exp, rtol=1e-12)
    assert arr["stress"][0].min() < 0  # a short put spread loses in the crash scenarios


def test_short_itm_american_call_before_an_ex_date_is_flagged_for_assignment() -> None:
    # a call credit spread: short 95 C, long 100 C; spot 97 -> the short call is 2 points in the money
    days = DAYS[:3]
    rows = []
    books = [(2.40, 2.50, 0.40, 0.50), (2.10, 2.20, 0.30, 0.40), (2.05, 2.15, 0.2, 0.3)]
    for d, (sb, sa, lb, la) in enumerate(books):
        for k, bid, ask in ((95.0, sb, sa), (100.0, lb, la)):
            rows.append({"underlying": "SPY", "date": days[d], "expiration": EXP, "strike": k, "right": "C",
                         "bid": bid, "ask": ask, "mid": 0.5 * (bid + ask), "iv": 0.2, "forward": 97.0, "disc": 1.0,
                         "t": 0.01, "style": "american"})  # fmt: skip
    contracts = pl.DataFrame(rows).with_columns(pl.col("right").cast(Right))
    s = pl.DataFrame({"candidate": [0], "underlying": ["SPY"], "date": [days[0]], "expiration": [EXP],
                      "n_legs": [2], "entry_cashflow_points": [2.0], "max_loss_points": [3.0],
                      "max_profit_points": [2.0]})  # fmt: skip
    legs = pl.DataFrame({"candidate": [0, 0], "leg": [0, 1], "expiration": [EXP, EXP], "strike": [95.0, 100.0],
                         "right": ["C", "C"], "qty": [-1, 1], "settlement": ["PM", "PM"]})  # fmt: skip
    bars = pl.DataFrame({"underlying": ["SPY"] * 3, "date": days, "open": [97.0] * 3, "close": [97.0] * 3})
    # time value of the 95 call: mark - 2; ex-date on day 2 with a 0.30 dividend
    divs = pl.DataFrame({"ex_date": [days[2]], "underlying": ["SPY"], "amount": [0.30]})
    path, _ = build_paths(s, legs, contracts, bars, pl.Series(days), Settings(), divs)
    # day 1: time value 0.15 < 0.30 and the ex-date one day ahead -> flagged; day 2: 0.10 < 0.30 on the ex-date
    assert path["assignment_risk"].to_list() == [True, True]
    path, _ = build_paths(s, legs, contracts, bars, pl.Series(days), Settings(), divs.with_columns(amount=0.05))
    assert path["assignment_risk"].to_list() == [False, False]  # the dividend is below the time value


def test_a_missing_quote_is_marked_at_the_iv_interpolated_in_strike() -> None:
    s, legs, bars = _frames()
    # day 2: the 95 put trades at 28 % IV and the 85 put at 36 %: the unquoted 90 put is marked at 32 %,
    # not at either neighbour's IV
    skewed = _contracts().with_columns(
        pl.when(pl.col("date") == DAYS[2]).then(pl.col("strike").replace_strict({95.0: 0.28, 85.0: 0.36}, default=None))
        .otherwise(pl.col("iv")).alias("iv")
    )  # fmt: skip
    _, arr = build_paths(s, legs, skewed, bars, pl.Series(DAYS), Settings())
    t2 = (EXP - DAYS[2]).days / 365 + 1e-4
    mark = float(black_price(96.0, 90.0, t2, 1.0, 0.32, False))
    assert_allclose(arr["close_cf"][1], -2.70 + (mark - 0.5 * 0.10), rtol=0, atol=1e-12)
