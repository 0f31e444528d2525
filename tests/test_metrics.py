"""volengine.metrics: quantstats as the independent oracle where the definitions agree, closed forms and hand
computations where ours differ on purpose (trade-based statistics, exposure, drawdown duration in trading days),
the defects VolMachine had (Sortino over losing days only, CAGR on a fixed $10k), and the metrics.json file."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from numpy.testing import assert_allclose
from polars.testing import assert_frame_equal
from synthetic_run import make_frames, make_run_dir

from volengine.config import MetricsSettings, Settings
from volengine.errors import ConfigError, DataError, SchemaError
from volengine.metrics import MIN_TRADES, breakdown, performance, returns_from_equity, write_metrics

NO_RF = MetricsSettings(sharpe_risk_free_rate=0.0)


def levels_curve(levels: list[float] | np.ndarray, n_open: list[int] | None = None) -> pl.DataFrame:
    """An equity frame of opening equity ``levels[0]`` and closes ``levels[1:]`` on consecutive weekdays."""
    levels = np.asarray(levels, dtype=float)
    days = np.busday_offset(np.datetime64("2023-01-03"), np.arange(levels.size - 1), roll="forward")
    frame = pl.DataFrame({"date": pl.Series(days, dtype=pl.Date), "equity": levels[1:], "daily_pnl": np.diff(levels)})
    return frame if n_open is None else frame.with_columns(n_open=pl.Series(n_open, dtype=pl.Int32))


def curve(
    returns: list[float] | np.ndarray, opening: float = 100_000.0, n_open: list[int] | None = None
) -> pl.DataFrame:
    """An equity frame whose daily returns are ``returns`` from ``opening``."""
    r = np.asarray(returns, dtype=float)
    return levels_curve(opening * np.cumprod(np.concatenate([[1.0], 1.0 + r])), n_open)


def trade_log(pnl: list[float], **columns: list[object]) -> pl.DataFrame:
    exits = [dt.date(2023, 1, 3) + dt.timedelta(days=i) for i in range(len(pnl))]
    base = {"trade_id": list(range(1, len(pnl) + 1)), "pnl_usd": pnl, "max_loss_usd": [500.0] * len(pnl),
            "entry_date": [d - dt.timedelta(days=7) for d in exits], "exit_date": exits}  # fmt: skip
    return pl.DataFrame({**base, **columns})


# -- quantstats as the oracle ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def qs():  # type: ignore[no-untyped-def]
    """quantstats, imported only by the tests that compare with it (~3 s with matplotlib)."""
    return pytest.importorskip("quantstats")


def as_series(frame: pl.DataFrame):  # type: ignore[no-untyped-def]
    """The pandas boundary: clean fractional returns on a DatetimeIndex."""
    import pandas as pd

    return pd.Series(frame["ret"].to_numpy(), index=pd.DatetimeIndex(frame["date"].to_numpy()), name="Strategy")


@pytest.fixture
def fixture_curve(rng: np.random.Generator) -> pl.DataFrame:
    """Equity of a synthetic run: flat days without open trades, fat-tailed option P&L."""
    return make_frames(rng, n_days=400, n_trades=80)[0]


def test_returns_reproduce_the_generating_returns(rng: np.random.Generator) -> None:
    r = rng.normal(0.0005, 0.01, 50)
    got = returns_from_equity(curve(r))
    assert got.columns == ["date", "ret"]
    assert_allclose(got["ret"].to_numpy(), r, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("rf", [0.0, 0.05])
def test_curve_metrics_match_quantstats(qs, fixture_curve: pl.DataFrame, rf: float) -> None:  # type: ignore[no-untyped-def]
    cfg = MetricsSettings(sharpe_risk_free_rate=rf)
    got = performance(fixture_curve, settings=cfg)
    s = as_series(returns_from_equity(fixture_curve))
    # quantstats turns an annual rf into a daily one geometrically, (1 + rf) ** (1 / 252) - 1; the spec subtracts
    # rf / 252. So the excess returns go in with rf=0: std of r - c is std of r, the rest is the same formula.
    excess = s - rf / 252
    assert_allclose(got["sharpe"], qs.stats.sharpe(excess, rf=0.0, periods=252), rtol=1e-10, atol=1e-12)
    assert_allclose(got["sortino"], qs.stats.sortino(excess, rf=0.0, periods=252), rtol=1e-10, atol=1e-12)
    assert_allclose(got["volatility"], qs.stats.volatility(s, periods=252), rtol=1e-10, atol=1e-12)
    assert_allclose(got["max_drawdown"], qs.stats.max_drawdown(s), rtol=1e-10, atol=1e-12)
    # quantstats >= 0.0.70 annualizes CAGR by return count / periods, which is our trading-day definition
    assert_allclose(got["cagr"], qs.stats.cagr(s, periods=252), rtol=1e-10, atol=1e-12)
    assert_allclose(got["calmar"], qs.stats.calmar(s, periods=252), rtol=1e-10, atol=1e-12)
    assert_allclose(got["tail_ratio"], qs.stats.tail_ratio(s), rtol=1e-10, atol=1e-12)
    assert_allclose(got["daily_win_rate"], qs.stats.win_rate(s), rtol=1e-12, atol=1e-12)
    assert_allclose(got["total_return"], qs.stats.comp(s), rtol=1e-10, atol=1e-12)
    assert_allclose([got["best_day"], got["worst_day"]], [qs.stats.best(s), qs.stats.worst(s)], rtol=1e-12, atol=1e-12)


def test_a_first_day_loss_is_a_drawdown_from_the_opening_equity(qs) -> None:  # type: ignore[no-untyped-def]
    frame = curve([-0.1, 0.05, 0.02])
    got = performance(frame, settings=NO_RF)
    assert_allclose(got["max_drawdown"], -0.1, rtol=1e-12)
    assert_allclose(got["max_drawdown"], qs.stats.max_drawdown(as_series(returns_from_equity(frame))), rtol=1e-12)


# -- closed forms and hand computations --------------------------------------------------------------------


def test_constant_returns() -> None:
    got = performance(curve(np.full(252, 0.001), n_open=[1] * 252))
    assert_allclose(got["cagr"], 1.001**252 - 1, rtol=1e-10)
    assert_allclose(got["total_return"], got["cagr"], rtol=1e-10)
    assert_allclose(got["volatility"], 0.0, atol=1e-12)
    assert got["sharpe"] is None  # zero volatility: undefined, not 1e13
    assert got["sortino"] is None  # no day below the rf / 252 target
    assert got["max_drawdown"] == 0.0
    assert got["max_drawdown_duration_days"] == 0
    assert got["calmar"] is None
    assert_allclose([got["tail_ratio"], got["best_day"], got["worst_day"]], [1.0, 0.001, 0.001], rtol=1e-9)
    assert got["exposure"] == 1.0
    assert got["n_days"] == 252


@pytest.mark.parametrize(("n_days", "growth", "expected"), [(504, 2.0, math.sqrt(2) - 1), (126, 1.1, 1.1**2 - 1)])
def test_cagr_counts_trading_days_not_calendar_days(n_days: int, growth: float, expected: float) -> None:
    # 504 weekdays span ~2 calendar years here, but a calendar-year CAGR would change with holidays and weekends
    # in the calendar; the spec's (1 + R) ** (252 / n) - 1 depends only on the number of trading days.
    got = performance(curve(np.full(n_days, growth ** (1 / n_days) - 1)))
    assert_allclose(got["cagr"], expected, rtol=1e-9)


def test_cagr_uses_the_real_opening_equity_not_a_fixed_10k() -> None:
    got = performance(levels_curve(np.linspace(25_000.0, 30_000.0, 253)))
    assert_allclose([got["cagr"], got["start_equity_usd"]], [0.2, 25_000.0], rtol=1e-12)  # a fixed $10k: 0.5


def test_sortino_uses_downside_deviation_over_all_days() -> None:
    r = np.array([0.03, -0.01, 0.02, -0.02])
    got = performance(curve(r), settings=NO_RF)
    downside = math.sqrt((0.01**2 + 0.02**2) / 4)  # over all four days
    assert_allclose(got["sortino"], r.mean() / downside * math.sqrt(252), rtol=1e-9)
    negative_days_only = r[r < 0].std(ddof=1)  # the VolMachine defect
    assert abs(got["sortino"] - r.mean() / negative_days_only * math.sqrt(252)) > 1.0


def test_sharpe_subtracts_the_daily_risk_free_share() -> None:
    r = np.array([0.01, -0.005, 0.007, 0.0, -0.002, 0.004])
    got = performance(curve(r))  # default rf 0.05
    assert_allclose(got["sharpe"], (r - 0.05 / 252).mean() / r.std(ddof=1) * math.sqrt(252), rtol=1e-9)


def test_one_drawdown_of_known_depth_and_duration() -> None:
    # opening 100, closes 110 (peak, day 1), 99, 104.5, 110 (recovered, day 4), 121
    got = performance(levels_curve([100.0, 110.0, 99.0, 104.5, 110.0, 121.0]))
    assert_allclose([got["max_drawdown"], got["max_drawdown_usd"]], [-0.1, -11.0], rtol=1e-9)
    assert got["max_drawdown_duration_days"] == 3
    assert_allclose(got["calmar"], got["cagr"] / 0.1, rtol=1e-12)


def test_an_unrecovered_drawdown_lasts_to_the_end() -> None:
    got = performance(levels_curve([100.0, 110.0, 99.0, 100.0, 109.0]))
    assert got["max_drawdown_duration_days"] == 3  # peak on day 1, still under water on day 4
    got = performance(levels_curve([100.0, 105.0, 104.0, 103.0, 106.0, 107.0, 85.0, 86.0]))
    assert got["max_drawdown_duration_days"] == 3  # the longest episode (days 1-4), not the deepest (5-7: 2)
    assert_allclose(got["max_drawdown"], 85.0 / 107.0 - 1, rtol=1e-12)


def test_trade_metrics_by_hand() -> None:
    trades = trade_log([100.0, 50.0, -30.0, 0.0, -20.0], model_marked=[False, False, True, False, False])
    got = performance(curve([0.001] * 5, n_open=[0, 1, 2, 0, 1]), trades)
    assert got["n_trades"] == 5
    assert_allclose(
        [got["win_rate"], got["profit_factor"], got["avg_win_usd"], got["avg_loss_usd"], got["expectancy_usd"]],
        [0.4, 150.0 / 50.0, 75.0, -50.0 / 3, 20.0],
        rtol=1e-12,
    )
    assert_allclose(got["expectancy_usd"], np.mean([100.0, 50.0, -30.0, 0.0, -20.0]), rtol=1e-12)
    assert_allclose([got["expectancy_r"], got["gross_loss_usd"], got["avg_hold_days"]], [0.04, 50.0, 7.0])
    assert got["max_consecutive_losses"] == 3  # exit-ordered: -30, 0 (a loser), -20
    assert got["exposure"] == 0.6
    assert any("1 of 5 trades" in w for w in got["warnings"])


def test_no_losing_trade_gives_no_profit_factor() -> None:
    got = performance(curve([0.001] * 3), trade_log([10.0, 20.0]))
    assert got["profit_factor"] is None
    assert got["avg_loss_usd"] is None
    assert got["win_rate"] == 1.0
    assert_allclose(got["expectancy_usd"], 15.0)
    only_losers = performance(curve([0.001] * 3), trade_log([-10.0, 0.0]))
    assert only_losers["profit_factor"] == 0.0
    assert only_losers["win_rate"] == 0.0


def test_no_trades() -> None:
    got = performance(curve([0.001] * 3))
    assert got["n_trades"] == 0
    assert got["win_rate"] is None
    assert got["profit_factor"] is None
    assert got["expectancy_usd"] is None
    assert got["exposure"] is None  # no n_open column


def test_sample_size_warnings(rng: np.random.Generator) -> None:
    few = performance(curve(rng.normal(0, 0.01, 100)), trade_log([1.0] * (MIN_TRADES - 1)))
    assert any(f"only {MIN_TRADES - 1} closed trades" in w for w in few["warnings"])
    assert any("only 100 trading days" in w for w in few["warnings"])
    enough = performance(curve(rng.normal(0, 0.01, 252)), trade_log([1.0] * MIN_TRADES))
    assert enough["warnings"] == []


def test_open_trades_are_left_out_with_a_warning() -> None:
    got = performance(curve([0.001] * 3), trade_log([10.0, None, -5.0]))  # type: ignore[list-item]
    assert got["n_trades"] == 2
    assert any("1 trades without pnl_usd" in w for w in got["warnings"])


def test_daily_pnl_disagreeing_with_the_equity_is_flagged() -> None:
    frame = curve([0.01, 0.01, 0.01]).with_columns(daily_pnl=pl.Series([1000.0, 1010.0, 5.0]))
    got = performance(frame)
    assert any("daily_pnl differs" in w and "2023-01-05" in w for w in got["warnings"])


def test_returns_without_daily_pnl_start_on_the_second_day() -> None:
    frame = curve([0.01, 0.02, -0.01]).drop("daily_pnl")
    got = returns_from_equity(frame)
    assert_frame_equal(got.select("date"), frame.select("date").slice(1))
    assert_allclose(got["ret"].to_numpy(), [0.02, -0.01], rtol=1e-12)


@pytest.mark.parametrize(
    ("edit", "error", "words"),
    [
        (lambda f: f.drop("equity"), SchemaError, "missing ['equity']"),
        (lambda f: f.with_columns(equity=pl.Series([1.0, -2.0, 3.0])), DataError, "got -2.0 at row 1"),
        (lambda f: f.reverse(), DataError, "strictly increasing"),
        (lambda f: f.head(0), DataError, "at least one row"),
        (lambda f: f.with_columns(daily_pnl=pl.col("equity") * 2), DataError, "opening equity"),
    ],
)
def test_bad_equity_frames_are_data_errors(edit, error: type[Exception], words: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(error) as info:
        performance(edit(curve([0.01, 0.02, -0.01])))
    assert words in str(info.value)


def test_settings_may_be_the_root_settings_or_the_section() -> None:
    frame = curve([0.01, -0.02, 0.015, 0.003])
    root = Settings.model_validate({"metrics": {"annualization_days": 365, "sharpe_risk_free_rate": 0.0}})
    section = MetricsSettings(annualization_days=365, sharpe_risk_free_rate=0.0)
    assert performance(frame, settings=root) == performance(frame, settings=section)
    assert performance(frame, settings=root)["cagr"] != performance(frame)["cagr"]
    with pytest.raises(ConfigError, match="got dict"):
        performance(frame, settings={"annualization_days": 365})  # type: ignore[arg-type]


# -- breakdowns ----------------------------------------------------------------------------------------------


def test_breakdown_by_regime_by_hand() -> None:
    trades = trade_log([100.0, 50.0, -30.0, 0.0, -20.0], regime_at_entry=["CALM", "PANIC", "CALM", "PANIC", "CALM"])
    got = breakdown(trades, "regime")
    expected = pl.DataFrame(
        {
            "regime_at_entry": ["CALM", "PANIC"],
            "n": [3, 2],
            "win_rate": [1 / 3, 0.5],
            "pnl_usd": [50.0, 50.0],
            "avg_pnl_usd": [50.0 / 3, 25.0],
            "profit_factor": [2.0, None],  # PANIC has a zero-P&L loser but no gross loss
            "expectancy_r": [50.0 / 3 / 500.0, 25.0 / 500.0],
        }
    )
    assert_frame_equal(got, expected)


def test_breakdown_groups_add_up_to_the_whole(rng: np.random.Generator) -> None:
    equity, trades = make_frames(rng, n_days=200, n_trades=50)
    overall = performance(equity, trades)
    for by in ("structure", "edge", "exit_reason", "underlying"):
        got = breakdown(trades, by)
        assert got["n"].sum() == trades.height
        assert_allclose(got["pnl_usd"].sum(), trades["pnl_usd"].sum(), rtol=1e-12)
        assert_allclose((got["win_rate"] * got["n"]).sum() / got["n"].sum(), overall["win_rate"], rtol=1e-12)


def test_breakdown_by_an_unknown_column_is_a_schema_error() -> None:
    with pytest.raises(SchemaError, match="got 'colour'"):
        breakdown(trade_log([1.0]), "colour")
    with pytest.raises(SchemaError, match=r"missing \['structure'\]"):
        breakdown(trade_log([1.0]), "structure")


# -- metrics.json ----------------------------------------------------------------------------------------------


def test_write_metrics_round_trips_through_json(tmp_path: Path, rng: np.random.Generator) -> None:
    run = make_run_dir(tmp_path, rng, n_days=120, n_trades=20)
    equity, trades = pl.read_parquet(run / "equity.parquet"), pl.read_parquet(run / "trades.parquet")
    doc = write_metrics(run, equity, trades)
    on_disk = json.loads((run / "metrics.json").read_text())
    assert on_disk == doc
    assert on_disk["start_date"] == str(equity["date"][0])
    assert on_disk["settings"] == {"annualization_days": 252, "sharpe_risk_free_rate": 0.05}
    assert on_disk["overall"]["n_trades"] == 20
    assert any("only 20 closed trades" in w for w in on_disk["overall"]["warnings"])
    assert_allclose(on_disk["overall"]["sharpe"], performance(equity, trades)["sharpe"], rtol=1e-12)
    assert [r["regime_at_entry"] for r in on_disk["by_regime"]] == sorted(trades["regime_at_entry"].unique())
    assert sum(r["n"] for r in on_disk["by_structure"]) == 20
    assert {"by_edge", "by_exit_reason"} <= set(on_disk)
    assert list(run.glob(".metrics.json*")) == []


def test_write_metrics_writes_null_for_undefined_values(tmp_path: Path) -> None:
    doc = write_metrics(tmp_path / "run", curve([0.001] * 3), trade_log([10.0, 20.0], structure=["ic", "ic"]))
    text = (tmp_path / "run" / "metrics.json").read_text()
    assert "NaN" not in text
    assert "Infinity" not in text
    assert doc["overall"]["profit_factor"] is None
    assert doc["by_structure"][0]["profit_factor"] is None
    assert doc["by_regime"] == []  # the log has no regime_at_entry


def test_a_failed_write_leaves_the_old_metrics_intact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_metrics(tmp_path, curve([0.001] * 3), trade_log([10.0]))
    before = (tmp_path / "metrics.json").read_text()

    def broken_fsync(fd: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="disk full"):
        write_metrics(tmp_path, curve([-0.01] * 3), trade_log([-10.0]))
    assert (tmp_path / "metrics.json").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]


def test_the_losing_streak_follows_the_exit_dates_not_the_row_order() -> None:
    exits = [dt.date(2023, 3, d) for d in (1, 3, 6, 2, 7, 8)]
    trades = trade_log([-1.0, 3.0, -4.0, -2.0, -5.0, -6.0]).with_columns(exit_date=pl.Series(exits))
    # in exit order: -1, -2, +3, -4, -5, -6; in row order the last four losers would look like one streak of 4
    assert performance(curve([0.001] * 3), trades)["max_consecutive_losses"] == 3
