"""``volengine data check`` through the real Typer app."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from volengine.cli.app import app
from volengine.data.store import Store

runner = CliRunner()
DAY = dt.date(2024, 3, 14)


def make_store(tmp_path: Path) -> Path:
    """Two clean rows, one on a day before a missing session, one zero-ask row and one zero-bid row."""
    base = {"underlying": "SPY", "root": "SPY", "expiration": dt.date(2024, 4, 19), "style": "american"}
    base |= {"settlement": "PM", "underlying_price": 450.0, "snapshot": "eod_1600"}
    rows = [
        {**base, "date": dt.date(2024, 3, 13), "strike": 450.0, "right": "C", "bid": 8.0, "ask": 8.1},
        {**base, "date": DAY, "strike": 450.0, "right": "C", "bid": 8.2, "ask": 8.3},
        {**base, "date": DAY, "strike": 460.0, "right": "C", "bid": 0.0, "ask": 0.0},
        {**base, "date": dt.date(2024, 3, 18), "strike": 500.0, "right": "C", "bid": 0.0, "ask": 0.05},
    ]
    root = tmp_path / "store"
    Store(root).write("option_quotes", pl.DataFrame(rows))
    return root


def test_check_prints_the_report_and_writes_json(tmp_path: Path) -> None:
    root = make_store(tmp_path)
    out = tmp_path / "q.json"
    result = runner.invoke(app, ["data", "check", "--store", str(root), "--json", str(out), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "checked 4 rows: 2 kept, 1 flagged, 1 rejected" in result.output
    assert "dry run: 1 rejected row(s) left in place" in result.output
    assert "SPY: 1 missing session(s): 2024-03-15" in result.output
    for title in ("By reason", "By underlying", "By year"):
        assert title in result.output
    assert "nonpositive_price" in result.output
    assert json.loads(out.read_text())["verdicts"]["rejected"] == 1
    assert Store(root).read("quarantine").is_empty()


def test_check_quarantines_and_filters(tmp_path: Path) -> None:
    root = make_store(tmp_path)
    args = ["data", "check", "--store", str(root), "--underlyings", "SPY,QQQ", "--start", "2024-03-14"]
    result = runner.invoke(app, [*args, "--end", "2024-03-14"])
    assert result.exit_code == 0, result.output
    assert "quarantined 1 row(s)" in result.output
    assert Store(root).read("quarantine").height == 1


def test_missing_store_is_a_one_line_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["data", "check", "--store", str(tmp_path / "nope")])
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: store directory ")
    assert lines[0].endswith("does not exist")


def test_help_has_an_example() -> None:
    result = runner.invoke(app, ["data", "check", "--help"])
    assert result.exit_code == 0, result.output
    assert "Example: volengine data check" in result.output
