"""The root CLI: --version, --help on every command group with an example, the demo, error exits."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from volengine import __version__
from volengine.cli.app import app

runner = CliRunner()


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"volengine {__version__}"


@pytest.mark.parametrize("args", [[], ["demo"], ["config"], ["config", "show"], ["config", "validate"], ["bench"]])
def test_every_command_has_help_with_an_example(args: list[str]) -> None:
    result = runner.invoke(app, [*args, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output


def test_demo_runs_and_says_what_is_not_built_yet(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOLENGINE_CACHE", str(tmp_path))
    args = ["demo", "--seed", "3", "--start", "2024-01-02", "--end", "2024-03-28", "--runs-dir", str(tmp_path)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "VIX - forward 21d RV" in result.output
    assert "regime " in result.output
    assert "edge vrp fired" in result.output
    assert "Not built yet" in result.output


def test_unknown_command_is_a_usage_error() -> None:
    result = runner.invoke(app, ["no-such-command"])
    assert result.exit_code == 2


def test_demo_numbers_are_sane(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    from volengine.demo import run_demo

    monkeypatch.setenv("VOLENGINE_CACHE", str(tmp_path))
    r = run_demo(seed=1, start="2023-01-03", end="2023-06-30")
    assert r.n_days == 124  # XNYS sessions in 2023H1
    assert r.surface_share == 1.0
    assert 0.5 < r.vix_minus_atm30_pts < 4.0  # the Cboe-formula index sits above ATM IV (market model §3.4)
    assert abs(r.chain_vix_minus_vix_pts) < 0.05  # our model-free 30d variance is the same Cboe formula
    assert abs(sum(r.regime_share.values()) - 1.0) < 1e-12
    assert r.regime_share.get("WARMUP", 0.0) == 1.0  # half a year of bars: no regime before MA200 exists
    # a second run reads the cache instead of generating again
    again = run_demo(seed=1, start="2023-01-03", end="2023-06-30")
    assert again.store == r.store
    assert again.n_quotes == r.n_quotes
