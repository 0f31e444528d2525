"""The backtest end to end on a small synthetic market: accounting identity, defined risk, next-session fills,
the run directory, the parameter axis and no look-ahead."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from pathlib import Path

import polars as pl
import pytest
from numpy.testing import assert_allclose

from volengine.backtest.engine import candidate_requests, run_backtest
from volengine.config import Settings
from volengine.datasets import synthetic_market


@pytest.fixture(scope="module")
def market():  # type: ignore[no-untyped-def]
    return synthetic_market(seed=5, start="2019-01-02", end="2020-06-30", params={"fine_half_count": 12,
                            "coarse_side_count": 5})  # fmt: skip


@pytest.fixture(scope="module")
def run(market, tmp_path_factory):  # type: ignore[no-untyped-def]
    sets = [{}, {"take_profit_pct": 25.0}, {"per_trade_risk_pct": 0.5}]
    return run_backtest(market, param_sets=sets, runs_dir=tmp_path_factory.mktemp("runs"))


def test_equity_is_cash_plus_marks_and_sums_to_the_trades(run) -> None:  # type: ignore[no-untyped-def]
    for p in range(3):
        eq = run.equity.filter(pl.col("param_set") == p)
        tr = run.trades.filter(pl.col("param_set") == p)
        assert tr.height > 10
        assert_allclose(eq["equity"][-1] - 100_000.0, tr["pnl_usd"].sum(), atol=1e-6)
        assert_allclose(eq["daily_pnl"].sum(), eq["equity"][-1] - 100_000.0, atol=1e-6)


def test_trades_are_defined_risk_sized_by_the_rules_and_filled_next_session(run, market) -> None:  # type: ignore[no-untyped-def]
    tr = run.trades.filter(pl.col("param_set") == 0)
    assert (tr["max_loss_usd"] > 0).all()
    assert (tr["contracts"] >= 1).all()
    assert (tr["max_loss_usd"] <= 0.01 * 1.2 * 100_000).all()  # 1 % of equity (equity stays near 100k here)
    sessions = market.bars["date"].sort()
    nxt = dict(itertools.pairwise(sessions))
    signal_day = (
        run.legs.select("candidate", "request_id").unique()
        .join(run.requests.select("request_id", "date"), on="request_id")
    )  # fmt: skip
    j = tr.join(signal_day, left_on="trade_id", right_on="candidate")
    assert j.height == tr.height
    assert all(nxt[s] == e for s, e in zip(j["date"], j["entry_date"], strict=True))  # decided at d, filled at d+1
    assert set(tr["exit_reason"]) <= {"take_profit", "stop_loss", "time_stop", "expiry", "regime_change",
                                      "kill_switch", "open_at_end"}  # fmt: skip


def test_the_parameter_axis_changes_what_it_should(run) -> None:  # type: ignore[no-untyped-def]
    t = run.trades
    tp = t.group_by("param_set").agg((pl.col("exit_reason") == "take_profit").sum()).sort("param_set")["exit_reason"]
    assert tp[1] >= tp[0]  # a closer take-profit fires at least as often
    lots = t.group_by("param_set").agg(pl.col("contracts").mean()).sort("param_set")["contracts"]
    assert lots[2] < lots[0]  # half the risk budget, fewer contracts


def test_run_directory_holds_config_frames_and_metrics(run) -> None:  # type: ignore[no-untyped-def]
    out = Path(run.run_dir)
    for name in ("config.json", "trades.parquet", "legs.parquet", "equity.parquet", "metrics.json"):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["overall"]["n_trades"] == run.trades.filter(pl.col("param_set") == 0).height
    assert "by_regime" in metrics


def test_no_look_ahead_equity_of_a_run_cut_at_d_matches(market, run) -> None:  # type: ignore[no-untyped-def]
    full = run.equity.filter(pl.col("param_set") == 0)
    for d in (dt.date(2020, 2, 14), dt.date(2020, 4, 9)):
        cut = run_backtest(market, end=d).equity.filter(pl.col("param_set") == 0)
        ref = full.filter(pl.col("date") <= d)
        assert_allclose(cut["equity"].to_numpy(), ref["equity"].to_numpy(), rtol=0, atol=1e-9)


def test_no_signal_means_no_requests_and_a_flat_book() -> None:
    feats = pl.DataFrame({"underlying": ["SPY"], "date": [dt.date(2020, 1, 2)], "regime": ["CHOP"],
                          "vrp_fired": [False], "vrp_signal": [None], "vrp_strength": [None],
                          "vrp_history_mode": [1]})  # fmt: skip
    req = candidate_requests(feats, Settings())
    assert req.height == 0
    assert "choice" in req.columns


def test_review_only_signals_and_fallback_edges_are_not_traded() -> None:
    feats = pl.DataFrame({
        "underlying": ["SPY"] * 3, "date": [dt.date(2020, 1, 2), dt.date(2020, 1, 3), dt.date(2020, 1, 6)],
        "regime": ["CHOP"] * 3, "skew_fired": [True, True, True],
        "skew_signal": ["skew_flat", "skew_steep", "skew_steep"], "skew_strength": [0.6, 0.7, 0.8],
        "skew_history_mode": [1, 1, 0],
    })  # fmt: skip
    req = candidate_requests(feats, Settings())
    # flat skew is REVIEW until validated; a fallback (history_mode 0) edge is REVIEW unless allowed
    assert req["signal"].to_list() == ["skew_steep"]
    assert req["choice"].to_list() == ["put_credit_spread"]


def test_portfolio_greeks_follow_the_open_book(run) -> None:  # type: ignore[no-untyped-def]
    eq = run.equity.filter(pl.col("param_set") == 0)
    for col in ("delta", "gamma", "vega", "theta"):
        assert eq[col].is_finite().all()
    flat = eq.filter(pl.col("n_open") == 0)
    assert (flat["vega"] == 0).all()
    book = eq.filter(pl.col("n_open") > 0)
    assert (book["vega"] != 0).mean() > 0.9  # an open book has vega (unless every leg lacks a quote that day)


def test_next_open_fills_differ_only_in_their_fill_prices_and_never_look_ahead(market, run) -> None:  # type: ignore[no-untyped-def]
    from volengine.config import with_overrides

    s = with_overrides(Settings(), {"backtest": {"execution": "next_open"}})
    at_open = run_backtest(market, s)
    t_open = at_open.trades.filter(pl.col("param_set") == 0)
    t_close = run.trades.filter(pl.col("param_set") == 0)
    # the same decisions (signals, structures) on the same days; fills at the modelled open instead
    assert set(t_open["fills"]) == {"next_open"}
    assert set(t_close["fills"]) == {"next_close"}
    first = min(t_open.height, t_close.height, 5)
    assert first == 5
    assert t_open["entry_date"][:first].to_list() == t_close["entry_date"][:first].to_list()
    assert (t_open["entry_cashflow_points"][:first] != t_close["entry_cashflow_points"][:first]).all()
    eq = at_open.equity.filter(pl.col("param_set") == 0)
    assert_allclose(eq["equity"][-1] - eq["equity"][0], t_open["pnl_usd"].sum(), atol=1e-6)
    d = dt.date(2020, 3, 12)
    cut = run_backtest(market, s, end=d).equity.filter(pl.col("param_set") == 0)
    assert_allclose(cut["equity"].to_numpy(), eq.filter(pl.col("date") <= d)["equity"].to_numpy(), rtol=0, atol=1e-9)


def test_structures_allowed_of_the_universe_gates_the_requests() -> None:
    from volengine.config import load_universe, with_overrides

    feats = pl.DataFrame({
        "underlying": ["SPY", "QQQ", "SPY"], "date": [dt.date(2020, 1, 2)] * 2 + [dt.date(2020, 1, 3)],
        "regime": ["CHOP"] * 3, "skew_fired": [True, True, False], "skew_signal": ["skew_steep"] * 2 + [None],
        "skew_strength": [0.7, 0.7, None], "skew_history_mode": [1, 1, 1], "term_fired": [False, False, True],
        "term_signal": [None, None, "term_backwardation"], "term_strength": [None, None, 0.9],
        "term_history_mode": [1, 1, 1],
    })  # fmt: skip
    s = with_overrides(Settings(), {"structures": {"edge_map": {"CHOP": {"term_backwardation": "diagonal"}}}})
    uni = load_universe()
    assert "diagonal" not in uni.defaults.structures_allowed  # opt-in
    # without a universe every mapped choice is requested
    assert candidate_requests(feats, s)["choice"].to_list() == ["put_credit_spread", "put_credit_spread", "diagonal"]
    # the default universe: no diagonal
    assert candidate_requests(feats, s, universe=uni)["choice"].to_list() == ["put_credit_spread"] * 2
    # SPY allows only diagonals and condors; QQQ keeps the defaults
    spy_only = with_overrides(uni, {"symbols": {"SPY": {"structures_allowed": ["diagonal", "iron_condor"]}}})
    req = candidate_requests(feats, s, universe=spy_only)
    assert list(zip(req["underlying"], req["choice"], strict=True)) == [("QQQ", "put_credit_spread"),
                                                                         ("SPY", "diagonal")]  # fmt: skip
