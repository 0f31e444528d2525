"""``volengine data generate`` and the synthetic-market cache: tables land in the Store, truth beside it."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from volengine.cli.app import app
from volengine.data.store import Store

runner = CliRunner()


def test_generate_writes_every_table_and_the_truth(tmp_path: Path) -> None:
    store = tmp_path / "store"
    args = ["data", "generate", "--underlyings", "SPY,AAA", "--years", "0.15", "--seed", "7", "--store", str(store)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "option_quotes" in result.output
    for name in ("SPY", "AAA"):
        truth = pl.read_parquet(store / "truth" / f"{name}.parquet")
        assert truth.height > 20
        assert (store / "truth" / f"{name}_events.parquet").is_file()
    st = Store(store)
    assert st.date_range("bars") is not None


def test_generate_rejects_bad_symbols(tmp_path: Path) -> None:
    result = runner.invoke(app, ["data", "generate", "--underlyings", "SP Y", "--store", str(tmp_path)])
    assert result.exit_code != 0


def test_generate_help_has_an_example() -> None:
    result = runner.invoke(app, ["data", "generate", "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output


def test_cached_market_store_generates_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from volengine.datasets import cached_market_store

    monkeypatch.setenv("VOLENGINE_CACHE", str(tmp_path))
    kw = {"start": "2020-01-02", "end": "2020-02-28", "with_chains": False}
    first = cached_market_store(1, **kw)
    stamp = (first / "COMPLETE").stat().st_mtime_ns
    again = cached_market_store(1, **kw)
    assert again == first
    assert (again / "COMPLETE").stat().st_mtime_ns == stamp
    assert first.parent == tmp_path / "synthetic"
    assert cached_market_store(2, **kw) != first
    assert not [p for p in first.parent.iterdir() if p.name.startswith(".")]
