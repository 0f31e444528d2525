"""The simulator kernel on hand-built candidates and paths: P&L to the cent, exits, sizing, limits, kill switch,
the parameter axis and no look-ahead."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from volengine.backtest import param_matrix, simulate
from volengine.config import Settings
from volengine.errors import ConfigError, KernelInputError

COST = 0.67  # commission 0.65 + reg fee 0.02 per contract per leg per side (defaults)
NAN = np.nan


def _paths(*runs: dict) -> dict[str, np.ndarray]:
    """Concatenate per-candidate runs (dicts of per-day lists) into the kernel's flat path arrays."""
    cols = ("day", "close_cf", "settle_cf", "dte", "entry_cf", "max_loss", "max_profit")
    out = {k: [] for k in cols}
    off = [0]
    for r in runs:
        n = len(r["day"])
        for k in cols:
            v = r.get(k, NAN)
            out[k] += list(v) if isinstance(v, list) else [v] * n
        off.append(off[-1] + n)
    res = {k: np.asarray(v) for k, v in out.items()}
    res["off"] = np.asarray(off)
    return res


def _book() -> tuple[dict, dict]:
    """An iron condor (credit 1.00, wings 5) taking profit and a put credit spread stopped out (see below)."""
    condor = {"day": [1, 2, 3, 4, 5, 6], "close_cf": [-1.00, -0.80, -0.45, -0.40, -0.30, -0.10],
              "settle_cf": [NAN] * 5 + [0.0], "dte": [5, 4, 3, 2, 1, 0], "entry_cf": 1.00, "max_loss": 4.00,
              "max_profit": 1.00}  # fmt: skip
    vertical = {"day": [3, 4, 5, 6, 7], "close_cf": [-1.00, -1.50, -1.85, -2.50, -2.90],
                "settle_cf": [NAN] * 4 + [-3.00], "dte": [4, 3, 2, 1, 0], "entry_cf": 0.90, "max_loss": 2.10,
                "max_profit": 0.90}  # fmt: skip
    cands = {"signal_day": [0, 2], "entry_day": [1, 3], "ml_est": [4.00, 2.00], "legs": [4, 2], "is_credit": [1, 1],
             "regime": [0, 0]}  # fmt: skip
    return cands, _paths(condor, vertical)


def _run(cands, paths, overrides=None, n_days=8, regime=None, week=None, equity0=100_000.0):  # type: ignore[no-untyped-def]
    params = param_matrix(Settings(), overrides or [{"time_stop_dte_days": -1}])
    regime = np.zeros(n_days) if regime is None else regime
    week = np.repeat([0, 1], [5, n_days - 5]) if week is None else week
    return simulate(n_days, regime, week, cands, paths, params, equity0)


def test_hand_built_book_to_the_cent() -> None:
    cands, paths = _book()
    res = _run(cands, paths)
    t = res.trades.sort("candidate")
    # condor: 1% of 100,000 / $400 max loss = 2 lots; TP (0.55 >= 50 % of 1.00) decided day 3, filled day 4 at -0.40
    # vertical: 1% of 100,034.64 (day-2 equity) / $200 = 5 lots; SL (-0.95 <= -1 x 0.90) decided day 5, filled day 6
    assert t["contracts"].to_list() == [2, 5]
    assert t["status"].to_list() == ["take_profit", "stop_loss"]
    assert t["entry_day"].to_list() == [1, 3]
    assert t["exit_day"].to_list() == [4, 6]
    assert_allclose(t["pnl_usd"].to_numpy(), [200 - 80 - 2 * 4 * 2 * COST, 450 - 1250 - 2 * 2 * 5 * COST], atol=1e-9)
    expected = [100_000.00, 99_994.64, 100_034.64, 100_047.94, 99_802.58, 99_627.58, 99_295.88, 99_295.88]
    assert_allclose(res.daily["equity"].to_numpy(), expected, atol=1e-9)
    assert res.daily["n_open"].to_list() == [0, 1, 1, 2, 1, 1, 0, 0]
    assert_allclose(res.daily["open_max_loss_usd"].to_numpy()[3], 4.00 * 200 + 2.10 * 500)


