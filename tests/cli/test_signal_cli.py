"""``volengine signal`` and ``volengine bench pipeline`` through the CLI runner."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from volengine.cli.app import app
from volengine.data.store import Store
from volengine.pipeline import analyze

runner = CliRunner()


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("signal") / "store"
    args = ["data", "generate", "--underlyings", "SPY,QQQ", "--years", "0.3", "--seed", "4", "--store", str(root)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return root


def test_signal_json_is_the_history_row_of_each_universe_symbol(store_dir: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("VOLENGINE_CACHE", str(store_dir.parent / "cache"))
    history = analyze(Store(store_dir))
    day = history["date"].unique().sort()[40]
    result = runner.invoke(app, ["signal", "--store", str(store_dir), "--date", str(day), "--json"])
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    assert [r["underlying"] for r in records] == ["QQQ", "SPY"]  # enabled universe symbols present in the store
    for rec in records:
        row = history.filter((pl.col("underlying") == rec["underlying"]) & (pl.col("date") == day))
        assert rec["date"] == str(day)
        assert rec["regime"]["regime"] == row["regime"].cast(pl.String).item()
        assert rec["features"]["atm_iv_30d"] == row["atm_iv_30d"].item()
        assert set(rec["edges"]) == {"vrp", "term", "skew", "event", "gamma"}
        for name, edge in rec["edges"].items():
            assert edge["fired"] == row[f"{name}_fired"].item()


def test_signal_table_and_the_same_run_twice_through_the_cache(store_dir: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("VOLENGINE_CACHE", str(store_dir.parent / "cache"))
    result = runner.invoke(app, ["signal", "--store", str(store_dir), "--underlyings", "spy"])
    assert result.exit_code == 0, result.output
    assert "regime" in result.output
    assert "edges" in result.output
    first = analyze(Store(store_dir))
    assert_frame_equal(first, analyze(Store(store_dir)))  # the second run reads the chain-stage cache
    assert any((store_dir.parent / "cache" / "derived").glob("SPY-*-surface.parquet"))


def test_a_bad_date_is_a_usage_error_naming_the_option(store_dir: Path) -> None:
    result = runner.invoke(app, ["signal", "--store", str(store_dir), "--date", "2024-13-01"])
    assert result.exit_code == 2
    assert "--date" in result.output
    assert "2024-13-01" in result.output


@pytest.mark.parametrize("args", [["signal"], ["backtest"], ["bench", "pipeline"]])
def test_help_has_an_example(args: list[str]) -> None:
    result = runner.invoke(app, [*args, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output


def test_backtest_command_writes_a_run_directory(store_dir: Path, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("VOLENGINE_CACHE", str(store_dir.parent / "cache"))
    result = runner.invoke(app, ["backtest", "--store", str(store_dir), "--runs-dir", str(tmp_path), "--name", "t"])
    assert result.exit_code == 0, result.output
    assert "run directory" in result.output
    (run_dir,) = tmp_path.glob("t-*")
    assert (run_dir / "metrics.json").is_file()
    assert (run_dir / "trades.parquet").is_file()
