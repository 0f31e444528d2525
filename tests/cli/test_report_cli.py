"""``volengine report tearsheet`` through the CLI runner: the files and their printed paths, the benchmark
from the run directory, one-line errors (exit 1) for a missing run and for a benchmark without data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from synthetic_run import make_run_dir
from typer.testing import CliRunner

from volengine.cli.app import app

runner = CliRunner()


def test_tearsheet_writes_and_prints_every_file(tmp_path: Path) -> None:
    run = make_run_dir(tmp_path, np.random.default_rng(5), n_days=120, n_trades=30)
    html = tmp_path / "out" / "sheet.html"
    result = runner.invoke(app, ["report", "tearsheet", str(run), "--benchmark", "spy", "--output", str(html)])
    assert result.exit_code == 0, result.output
    printed = dict(line.split(": ", 1) for line in result.stdout.strip().splitlines())
    assert set(printed) == {"html", "equity_drawdown", "pnl_by_regime", "greeks"}
    assert Path(printed["html"]) == html
    assert "SPY" in html.read_text()  # the benchmark, read from RUN_DIR/benchmark.parquet
    for name in ("equity_drawdown", "pnl_by_regime", "greeks"):
        assert Path(printed[name]) == run / "report" / f"{name}.png"
        assert Path(printed[name]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("make", "extra", "words"),
    [
        (lambda root: root / "runs" / "missing", [], "does not exist"),
        (
            lambda root: make_run_dir(root, np.random.default_rng(1), n_days=20, n_trades=3, has_benchmark=False),
            ["--benchmark", "SPY"],
            "needs",
        ),
    ],
    ids=["missing-run", "benchmark-without-data"],
)
def test_errors_are_one_line_and_exit_1(tmp_path: Path, make, extra: list[str], words: str) -> None:  # type: ignore[no-untyped-def]
    run = make(tmp_path)
    result = runner.invoke(app, ["report", "tearsheet", str(run), *extra])
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error: ")
    assert words in lines[0]
    assert str(run) in lines[0] or "SPY" in lines[0]


@pytest.mark.parametrize("args", [["report"], ["report", "tearsheet"]])
def test_help_has_an_example(args: list[str]) -> None:
    result = runner.invoke(app, [*args, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output