def test_held_to_expiry_settles_at_intrinsic_without_closing_costs() -> None:
    cands, paths = _book()
    res = _run(cands, paths, [{"time_stop_dte_days": -1, "take_profit_pct": 1000, "stop_loss_credit_multiple": 100}])
    t = res.trades.sort("candidate")
    assert t["status"].to_list() == ["expiry", "expiry"]
    assert t["exit_day"].to_list() == [6, 7]
    assert_allclose(t["pnl_usd"].to_numpy(), [200 - 4 * 2 * COST, 5 * (90 - 300) - 2 * 5 * COST], atol=1e-9)


def test_time_stop_and_regime_change_exits() -> None:
    cands, paths = _book()
    res = _run(cands, paths, [{"time_stop_dte_days": 4, "take_profit_pct": 1000, "stop_loss_credit_multiple": 100}])
    t = res.trades.sort("candidate")
    assert t["status"].to_list() == ["time_stop", "time_stop"]
    assert t["exit_day"].to_list() == [3, 4]  # condor: dte 4 on day 2; vertical: dte 4 on day 3 (its entry day)
    regime = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    res = _run(cands, paths, [{"time_stop_dte_days": -1, "take_profit_pct": 1000, "stop_loss_credit_multiple": 100,
                               "exit_on_regime_change": 1}], regime=regime)  # fmt: skip
    assert res.trades.sort("candidate")["status"].to_list() == ["regime_change", "regime_change"]
    assert res.trades.sort("candidate")["exit_day"].to_list() == [5, 5]


def test_sizing_never_forces_one_lot_and_caps_total_risk() -> None:
    cands, paths = _book()
    res = _run(cands, paths, equity0=30_000.0)  # 1 % = $300 < $400 condor max loss; vertical: $300 / $200 = 1 lot
    t = res.trades.sort("candidate")
    assert t["status"].to_list() == ["one_lot_over_budget", "stop_loss"]
    assert t["contracts"].to_list() == [0, 1]
    res = _run(cands, paths, [{"time_stop_dte_days": -1, "total_risk_pct": 1.2}])
    # total cap 1.2 % of equity: after the condor's $800 only ~$400 remain -> 2 vertical lots instead of 5
    assert res.trades.sort("candidate")["contracts"].to_list() == [2, 2]
    res = _run(cands, paths, [{"time_stop_dte_days": -1, "max_open_trades": 1}])
    assert res.trades.sort("candidate")["status"].to_list() == ["take_profit", "max_open_trades"]


def test_an_entry_without_a_fill_is_counted_unexecutable() -> None:
    cands, paths = _book()
    paths["entry_cf"][paths["off"][1]] = NAN  # the vertical's entry day has no valid quote
    t = _run(cands, paths).trades.sort("candidate")
    assert t["status"].to_list() == ["take_profit", "unexecutable"]
    assert t["contracts"].to_list() == [2, 0]


def test_drawdown_kill_switch_blocks_new_entries_and_holds() -> None:
    crash = {"day": [1, 2, 3, 4], "close_cf": [-1.0, -40.0, -40.0, -40.0], "dte": [30, 29, 28, 27], "entry_cf": 1.0,
             "max_loss": 49.0, "max_profit": 1.0}  # fmt: skip
    later = {"day": [4, 5], "close_cf": [-1.0, -0.9], "dte": [20, 19], "entry_cf": 1.0, "max_loss": 4.0,
             "max_profit": 1.0}  # fmt: skip
    cands = {"signal_day": [0, 3], "entry_day": [1, 4], "ml_est": [2.0, 4.0], "legs": [2, 2], "is_credit": [1, 1],
             "regime": [0, 0]}  # fmt: skip
    # the first trade is sized on a $200 estimate (50 lots, the cap, on $1M); its mark then loses 39 points:
    # equity -19.5 % from the high-water mark, beyond the 15 % kill switch
    ov = [{"time_stop_dte_days": -1, "stop_loss_credit_multiple": 100, "daily_loss_limit_pct": 100,
           "weekly_loss_limit_pct": 100}]  # fmt: skip
    res = _run(cands, _paths(crash, later), ov, n_days=6, equity0=1_000_000.0)
    assert res.daily["blocked"].to_list() == [False, False, True, True, True, True]
    assert res.trades.sort("candidate")["status"].to_list() == ["open_at_end", "blocked_by_limits"]


