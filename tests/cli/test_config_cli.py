"""``volengine config show`` and ``volengine config validate`` through the real Typer app."""

from __future__ import annotations

import json
import os
from importlib.resources import files
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from volengine.cli.app import app
from volengine.config import Settings, settings_fingerprint
from volengine.errors import ConfigError

runner = CliRunner()


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("VOLENGINE_"):
            monkeypatch.delenv(name)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_show_prints_the_effective_config_as_yaml() -> None:
    result = runner.invoke(app, ["config", "show"])
    assert result.exit_code == 0, result.output
    document = yaml.safe_load(result.stdout)
    assert document["settings"] == Settings().model_dump(mode="json")
    assert list(document["universe"]["symbols"])[:3] == ["SPY", "QQQ", "IWM"]
    assert result.stdout.startswith(f"# settings fingerprint: {settings_fingerprint(Settings())}\n")


def test_show_applies_file_and_env_and_prints_json(tmp_path: Path) -> None:
    config = write(tmp_path, "settings.yaml", "risk:\n  per_trade_risk_pct: 0.5\n")
    universe = write(tmp_path, "universe.yaml", "symbols:\n  IWM: {enabled: false}\n")
    env = {"VOLENGINE_REGIME__GATING__MIN_CONFIDENCE": "0.6"}
    args = ["config", "show", "--config", str(config), "--universe", str(universe), "--format", "json"]
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["settings"]["risk"]["per_trade_risk_pct"] == 0.5
    assert document["settings"]["regime"]["gating"]["min_confidence"] == 0.6
    assert document["universe"]["symbols"]["IWM"]["enabled"] is False


def test_show_raises_config_error_for_the_app_to_report(tmp_path: Path) -> None:
    config = write(tmp_path, "bad.yaml", "risk: {per_trade_risk_pct: 12}\n")
    result = runner.invoke(app, ["config", "show", "--config", str(config)])
    assert result.exit_code == 1
    assert isinstance(result.exception, ConfigError)
    assert result.exception.problems == [
        f"{config}: risk.per_trade_risk_pct: must be <= total_risk_pct (10.0) (got 12.0)"
    ]


def test_validate_ok(tmp_path: Path) -> None:
    config = write(tmp_path, "settings.yaml", "account: {equity_usd: 25000}\n")
    universe = write(tmp_path, "universe.yaml", "symbols: {DIA: {vol_index: VIX}}\n")
    result = runner.invoke(app, ["config", "validate", str(config), "--universe", str(universe)])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [f"OK: {config}", f"OK: {universe}"]


def test_validate_shipped_files() -> None:
    package = files("volengine.config")
    settings, universe = str(package.joinpath("settings.yaml")), str(package.joinpath("universe.yaml"))
    result = runner.invoke(app, ["config", "validate", settings, "--universe", universe])
    assert result.exit_code == 0, result.output


def test_validate_prints_every_problem_and_exits_1(tmp_path: Path) -> None:
    config = write(
        tmp_path,
        "settings.yaml",
        "risk: {per_trade_risk_pct: -1}\n"
        "structures: {expiry: {min_dte_days: 61}}\n"
        "regime: {size_multipliers: {PANIC: 1}}\n",
    )
    universe = write(tmp_path, "universe.yaml", "symbols: {DIA: {vol_index: VXD}}\n")
    result = runner.invoke(app, ["config", "validate", str(config), "--universe", str(universe)])
    assert result.exit_code == 1, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 4, lines
    assert lines[0].startswith(f"{config}: regime.size_multipliers.PANIC: invalid key")
    assert lines[1] == f"{config}: structures.expiry.min_dte_days: must be <= max_dte_days (60) (got 61)"
    assert lines[2] == f"{config}: risk.per_trade_risk_pct: input should be greater than 0 (got -1)"
    assert lines[3].startswith(f"{universe}: symbols.DIA.vol_index: must be one of vol_indices")
    assert "OK:" not in result.stdout


def test_validate_ignores_the_environment(tmp_path: Path) -> None:
    config = write(tmp_path, "settings.yaml", "{}\n")
    result = runner.invoke(app, ["config", "validate", str(config)], env={"VOLENGINE_RISK__TOTAL_RISK_PCT": "x"})
    assert result.exit_code == 0, result.output


def test_validate_reports_missing_and_broken_files(tmp_path: Path) -> None:
    broken = write(tmp_path, "broken.yaml", "risk: [\n")
    result = runner.invoke(app, ["config", "validate", str(broken), "--universe", str(tmp_path / "none.yaml")])
    assert result.exit_code == 1
    first, second = result.stderr.splitlines()
    assert first.startswith(f"{broken}: line ")
    assert "invalid YAML" in first
    assert second == f"{tmp_path / 'none.yaml'}: file not found"


def test_validate_without_files_is_a_usage_error() -> None:
    result = runner.invoke(app, ["config", "validate"])
    assert result.exit_code == 2


@pytest.mark.parametrize("command", [["config"], ["config", "show"], ["config", "validate"]])
def test_every_help_has_an_example(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example: volengine config" in result.stdout
