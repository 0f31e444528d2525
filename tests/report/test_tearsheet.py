"""volengine.report.tearsheet: the quantstats HTML and the PNG charts of a synthetic run, the benchmark alignment,
the benchmark sources (run file, store bars, never the network) and the errors of a broken run directory.

One full tearsheet (quantstats import ~3 s plus ~5 s of charts) is shared by the module; the rest is cheap."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import struct
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import polars as pl
import pytest
from numpy.testing import assert_allclose
from polars.testing import assert_frame_equal
from synthetic_run import make_run_dir

from volengine.data.store import Store
from volengine.errors import ConfigError, DataError, SchemaError
from volengine.metrics import performance
from volengine.report.tearsheet import (
    benchmark_on_dates,
    load_benchmark,
    load_run,
    plot_greeks,
    plot_pnl_by_regime,
    run_settings,
    tearsheet,
)

TITLE = "Synthetic iron condor run"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk, after checking the signature."""
    head = path.read_bytes()[:24]
    assert head[:8] == PNG_MAGIC, f"{path.name} is not a PNG"
    assert head[12:16] == b"IHDR"
    return struct.unpack(">II", head[16:24])


def html_cell(html: str, label: str) -> str:
    """The last cell (the strategy's column) of the metrics-table row ``label``."""
    row = re.search(rf"<tr><td>{re.escape(label)}</td>(.*?)</tr>", html)
    assert row is not None, label
    return re.findall(r"<td>([^<]*)</td>", row.group(1))[-1]


