"""Stress grid: scenario set, per-leg repricing at each leg's own IV, and the simulator's stress cap."""

from __future__ import annotations

import numpy as np
from numpy.testing import assert_allclose

from volengine.backtest import param_matrix, simulate
from volengine.config import Settings
from volengine.kernels import black_price
from volengine.risk import scenario_grid, stress_pnl


def test_grid_crosses_spot_moves_with_iv_shocks_and_adds_the_named_cases() -> None:
    moves, shifts = scenario_grid()
    pairs = set(zip(np.round(moves, 6), np.round(shifts, 6), strict=True))
    for m in (0.0, 0.01, -0.01, 0.02, -0.02, 0.05, -0.05):
        for v in (0.0, 0.05, -0.05):
            assert (m, v) in pairs
    assert (0.02, -0.025) in pairs  # rally gap with IV down 2.5 points
    assert (0.0, 0.10) in pairs  # extreme vol-up shock


def test_each_leg_is_repriced_at_its_own_iv_plus_the_shift() -> None:
    moves, shifts = np.array([-0.05, 0.0]), np.array([0.05, 0.10])
    # a put credit spread: short 95 at 22 % IV, long 90 at 26 % IV (skew), forward 100, 30 days
    f, k, t, d = 100.0, np.array([95.0, 90.0]), 30 / 365, 0.996
    iv, qty = np.array([0.22, 0.26]), np.array([-1.0, 1.0])
    got = stress_pnl(np.full(2, f), k, np.full(2, t), np.full(2, d), iv, np.zeros(2, bool), qty, moves, shifts)
    for j, (m, v) in enumerate(zip(moves, shifts, strict=True)):
        exp = qty * (black_price(f * (1 + m), k, t, d, iv + v, False) - black_price(f, k, t, d, iv, False))
        assert_allclose(got[:, j], exp, rtol=1e-12)
    assert got.sum(axis=0)[0] < 0  # the crash loses money on a short put spread
    assert got.sum(axis=0)[0] > -(5.0 - 0.0)  # ... never more than the width


def test_stress_limit_caps_contracts_by_the_books_worst_scenario() -> None:
    path = {"off": [0, 3], "day": [1, 2, 3], "close_cf": [-1.0, -1.0, -1.0], "settle_cf": [np.nan] * 3,
            "dte": [20, 19, 18], "entry_cf": [1.0, np.nan, np.nan], "max_loss": [4.0] * 3,
            "max_profit": [1.0] * 3}  # fmt: skip
    cands = {"signal_day": [0], "entry_day": [1], "ml_est": [4.0], "legs": [2], "is_credit": [1], "regime": [0],
             "stress": [[-3.0, -0.5]]}  # fmt: skip
    settings = Settings()
    ov = [{"time_stop_dte_days": -1}, {"time_stop_dte_days": -1, "stress_limit_pct": 0.6},
          {"time_stop_dte_days": -1, "stress_limit_pct": 0.2}]  # fmt: skip
    res = simulate(4, np.zeros(4), np.zeros(4), cands, path, param_matrix(settings, ov), 100_000.0)
    t = res.trades.sort("param_set")
    # budget: 1 % of $100k / $400 = 2 lots; a 0.6 % limit = $600 allows floor(600 / 300) = 2 -> 2;
    # 0.2 % = $200 < one lot's $300 worst case -> rejected
    assert t["contracts"].to_list() == [2, 2, 0]
    assert t["status"].to_list()[2] == "stress_limit"
    ov[1]["stress_limit_pct"] = 0.45  # $450 allows 1 lot of $300 worst case
    res = simulate(4, np.zeros(4), np.zeros(4), cands, path, param_matrix(settings, ov[:2]), 100_000.0)
    assert res.trades.sort("param_set")["contracts"].to_list() == [2, 1]
