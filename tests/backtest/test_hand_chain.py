"""A put credit spread through every stage on a hand-built chain, P&L computed by hand to the cent:
builder (signal day) -> quote paths (fills next session, marks, exit) -> simulator (sizing, costs); a diagonal to
its front expiry, and next-open fills modelled off the previous close."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from statistics import NormalDist

import numpy as np
import polars as pl
from numpy.testing import assert_allclose

from volengine.backtest import param_matrix, simulate
from volengine.backtest.paths import build_paths, candidate_stress
from volengine.config import Settings, with_overrides
from volengine.structures import build_structures

sys.path.insert(0, str(Path(__file__).parents[1] / "structures"))
from structure_chains import MAIN_CALLS, MAIN_PUTS, RATE, chain, frame, quotes

DAYS = [date(2024, 1, 2), date(2024, 1, 3), date(2024, 1, 4), date(2024, 1, 5), date(2024, 1, 8)]
EXP = date(2024, 2, 2)  # 31 days after the signal day
#: the two legs' quotes (95 P, 90 P) from the entry day on
LATER = [((0.70, 0.80), (0.25, 0.30)), ((0.40, 0.45), (0.10, 0.15)), ((0.15, 0.20), (0.05, 0.10)),
         ((0.10, 0.15), (0.00, 0.05))]  # fmt: skip


def _contracts() -> pl.DataFrame:
    days = [chain("SPY", 31, quotes(MAIN_CALLS, MAIN_PUTS), day=DAYS[0])]
    for k, ((b95, a95), (b90, a90)) in enumerate(LATER, start=1):
        puts = dict(MAIN_PUTS) | {95: (b95, a95), 90: (b90, a90)}
        days.append(chain("SPY", (EXP - DAYS[k]).days, quotes(MAIN_CALLS, puts), day=DAYS[k]))
    return frame(*days)


def test_put_credit_spread_pnl_by_hand() -> None:
    s = Settings()
    contracts = _contracts()
    req = pl.DataFrame({"request_id": [0], "underlying": ["SPY"], "date": [DAYS[0]], "choice": ["put_credit_spread"]})
    st, legs = build_structures(contracts, req, s)
    row = st.row(0, named=True)
    # ATM = 100 (nearest 100.4); short 95 P at ATM - 1 x 5, long 90 P; conservative: 95P bid 0.80 - 90P ask 0.35
    assert row["is_valid"], row["message"]
    assert sorted(legs["strike"].to_list()) == [90.0, 95.0]
    assert_allclose([row["entry_cashflow_points"], row["max_loss_points"]], [0.45, 4.55])
    valid = st.with_columns(pl.lit(0, pl.Int64).alias("candidate"), pl.lit("LOW_VOL_GRIND").alias("regime"))
    vl = legs.with_columns(pl.lit(0, pl.Int64).alias("candidate"), pl.col("underlying").cast(pl.String),
                           pl.col("right").cast(pl.String), pl.lit("PM").alias("settlement"))  # fmt: skip
    bars = pl.DataFrame({"underlying": ["SPY"] * 5, "date": DAYS, "open": [100.4] * 5, "close": [100.4] * 5})
    _, arrays = build_paths(valid, vl, contracts, bars, pl.Series(DAYS), s)
    # entry on day 1 (sell 95 P at 0.70, buy 90 P at 0.30): credit 0.40, max loss 5 - 0.40
    assert_allclose(arrays["entry_cf"][0], 0.40)
    assert_allclose(arrays["max_loss"][0], 4.60)
    assert_allclose(arrays["close_cf"], [-0.80 + 0.25, -0.45 + 0.10, -0.20 + 0.05, -0.15 + 0.00])
    cands = {"signal_day": [0], "entry_day": [1], "ml_est": [row["max_loss_points"]], "legs": [2],
             "is_credit": [1], "regime": [0], "stress": candidate_stress(valid, vl, contracts, s)}  # fmt: skip
    res = simulate(5, np.zeros(5), np.zeros(5), cands, arrays, param_matrix(s), 100_000.0)
    t = res.trades.row(0, named=True)
    # 1 % of $100,000 / $455 = 2 lots; day 3: P&L 0.40 - 0.20 = 0.20 >= 50 % of 0.40 -> exit filled day 4 at -0.15
    assert t["contracts"] == 2
    assert t["status"] == "take_profit"
    assert (t["entry_day"], t["exit_day"]) == (1, 4)
    cost = 0.67 * 2 * 2  # commission + fee per contract per leg, per side
    assert_allclose(t["pnl_usd"], 0.40 * 200 - 0.15 * 200 - 2 * cost, atol=1e-9)  # $44.64
    assert_allclose(res.daily["equity"].to_numpy(),
                    [100_000, 100_000 + 80 - cost - 0.55 * 200, 100_000 + 80 - cost - 0.35 * 200,
                     100_000 + 80 - cost - 0.15 * 200, 100_000 + 44.64], atol=1e-9)  # fmt: skip


def test_diagonal_front_settles_at_intrinsic_and_the_back_leg_is_sold_at_its_bid() -> None:
    """A call diagonal to its front expiry: short front 100 C (expires on DAYS[3]), long back 95 C."""
    s = Settings()
    front_exp = DAYS[3]
    # (front 100 C, back 95 C) quotes per day; the other strikes keep the main chain's
    path = [((1.00, 1.10), (6.20, 6.40)), ((0.90, 1.00), (6.30, 6.50)), ((1.50, 1.60), (6.80, 7.00)),
            ((2.00, 2.05), (7.40, 7.60)), (None, (7.50, 7.70))]  # fmt: skip
    days = []
    for k, (front, back) in enumerate(path):
        calls = dict(MAIN_CALLS) | {95: back}
        days.append(chain("SPY", (EXP - DAYS[k]).days, quotes(calls, MAIN_PUTS), day=DAYS[k]))
        if front is not None:
            fc = {95: (5.30, 5.50), 100: front, 105: (0.10, 0.15)}
            fp = {95: (0.05, 0.10), 100: (0.40, 0.50), 105: (4.60, 4.80)}
            days.append(chain("SPY", (front_exp - DAYS[k]).days, quotes(fc, fp), day=DAYS[k]))
    contracts = frame(*days)
    req = pl.DataFrame({"request_id": [0], "underlying": ["SPY"], "date": [DAYS[0]], "choice": ["diagonal"],
                        "front_min_dte_days": [1], "back_gap_days": [20]})  # fmt: skip
    st, legs = build_structures(contracts, req, s)
    row = st.row(0, named=True)
    assert row["is_valid"], row["message"]
    assert_allclose([row["entry_cashflow_points"], row["max_loss_points"]], [-(6.40 - 1.00), 5.40])
    valid = st.with_columns(pl.lit(0, pl.Int64).alias("candidate"), pl.lit("LOW_VOL_GRIND").alias("regime"))
    vl = legs.with_columns(pl.lit(0, pl.Int64).alias("candidate"), pl.col("underlying").cast(pl.String),
                           pl.col("right").cast(pl.String), pl.lit("PM").alias("settlement"))  # fmt: skip
    # PM settlement on the expiry day's close, 102: the short 100 C pays 2.00 intrinsic, not its 2.05 ask
    bars = pl.DataFrame({"underlying": ["SPY"] * 5, "date": DAYS, "open": [100.4] * 5,
                         "close": [100.4, 100.4, 101.5, 102.0, 102.0]})  # fmt: skip
    _, arrays = build_paths(valid, vl, contracts, bars, pl.Series(DAYS), s)
    # entry on DAYS[1]: sell the front at 0.90, buy the back at 6.50; the path ends on the front expiry
    assert_allclose(arrays["entry_cf"][0], -5.60)
    assert_allclose(arrays["max_loss"][0], 5.60)
    assert_allclose(arrays["close_cf"], [-1.00 + 6.30, -1.60 + 6.80, -2.05 + 7.40])
    assert_allclose(arrays["settle_cf"][-1], -2.00 + 7.40)
    off = {name: [np.nan] for name in ("take_profit_debit_pct", "stop_loss_debit_pct", "time_stop_debit_dte_days")}
    cands = {"signal_day": [0], "entry_day": [1], "ml_est": [row["max_loss_points"]], "legs": [2],
             "is_credit": [0], "regime": [0], "stress": candidate_stress(valid, vl, contracts, s)}  # fmt: skip
    res = simulate(5, np.zeros(5), np.zeros(5), cands, arrays,
                   param_matrix(s, [{k: v[0] for k, v in off.items()}]), 100_000.0)  # fmt: skip
    t = res.trades.row(0, named=True)
    # 1 % of $100,000 / $540 = 1 lot; held to the front expiry: -5.60 + 5.40 = -0.20 a share
    assert t["contracts"] == 1
    assert t["status"] == "expiry"
    assert (t["entry_day"], t["exit_day"]) == (1, 3)
    assert_allclose(arrays["settle_legs"], [0, 0, 1])
    # costs $0.67 per contract and leg: both legs on entry; at expiry only the back leg, sold, pays
    assert_allclose(t["pnl_usd"], -0.20 * 100 - 0.67 * 2 - 0.67, atol=1e-9)


def _black76(fwd: float, k: float, t: float, disc: float, vol: float, *, call: bool) -> float:
    n = NormalDist().cdf
    sd = vol * np.sqrt(t)
    d1 = (np.log(fwd / k) + 0.5 * sd * sd) / sd
    if call:
        return disc * (fwd * n(d1) - k * n(d1 - sd))
    return disc * (k * n(sd - d1) - fwd * n(-d1))


def test_next_open_fills_are_priced_off_the_previous_close_by_hand() -> None:
    s = with_overrides(Settings(), {"backtest": {"execution": "next_open"}})
    contracts = _contracts()
    req = pl.DataFrame({"request_id": [0], "underlying": ["SPY"], "date": [DAYS[0]], "choice": ["put_credit_spread"]})
    st, legs = build_structures(contracts, req, s)
    valid = st.with_columns(pl.lit(0, pl.Int64).alias("candidate"), pl.lit("LOW_VOL_GRIND").alias("regime"))
    vl = legs.with_columns(pl.lit(0, pl.Int64).alias("candidate"), pl.col("underlying").cast(pl.String),
                           pl.col("right").cast(pl.String), pl.lit("PM").alias("settlement"))  # fmt: skip
    # SPY gaps down to 99.00 at the open after the signal day, then opens 100.00, 101.00, 100.40
    opens = [100.4, 99.0, 100.0, 101.0, 100.4]
    bars = pl.DataFrame({"underlying": ["SPY"] * 5, "date": DAYS, "open": opens, "close": [100.4] * 5})
    _, arrays = build_paths(valid, vl, contracts, bars, pl.Series(DAYS), s)

    def at_open(day: int, k: float) -> float:
        # yesterday's close: spot 100.4, IV 0.20, forward and discount of its t; the open is 17.5 h (a weekend:
        # 65.5 h) after that close, 6.5 h before today's close
        t_prev = (EXP - DAYS[day - 1]).days / 365
        hours = (DAYS[day] - DAYS[day - 1]).days * 24 - 6.5
        fwd = 100.4 * np.exp(RATE * t_prev) * opens[day] / 100.4
        return _black76(fwd, k, t_prev - hours / 24 / 365, np.exp(-RATE * t_prev), 0.20, call=False)

    # conservative fills concede the whole spread around the model mid: sell at mid - w/2, buy at mid + w/2,
    # with yesterday's widths (signal day: 95 P 0.80/0.90, 90 P 0.30/0.35)
    entry = (at_open(1, 95.0) - 0.05) - (at_open(1, 90.0) + 0.025)
    assert_allclose(arrays["entry_cf"][0], entry, rtol=0, atol=1e-12)
    # an exit decided at a close fills at the next open: buy the 95 P back, sell the 90 P, widths of that close
    widths = [(w95, w90) for (b95, a95), (b90, a90) in LATER for w95, w90 in [(a95 - b95, a90 - b90)]]
    for row, day in enumerate(range(2, 5), start=1):
        w95, w90 = widths[day - 2]
        got = arrays["exit_cf"][row]
        assert_allclose(got, -(at_open(day, 95.0) + w95 / 2) + (at_open(day, 90.0) - w90 / 2), rtol=0, atol=1e-12)
    # marks stay at the close
    assert_allclose(arrays["close_cf"], [-0.80 + 0.25, -0.45 + 0.10, -0.20 + 0.05, -0.15 + 0.00])