def test_daily_loss_limit_blocks_entries_that_day_only() -> None:
    cands, paths = _book()
    paths["close_cf"][1] = -9.0  # condor marked down on day 2: -$1,600 vs $100k prior close... 1.6 %
    res = _run(
        cands, paths, [{"time_stop_dte_days": -1, "daily_loss_limit_pct": 1.5, "stop_loss_credit_multiple": 100}]
    )
    assert res.daily["blocked"].to_list()[2]
    assert res.trades.sort("candidate")["status"].to_list()[1] == "blocked_by_limits"


def test_parameter_axis_equals_separate_runs() -> None:
    cands, paths = _book()
    sets = [{"time_stop_dte_days": -1}, {"time_stop_dte_days": -1, "take_profit_pct": 25}, {"time_stop_dte_days": 3}]
    grid = _run(cands, paths, sets)
    for i, ov in enumerate(sets):
        one = _run(cands, paths, [ov])
        assert_allclose(grid.daily.filter(grid.daily["param_set"] == i)["equity"].to_numpy(),
                        one.daily["equity"].to_numpy(), rtol=0, atol=0)  # fmt: skip


def test_no_look_ahead_a_shorter_day_axis_gives_the_same_prefix() -> None:
    cands, paths = _book()
    full = _run(cands, paths).daily["equity"].to_numpy()
    for n in range(1, 8):
        keep = [c for c in range(2) if cands["signal_day"][c] < n - 1]
        sub_c = {k: [v[c] for c in keep] for k, v in cands.items()}
        rows = [np.arange(paths["off"][c], paths["off"][c + 1]) for c in keep]
        rows = [r[paths["day"][r] < n] for r in rows]
        sub_p = {k: np.concatenate([paths[k][r] for r in rows]) if rows else np.zeros(0) for k in paths if k != "off"}
        sub_p["off"] = np.concatenate([[0], np.cumsum([len(r) for r in rows])]).astype(int)
        cut = _run(sub_c, sub_p, n_days=n, week=np.repeat([0, 1], [5, 3])[:n]).daily["equity"].to_numpy()
        assert_allclose(cut, full[:n], rtol=0, atol=0)


def test_bad_inputs_are_named() -> None:
    cands, paths = _book()
    with pytest.raises(ConfigError, match="unknown backtest parameter"):
        param_matrix(Settings(), [{"take_profit": 50}])
    bad = dict(cands, signal_day=[2, 0])
    with pytest.raises(KernelInputError, match="sorted"):
        _run(bad, paths)


def test_debit_structures_take_profit_on_max_profit_and_credit_stops_on_max_loss() -> None:
    debit = {"day": [1, 2, 3, 4], "close_cf": [0.90, 1.50, 3.10, 3.30], "dte": [40, 39, 38, 37], "entry_cf": -1.00,
             "max_loss": 1.00, "max_profit": 4.00}  # fmt: skip
    cands = {"signal_day": [0], "entry_day": [1], "ml_est": [1.0], "legs": [2], "is_credit": [0], "regime": [0]}
    t = _run(cands, _paths(debit), [{}], n_days=5).trades.row(0, named=True)
    # P&L 3.10 - 1.00 = 2.10 >= 50 % of 4.00 on day 3 -> filled day 4 at 3.30; the credit time stop does not apply
    assert (t["status"], t["exit_day"]) == ("take_profit", 4)
    t = _run(cands, _paths(debit), [{"time_stop_debit_dte_days": 39}], n_days=5).trades.row(0, named=True)
    assert (t["status"], t["exit_day"]) == ("time_stop", 3)
    book, paths = _book()
    ov = [{"time_stop_dte_days": -1, "stop_loss_max_loss_pct": 20.0}]
    t = _run(book, paths, ov).trades.sort("candidate").row(1, named=True)
    # vertical: loss 0.60 on day 4 >= 20 % of its 2.10 max loss (before the 1 x credit stop of day 5)
    assert (t["status"], t["exit_day"]) == ("stop_loss", 5)


def test_rules_set_to_null_in_settings_never_fire() -> None:
    from volengine.config import with_overrides

    s = with_overrides(Settings(), {"backtest": {"exits": {"credit": {"take_profit_pct": None,
                                                                      "time_stop_dte_days": None}}}})  # fmt: skip
    cands, paths = _book()
    res = simulate(8, np.zeros(8), np.repeat([0, 1], [5, 3]), cands, paths, param_matrix(s), 100_000.0)
    assert res.trades.sort("candidate")["status"].to_list() == ["expiry", "stop_loss"]
