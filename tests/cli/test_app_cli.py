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


def test_demo_runs_and_says_what_is_not_built_yet() -> None:
    result = runner.invoke(app, ["demo", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "IV round trip on those" in result.output
    assert "yang_zhang" in result.output
    assert "Not built yet" in result.output


def test_unknown_command_is_a_usage_error() -> None:
    result = runner.invoke(app, ["no-such-command"])
    assert result.exit_code == 2


def test_demo_numbers_are_sane() -> None:
    from volengine.demo import run_demo

    r = run_demo(seed=1)
    assert r.iv_max_error_vs_true <= 1e-8
    assert 0.85 <= r.iv_determined_share <= 1.0
    assert r.iv_solved_share > 0.9
    atm, put25, call25 = (r.smile_28d[k][1] for k in ("ATM", "25d put", "25d call"))
    assert put25 > atm > call25  # the demo smile has a put skew
    assert all(abs(v) < 3 for v in r.rv_error_pct.values()), r.rv_error_pct