class Collect(logging.Handler):
    """Keeps the messages of the records that reach it."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture(scope="module")
def sheet(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    run = make_run_dir(tmp_path_factory.mktemp("tearsheet"), np.random.default_rng(3), n_days=260, n_trades=50)
    before = {k: v for k, v in matplotlib.rcParams.items() if k != "backend"}
    font_log, records = logging.getLogger("matplotlib.font_manager"), Collect()
    font_log.addHandler(records)
    try:
        paths = tearsheet(run, "SPY", benchmark_returns=pl.read_parquet(run / "benchmark.parquet"), title=TITLE)
    finally:
        font_log.removeHandler(records)
    after = {k: v for k, v in matplotlib.rcParams.items() if k != "backend"}
    return {"run": run, "paths": paths, "rc_before": before, "rc_after": after, "font_log": records.messages}


def test_the_html_tearsheet_has_the_title_the_benchmark_and_our_curve(sheet: dict[str, Any]) -> None:
    run, html_path = sheet["run"], sheet["paths"]["html"]
    assert html_path == run / "report" / "tearsheet.html"
    html = html_path.read_text()
    assert len(html) > 50_000
    assert TITLE in html
    assert "SPY" in html
    # the whole curve goes in (no trimming of leading flat days): quantstats prints our rf-free numbers
    ours = performance(pl.read_parquet(run / "equity.parquet"))
    for label, key in [("Max Drawdown", "max_drawdown"), ("Cumulative Return", "total_return"), ("CAGR﹪", "cagr")]:
        assert_allclose(float(html_cell(html, label).rstrip("%")), 100 * ours[key], atol=0.006)


def test_the_charts_are_pngs_of_the_expected_size(sheet: dict[str, Any]) -> None:
    paths, report = sheet["paths"], sheet["run"] / "report"
    assert set(paths) == {"html", "equity_drawdown", "pnl_by_regime", "greeks"}
    for name in ("equity_drawdown", "pnl_by_regime", "greeks"):
        assert paths[name] == report / f"{name}.png"
        assert paths[name].stat().st_size > 20_000, name  # an empty 1000 px canvas is ~5 kB
        width, height = png_size(paths[name])
        assert width == 1000, name  # 10 in at 100 dpi
        assert height >= 400, name


def test_the_report_does_not_flood_the_log_with_missing_arial(sheet: dict[str, Any]) -> None:
    assert [m for m in sheet["font_log"] if "findfont" in m] == []


def test_the_matplotlib_state_is_left_as_it_was(sheet: dict[str, Any]) -> None:
    # quantstats sets font.family = Arial and a seaborn theme when imported; none of it may leak out
    changed = {k for k, v in sheet["rc_after"].items() if sheet["rc_before"][k] != v}
    assert changed == set()


def test_no_greeks_no_greeks_chart(tmp_path: Path) -> None:
    equity = pl.DataFrame({"date": [dt.date(2024, 1, 2), dt.date(2024, 1, 3)], "equity": [1.0, 1.1]})
    assert plot_greeks(equity, tmp_path / "greeks.png") is None
    assert not (tmp_path / "greeks.png").exists()


def test_a_run_without_closed_trades_still_gets_its_regime_chart(tmp_path: Path) -> None:
    trades = pl.DataFrame(schema={"pnl_usd": pl.Float64, "regime_at_entry": pl.String})
    path = plot_pnl_by_regime(trades, tmp_path / "pnl.png")
    assert png_size(path)[0] == 1000


# -- the benchmark -------------------------------------------------------------------------------------------


def days(*ds: int) -> pl.Series:
    return pl.Series("date", [dt.date(2024, 1, d) for d in ds], dtype=pl.Date)


def test_benchmark_closes_give_returns_over_the_strategy_intervals() -> None:
    closes = pl.DataFrame({"date": days(2, 3, 5, 8), "close": [100.0, 102.0, 101.0, 103.02]})
    got = benchmark_on_dates(days(3, 4, 5, 8), closes)
    # Jan 3 from the Jan 2 close; Jan 4 has no bar: flat, and Jan 5 catches up from Jan 3
    assert_allclose(got["ret"].to_numpy(), [0.02, 0.0, 101 / 102 - 1, 0.02], rtol=1e-12)
    assert_frame_equal(got.select("date"), days(3, 4, 5, 8).to_frame())


def test_benchmark_returns_on_the_same_dates_pass_through() -> None:
    rets = pl.DataFrame({"date": days(2, 3, 4), "ret": [0.01, -0.02, 0.005]})
    got = benchmark_on_dates(days(2, 3, 4), rets)
    assert_allclose(got["ret"].to_numpy(), [0.01, -0.02, 0.005], rtol=1e-12)


def test_adjusted_closes_win_over_closes() -> None:
    bars = pl.DataFrame({"date": days(2, 3), "close": [100.0, 50.0], "adj_close": [50.0, 50.5]})  # a 2:1 split
    assert_allclose(benchmark_on_dates(days(3), bars)["ret"].to_numpy(), [0.01], rtol=1e-12)


@pytest.mark.parametrize(("bench_days", "run_days"), [((3, 4, 5), (3, 4, 5)), ((2, 3, 4), (3, 4, 5))])
def test_a_benchmark_not_covering_the_run_is_a_data_error(
    bench_days: tuple[int, ...], run_days: tuple[int, ...]
) -> None:
    closes = pl.DataFrame({"date": days(*bench_days), "close": [1.0, 1.1, 1.2]})
    with pytest.raises(DataError, match="must cover the run"):
        benchmark_on_dates(days(*run_days), closes)


def test_a_benchmark_frame_without_values_is_a_schema_error() -> None:
    with pytest.raises(SchemaError, match="'ret' or 'close'"):
        benchmark_on_dates(days(3), pl.DataFrame({"date": days(2, 3), "price": [1.0, 2.0]}))


def test_a_benchmark_symbol_without_data_is_never_downloaded(tmp_path: Path) -> None:
    run = make_run_dir(tmp_path, np.random.default_rng(1), n_days=30, n_trades=5, has_benchmark=False)
    with pytest.raises(DataError, match="never downloaded"):
        tearsheet(run, "SPY")
    with pytest.raises(DataError, match="got neither"):
        load_benchmark(run, "SPY")
    assert not (run / "report").exists()


def test_the_benchmark_comes_from_the_store_bars(tmp_path: Path) -> None:
    run = make_run_dir(tmp_path, np.random.default_rng(1), n_days=30, n_trades=5, has_benchmark=False)
    equity = pl.read_parquet(run / "equity.parquet")
    dates = pl.concat([pl.Series("date", [dt.date(2021, 12, 31)]), equity["date"]])
    close = 400.0 * np.cumprod(1 + np.random.default_rng(2).normal(0, 0.01, dates.len()))
    bars = pl.DataFrame({"date": dates, "underlying": "SPY", "open": close, "high": close * 1.01,
                         "low": close * 0.99, "close": close, "volume": 1e6})  # fmt: skip
    Store(tmp_path / "store").write("bars", bars)
    got = benchmark_on_dates(equity["date"], load_benchmark(run, "SPY", tmp_path / "store"))
    assert_allclose(got["ret"].to_numpy(), close[1:] / close[:-1] - 1, rtol=1e-12)
    with pytest.raises(DataError, match="no bars of benchmark QQQ"):
        load_benchmark(run, "QQQ", tmp_path / "store")
    bars.write_parquet(run / "benchmark.parquet")  # the run's own file wins, filtered to the symbol
    assert_frame_equal(load_benchmark(run, "SPY", tmp_path / "nowhere").select("close"), bars.select("close"))
    with pytest.raises(DataError, match="no rows of benchmark QQQ"):
        load_benchmark(run, "QQQ")


# -- the run directory -------------------------------------------------------------------------------------------


def test_a_sweep_run_is_read_one_parameter_set_at_a_time(tmp_path: Path) -> None:
    run = make_run_dir(tmp_path, np.random.default_rng(1), n_days=30, n_trades=5)
    equity, trades = load_run(run)
    for name, frame, column in (("equity", equity, "equity"), ("trades", trades, "pnl_usd")):
        other = frame.with_columns(pl.col(column) * 2, param_set=pl.lit(0, pl.Int32))  # another parameter set
        pl.concat([other, frame.with_columns(param_set=pl.lit(1, pl.Int32))]).write_parquet(run / f"{name}.parquet")
    got_equity, got_trades = load_run(run, param_set=1)
    assert_frame_equal(got_equity, equity)
    assert_frame_equal(got_trades, trades)
    assert_allclose(load_run(run)[0]["equity"].to_numpy(), 2 * equity["equity"].to_numpy())  # default: set 0
    with pytest.raises(DataError, match="no rows of param_set 2"):
        load_run(run, param_set=2)


def test_a_missing_run_or_trade_log_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        tearsheet(tmp_path / "nope")
    run = make_run_dir(tmp_path, np.random.default_rng(1), n_days=30, n_trades=5)
    (run / "trades.parquet").unlink()
    with pytest.raises(DataError, match=r"has no trades\.parquet"):
        tearsheet(run)


def test_the_metrics_settings_come_from_the_run_config(tmp_path: Path) -> None:
    run = make_run_dir(tmp_path, np.random.default_rng(1), n_days=30, n_trades=5)
    assert run_settings(run).sharpe_risk_free_rate == 0.05  # the backtester's {"settings": {"metrics": ...}}
    config = {"settings": {"metrics": {"annualization_days": 365, "sharpe_risk_free_rate": 0.0}}}
    (run / "config.json").write_text(json.dumps(config))
    assert run_settings(run).annualization_days == 365
    (run / "config.json").write_text(json.dumps({"metrics": {"annualization_days": 360}}))
    assert run_settings(run).annualization_days == 360
    (run / "config.json").write_text(json.dumps({"metrics": {"annualization_days": 0}}))
    with pytest.raises(ConfigError, match=r"metrics\.annualization_days"):
        run_settings(run)
    (run / "config.json").unlink()
    assert run_settings(run).annualization_days == 252
