"""Settings, universe and secrets: documented defaults, loading, error lines, env overrides, immutability."""

from __future__ import annotations

import copy
import hashlib
import os
import pickle
import re
import traceback
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, ValidationError

from volengine.config import (
    GammaSignConvention,
    Regime,
    Secrets,
    Settings,
    SignalKind,
    StructureChoice,
    Universe,
    load_secrets,
    load_settings,
    load_universe,
    resolve_symbol,
    settings_fingerprint,
    with_overrides,
)
from volengine.config._base import ConfigModel
from volengine.errors import ConfigError

SECRET = "sk-live-7f3a9c2e"
CREDENTIAL_VARS = ("POLYGON_API_KEY", "TRADIER_API_KEY", "POLYGON_S3_ACCESS_KEY_ID", "POLYGON_S3_SECRET_ACCESS_KEY")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's own VOLENGINE_* or credential variables must not leak into these tests."""
    for name in list(os.environ):
        if name.startswith("VOLENGINE_") or name in CREDENTIAL_VARS:
            monkeypatch.delenv(name)


def write(tmp_path: Path, text: str, name: str = "settings.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(call: Any) -> list[str]:
    with pytest.raises(ConfigError) as info:
        call()
    return info.value.problems


def get(model: BaseModel, dotted: str) -> Any:
    value: Any = model
    for part in dotted.split("."):
        value = value[part] if isinstance(value, dict) else getattr(value, part)
    return value


# --- documented defaults -------------------------------------------------------------------------------

DOCUMENTED = [
    ("risk.per_trade_risk_pct", 1.0),
    ("risk.total_risk_pct", 10.0),
    ("risk.daily_loss_limit_pct", 3.0),
    ("risk.weekly_loss_limit_pct", 5.0),
    ("risk.max_drawdown_pct", 15.0),
    ("risk.max_contracts", 50),
    ("risk.max_open_trades", 10),
    ("risk.daily_loss_warn_pct", 2.0),
    ("risk.weekly_loss_warn_pct", 3.0),
    ("risk.drawdown_warn_pct", 10.0),
    ("risk.kill_switch_action", "block"),
    ("risk.kill_switch_reset", "manual"),
    ("stress.spot_moves_frac", (0.01, 0.02, 0.05)),
    ("stress.gap_scenarios_frac", (0.02, 0.05)),
    ("stress.iv_shift_vol_points", 5.0),
    ("stress.spread_widen_factor", 2.0),
    ("account.equity_usd", 100_000.0),
    ("market.risk_free_rate", 0.045),
    ("market.dividend_yields.SPY", 0.013),
    ("market.dividend_yields.QQQ", 0.005),
    ("market.dividend_yields.IWM", 0.011),
    ("regime.features.ma_periods_days", (20, 50, 200)),
    ("regime.features.rv_windows_days", (5, 20, 60)),
    ("regime.thresholds.vix_low_points", 15.0),
    ("regime.thresholds.vix_high_points", 25.0),
    ("regime.thresholds.vix_panic_points", 35.0),
    ("regime.thresholds.rv_high", 0.30),
    ("regime.thresholds.rv_ratio_spike", 1.5),
    ("regime.thresholds.drawdown_bear_frac", -0.20),
    ("regime.points.vix_panic_score", 3.0),
    ("regime.points.price_vs_ma50_score", 1.5),
    ("regime.gating.min_confidence", 0.4),
    ("regime.hysteresis.min_dwell_days", 0),
    ("regime.hysteresis.switch_margin_score", 0.0),
    ("regime.size_multipliers.HIGH_VOL_PANIC", 0.5),
    ("regime.size_multipliers.TREND_DOWN", 0.75),
    ("regime.size_multipliers.CHOP", 0.5),
    ("edges.vrp.iv_rv_ratio_threshold", 1.3),
    ("edges.vrp.percentile_threshold", 80.0),
    ("edges.vrp.lookback_days", 252),
    ("edges.vrp.min_atm_iv", 0.10),
    ("edges.vrp.panic_percentile_threshold", 95.0),
    ("edges.term_structure.contango_frac", 0.02),
    ("edges.term_structure.backwardation_frac", -0.02),
    ("edges.skew.steep_percentile", 90.0),
    ("edges.skew.lookback_days", 60),
    ("edges.event_vol.min_iv_premium_pct", 20.0),
    ("edges.event_vol.days_before_event", 5),
    ("edges.gamma.min_open_interest", 1000),
    ("edges.gamma.pin_zone_width_pct", 1.0),
    ("structures.liquidity.min_volume", 100),
    ("structures.liquidity.min_open_interest", 500),
    ("structures.liquidity.max_bid_ask_pct", 5.0),
    ("structures.paper_liquidity.min_open_interest", 50),
    ("structures.expiry.min_dte_days", 7),
    ("structures.expiry.max_dte_days", 60),
    ("structures.expiry.target_dte_days", 30),
    ("structures.strikes.preferred_width_points", 5.0),
    ("structures.strikes.min_width_points", 1.0),
    ("structures.strikes.max_width_points", 20.0),
    ("structures.strikes.strike_mode", "offset"),
    ("fills.slippage_pct", 0.5),
    ("fills.spread_fraction_by_legs", (0.75, 0.66, 0.56, 0.53)),
    ("commissions.commission_per_contract_usd", 0.65),
    ("commissions.reg_fee_per_contract_usd", 0.02),
]


@pytest.mark.parametrize(("field", "expected"), DOCUMENTED)
def test_default_equals_documented_value(field: str, expected: Any) -> None:
    assert get(Settings(), field) == expected
    assert get(load_settings(env={}), field) == expected


def test_gamma_sign_defaults_to_calls_positive_puts_negative() -> None:
    convention = Settings().edges.gamma.sign_convention
    assert convention is GammaSignConvention.CALLS_POSITIVE
    assert (convention.call_sign, convention.put_sign) == (1, -1)


def test_regime_enum_names_are_exact() -> None:
    assert [r.name for r in Regime] == ["LOW_VOL_GRIND", "HIGH_VOL_PANIC", "TREND_UP", "TREND_DOWN", "CHOP"]
    assert all(r == r.name for r in Regime)


def test_default_edge_map_follows_each_thesis() -> None:
    edge_map = Settings().structures.edge_map
    assert edge_map[Regime.TREND_DOWN][SignalKind.VRP] is StructureChoice.CALL_CREDIT_SPREAD
    assert edge_map[Regime.TREND_UP][SignalKind.VRP] is StructureChoice.PUT_CREDIT_SPREAD
    assert edge_map[Regime.LOW_VOL_GRIND][SignalKind.VRP] is StructureChoice.IRON_CONDOR
    for row in edge_map.values():
        assert set(row) == set(SignalKind)
        for signal, choice in row.items():
            assert choice is StructureChoice.NONE or choice.is_short_vol == signal.is_short_vol


def _leaves(data: Any, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    if isinstance(data, dict) and data:
        return set().union(*(_leaves(v, (*prefix, str(k))) for k, v in data.items()))
    return {prefix}


@pytest.mark.parametrize(("name", "model"), [("settings.yaml", Settings), ("universe.yaml", Universe)])
def test_shipped_yaml_equals_model_defaults_key_for_key(name: str, model: type[BaseModel]) -> None:
    shipped = yaml.safe_load(files("volengine.config").joinpath(name).read_text(encoding="utf-8"))
    assert model.model_validate(shipped) == model()
    documented = model().model_dump(mode="json")
    if model is Universe:  # symbols list only their overrides
        documented["symbols"] = {
            name: spec.model_dump(mode="json", exclude_defaults=True) for name, spec in Universe().symbols.items()
        }
    assert _leaves(shipped) == _leaves(documented)


def _config_models() -> list[type[BaseModel]]:
    found, todo = [], [ConfigModel]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


@pytest.mark.parametrize("model", _config_models(), ids=lambda m: m.__name__)
def test_every_model_is_strict_frozen_and_documented(model: type[BaseModel]) -> None:
    config = model.model_config
    assert (config["extra"], config["frozen"], config["validate_default"]) == ("forbid", True, True)
    undocumented = [name for name, field in model.model_fields.items() if not field.description]
    assert undocumented == []


# --- one clear line per problem --------------------------------------------------------------------------

REGIMES = "'LOW_VOL_GRIND', 'HIGH_VOL_PANIC', 'TREND_UP', 'TREND_DOWN' or 'CHOP'"
BAD_VALUES = [
    ("risk: {per_trade_risk_pct: 12}", "risk.per_trade_risk_pct: must be <= total_risk_pct (10.0) (got 12.0)"),
    ("risk: {total_risk_pct: 0.5}", "risk.per_trade_risk_pct: must be <= total_risk_pct (0.5) (got 1.0)"),
    (
        "risk: {daily_loss_limit_pct: 6.0}",
        "risk.daily_loss_limit_pct: must be <= weekly_loss_limit_pct (5.0) (got 6.0)",
    ),
    ("risk: {per_trade_risk_pct: -3}", "risk.per_trade_risk_pct: input should be greater than 0 (got -3)"),
    ("risk: {max_contracts: true}", "risk.max_contracts: input should be a valid integer (got True)"),
    ("account: {equity_usd: lots}", "account.equity_usd: input should be a valid number (got 'lots')"),
    (
        "structures: {expiry: {min_dte_days: 61}}",
        "structures.expiry.min_dte_days: must be <= max_dte_days (60) (got 61)",
    ),
    (
        "structures: {strikes: {min_width_points: 6.0}}",
        "structures.strikes.min_width_points: must be <= preferred_width_points (5.0) (got 6.0)",
    ),
    (
        "regime: {size_multipliers: {PANIC: 0.3}}",
        f"regime.size_multipliers.PANIC: invalid key: input should be {REGIMES} (got 'PANIC')",
    ),
    (
        "structures: {edge_map: {SIDEWAYS: {vrp: iron_condor}}}",
        f"structures.edge_map.SIDEWAYS: invalid key: input should be {REGIMES} (got 'SIDEWAYS')",
    ),
    (
        "structures: {edge_map: {CHOP: {vrp: call_debit_spread}}}",
        "structures.edge_map.CHOP.vrp: a short-vol signal needs a short-vol structure or none "
        "(got 'call_debit_spread')",
    ),
    (
        "regime: {size_multipliers: {CHOP: 1.5}}",
        "regime.size_multipliers.CHOP: input should be less than or equal to 1 (got 1.5)",
    ),
    (
        "regime: {decision: {tie_order: [CHOP, CHOP, TREND_UP, TREND_DOWN, HIGH_VOL_PANIC]}}",
        "regime.decision.tie_order: must list each of the 5 regimes once "
        "(got ['CHOP', 'CHOP', 'TREND_UP', 'TREND_DOWN', 'HIGH_VOL_PANIC'])",
    ),
    (
        "regime: {thresholds: {vix_high_points: 35}}",
        "regime.thresholds.vix_high_points: must be < vix_panic_points (35.0) (got 35.0)",
    ),
    (
        "edges: {vrp: {weak_percentile: 85}}",
        "edges.vrp.weak_percentile: must be < percentile_threshold (80.0) (got 85.0)",
    ),
    (
        "edges: {event_vol: {min_iv_premium_pct: 35}}",
        "edges.event_vol.min_iv_premium_pct: must be < high_iv_premium_pct (30.0) (got 35.0)",
    ),
    (
        "edges: {gamma: {sign_convention: puts_negative}}",
        "edges.gamma.sign_convention: input should be 'calls_positive' or 'puts_positive' (got 'puts_negative')",
    ),
    (
        "risk: {kill_switch_action: pause}",
        "risk.kill_switch_action: input should be 'block' or 'close' (got 'pause')",
    ),
    ("data: {ibkr: {port: 4001}}", "data.ibkr.port: is a live-trading port and is refused (got 4001)"),
    (
        "risk: {max_contract: 3}",
        "risk.max_contract: unknown key 'max_contract' (did you mean 'max_contracts'?) (got 3)",
    ),
    ("riskk: {max_contracts: 3}", "riskk: unknown key 'riskk' (did you mean 'risk'?) (got {'max_contracts': 3})"),
]


@pytest.mark.parametrize(("text", "line"), BAD_VALUES)
def test_bad_value_gives_one_line_with_file_field_and_value(tmp_path: Path, text: str, line: str) -> None:
    path = write(tmp_path, text)
    assert problems_of(lambda: load_settings(path, env={})) == [f"{path}: {line}"]


def test_width_order_broken_twice_gives_two_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "structures: {strikes: {min_width_points: 30.0, preferred_width_points: 25.0}}")
    assert problems_of(lambda: load_settings(path, env={})) == [
        f"{path}: structures.strikes.min_width_points: must be <= preferred_width_points (25.0) (got 30.0)",
        f"{path}: structures.strikes.preferred_width_points: must be <= max_width_points (20.0) (got 25.0)",
    ]


def test_all_problems_of_a_file_come_in_one_error(tmp_path: Path) -> None:
    text = "account: {equity_usd: -1}\nrisk: {per_trade_risk_pct: 20}\nstress: {spread_widen_factor: 0.5}\n"
    problems = problems_of(lambda: load_settings(write(tmp_path, text), env={}))
    assert len(problems) == 3
    assert [p.split(": ")[1] for p in problems] == [
        "account.equity_usd",
        "risk.per_trade_risk_pct",
        "stress.spread_widen_factor",
    ]


def test_limits_may_meet_at_their_bounds() -> None:
    settings = with_overrides(Settings(), {"risk": {"per_trade_risk_pct": 10.0, "daily_loss_limit_pct": 5.0}})
    assert settings.risk.per_trade_risk_pct == settings.risk.total_risk_pct


def test_partial_file_changes_only_named_keys(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, "risk:\n  per_trade_risk_pct: 0.5\n"), env={})
    assert settings.risk.per_trade_risk_pct == 0.5
    assert settings == with_overrides(Settings(), {"risk": {"per_trade_risk_pct": 0.5}})


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        # the parser's own wording and position differ between libyaml and pure-Python PyYAML
        ("risk:\n  per_trade_risk_pct: [1,\n", r"line [23], column \d+: invalid YAML: \S"),
        ("risk:\n  max_contracts: 5\n  max_contracts: 6\n", r"line 3, column 3: invalid YAML: duplicate key 'max_"),
        ("- risk\n", r"top level must be a mapping of sections \(got a list\)$"),
    ],
)
def test_unreadable_yaml_names_file_and_line(tmp_path: Path, text: str, pattern: str) -> None:
    path = write(tmp_path, text)
    (line,) = problems_of(lambda: load_settings(path, env={}))
    assert re.match(re.escape(f"{path}: ") + pattern, line), line


def test_missing_file_and_empty_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    assert problems_of(lambda: load_settings(missing, env={})) == [f"{missing}: file not found"]
    assert load_settings(write(tmp_path, "# nothing here\n"), env={}) == Settings()


# --- environment overrides -------------------------------------------------------------------------------


def test_env_overrides_scalars_lists_and_mapping_keys() -> None:
    settings = load_settings(
        env={
            "VOLENGINE_RISK__PER_TRADE_RISK_PCT": "0.5",
            "VOLENGINE_STRESS__GAP_SCENARIOS_FRAC": "[0.03, 0.06]",
            "VOLENGINE_REGIME__SIZE_MULTIPLIERS__CHOP": "0.25",
            "VOLENGINE_BACKTEST__EXITS__CREDIT__TAKE_PROFIT_PCT": "65",
            "VOLENGINE_BACKTEST__EXITS__CREDIT__TIME_STOP_DTE_DAYS": "null",
            "VOLENGINE_MARKET__DIVIDEND_YIELDS__DIA": "1.5e-2",
            "VOLENGINE_SECRETS_FILE": "ignored.yaml",
        }
    )
    assert settings.risk.per_trade_risk_pct == 0.5
    assert settings.stress.gap_scenarios_frac == (0.03, 0.06)
    assert settings.regime.size_multipliers[Regime.CHOP] == 0.25
    assert settings.backtest.exits.credit.take_profit_pct == 65.0
    assert settings.backtest.exits.credit.time_stop_dte_days is None
    assert settings.market.dividend_yields["DIA"] == 0.015


def test_env_beats_file_and_defaults_to_os_environ(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "risk: {per_trade_risk_pct: 2.0}")
    monkeypatch.setenv("VOLENGINE_RISK__PER_TRADE_RISK_PCT", "0.75")
    assert load_settings(path).risk.per_trade_risk_pct == 0.75
    assert load_settings(path, env={}).risk.per_trade_risk_pct == 2.0


@pytest.mark.parametrize(
    ("name", "value", "line"),
    [
        (
            "VOLENGINE_RISK__TOTAL_RISK_PCT",
            "abc",
            "VOLENGINE_RISK__TOTAL_RISK_PCT: risk.total_risk_pct: input should be a valid number (got 'abc')",
        ),
        (
            "VOLENGINE_RISK__PER_TRADE_RISK_PCT",
            "12",
            "VOLENGINE_RISK__PER_TRADE_RISK_PCT: risk.per_trade_risk_pct: must be <= total_risk_pct (10.0) (got 12.0)",
        ),
        (
            "VOLENGINE_RISK__MAX_CONTRACT",
            "3",
            "VOLENGINE_RISK__MAX_CONTRACT: risk.max_contract: unknown key 'max_contract' "
            "(did you mean 'max_contracts'?) (got 3)",
        ),
    ],
)
def test_bad_env_value_names_the_variable(name: str, value: str, line: str) -> None:
    assert problems_of(lambda: load_settings(env={name: value})) == [line]


def test_unparsable_env_value_names_the_variable() -> None:
    (line,) = problems_of(lambda: load_settings(env={"VOLENGINE_FILLS__MODEL": "[oops"}))
    assert re.fullmatch(r"VOLENGINE_FILLS__MODEL: line \d+, column \d+: invalid YAML: .+ \(got '\[oops'\)", line)


def test_env_blames_the_variable_even_when_the_other_side_came_from_a_file(tmp_path: Path) -> None:
    path = write(tmp_path, "risk: {per_trade_risk_pct: 4.0}")
    (line,) = problems_of(lambda: load_settings(path, env={"VOLENGINE_RISK__TOTAL_RISK_PCT": "3"}))
    assert line.startswith(f"{path}, VOLENGINE_RISK__TOTAL_RISK_PCT: risk.per_trade_risk_pct: ")


# --- immutability, sweeps, fingerprint ------------------------------------------------------------------


def test_settings_are_frozen_all_the_way_down() -> None:
    settings = Settings()
    with pytest.raises(ValidationError, match="frozen"):
        settings.risk = settings.risk  # type: ignore[misc]
    with pytest.raises(ValidationError, match="frozen"):
        settings.risk.per_trade_risk_pct = 50.0  # type: ignore[misc]
    with pytest.raises(TypeError, match="read-only"):
        settings.regime.size_multipliers[Regime.CHOP] = 0.0  # type: ignore[index]
    with pytest.raises(TypeError, match="read-only"):
        settings.market.dividend_yields.update(SPY=0.5)
    assert pickle.loads(pickle.dumps(settings)) == settings == copy.deepcopy(settings)


def test_with_overrides_validates_and_leaves_the_base_alone() -> None:
    base = Settings()
    variant = with_overrides(base, {"risk": {"per_trade_risk_pct": 0.5}, "regime": {"size_multipliers": {"CHOP": 0}}})
    assert (variant.risk.per_trade_risk_pct, variant.regime.size_multipliers[Regime.CHOP]) == (0.5, 0.0)
    assert variant.risk.total_risk_pct == 10.0
    assert base == Settings()
    assert problems_of(lambda: with_overrides(base, {"risk": {"per_trade_risk_pct": -3}})) == [
        "override: risk.per_trade_risk_pct: input should be greater than 0 (got -3)"
    ]


def test_fingerprint_is_sha256_of_the_json_dump_and_tracks_values(tmp_path: Path) -> None:
    settings = load_settings(env={})
    fingerprint = settings_fingerprint(settings)
    assert fingerprint == hashlib.sha256(settings.model_dump_json().encode()).hexdigest()
    assert fingerprint == settings_fingerprint(Settings())
    assert fingerprint != settings_fingerprint(with_overrides(settings, {"edges": {"vrp": {"min_atm_iv": 0.11}}}))
    one = write(tmp_path, "market: {dividend_yields: {DIA: 0.015, XLE: 0.03}}", "one.yaml")
    two = write(tmp_path, "market: {dividend_yields: {XLE: 0.03, DIA: 0.015}}", "two.yaml")
    assert settings_fingerprint(load_settings(one, env={})) == settings_fingerprint(load_settings(two, env={}))


# --- universe --------------------------------------------------------------------------------------------


def test_universe_defaults() -> None:
    universe = load_universe(env={})
    assert universe == Universe()
    assert universe.enabled_symbols() == ("SPY", "QQQ", "IWM")
    assert [universe.symbol(s).vol_index for s in ("SPY", "QQQ", "IWM")] == ["VIX", "VXN", "RVX"]
    spy = universe.symbol("spy")
    assert (spy.liquidity.min_volume, spy.liquidity.min_open_interest, spy.liquidity.max_bid_ask_pct) == (
        1000,
        5000,
        1.5,
    )
    assert (spy.multiplier, spy.style, spy.settlement) == (100, "american", "pm")
    assert universe.symbol("NVDA").min_dte_days == 14
    assert not universe.symbol("NVDA").enabled


def test_unknown_symbol_names_the_symbol() -> None:
    with pytest.raises(ConfigError, match="'XYZ' is not in the universe"):
        Universe().symbol("XYZ")


def test_resolve_symbol_orders_base_paper_symbol() -> None:
    universe = Universe()
    paper, live = Settings(), with_overrides(Settings(), {"account": {"mode": "live"}})
    assert resolve_symbol(paper, universe, "TLT").liquidity == paper.structures.paper_liquidity
    assert resolve_symbol(live, universe, "TLT").liquidity == live.structures.liquidity
    spy = resolve_symbol(live, universe, "SPY")
    assert (spy.liquidity.min_volume, spy.liquidity.enforce_liquidity) == (1000, True)
    assert (spy.min_dte_days, spy.max_dte_days, spy.dividend_yield) == (7, 60, 0.013)
    expiry = {"max_dte_days": 10, "target_dte_days": 8, "preferred_dte_days": [8]}
    short = with_overrides(live, {"structures": {"expiry": expiry}})
    with pytest.raises(ConfigError, match=r"NVDA.*min_dte_days: must be <= max_dte_days \(10\) \(got 14\)"):
        resolve_symbol(short, universe, "NVDA")


def test_universe_file_and_env_overrides(tmp_path: Path) -> None:
    path = write(tmp_path, "symbols:\n  DIA: {vol_index: VIX, dividend_yield: 0.016}\n  SPY: {enabled: false}\n")
    universe = load_universe(path, env={"VOLENGINE_UNIVERSE__SYMBOLS__IWM__ENABLED": "false"})
    assert universe.enabled_symbols() == ("QQQ", "DIA")
    assert resolve_symbol(Settings(), universe, "DIA").dividend_yield == 0.016


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("symbols: {DIA: {vol_index: VXD}}", "symbols.DIA.vol_index: must be one of vol_indices"),
        ("symbols: {spy: {enabled: true}}", "symbols.spy: invalid key: string should match pattern"),
        ("symbols: {NVDA: {min_dte_days: 90, max_dte_days: 45}}", "symbols.NVDA.min_dte_days: must be <= max_dte"),
        ("events: {calendar_files: [no/such/fomc.csv]}", "events.calendar_files[0]: file not found"),
    ],
)
def test_bad_universe_value(tmp_path: Path, text: str, line: str) -> None:
    path = write(tmp_path, text, "universe.yaml")
    (problem,) = problems_of(lambda: load_universe(path, env={}))
    assert problem.startswith(f"{path}: {line}")


# --- credentials -----------------------------------------------------------------------------------------


def test_secrets_come_from_env_and_file_env_first(tmp_path: Path) -> None:
    path = write(tmp_path, f"polygon_api_key: file-key\ntradier_api_key: {SECRET}\n", "my.secrets.yaml")
    secrets = load_secrets(path, env={"POLYGON_API_KEY": "env-key"})
    assert secrets.require("polygon_api_key") == "env-key"
    assert secrets.require("tradier_api_key") == SECRET
    assert load_secrets(env={"VOLENGINE_SECRETS_FILE": str(path)}).require("tradier_api_key") == SECRET
    with pytest.raises(ConfigError, match="POLYGON_S3_ACCESS_KEY_ID"):
        load_secrets(env={}).require("polygon_s3_access_key_id")


def test_secrets_never_print(tmp_path: Path) -> None:
    secrets = load_secrets(env=dict.fromkeys(CREDENTIAL_VARS, SECRET))
    for text in (repr(secrets), str(secrets), secrets.model_dump_json(), str(secrets.model_dump(mode="json"))):
        assert SECRET not in text
    assert secrets.require("polygon_s3_secret_access_key") == SECRET


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (f"polygon_api_key: '{SECRET} x'\n", "polygon_api_key: must be a non-empty key without whitespace"),
        ("tradier_api_key: 73519024\n", "tradier_api_key: input should be a valid string"),
        (f"polygon_key: {SECRET}\n", "polygon_key: unknown key 'polygon_key' (did you mean 'polygon_api_key'?)"),
        (f"polygon_s3_access_key_id: {SECRET}\n", "polygon_s3_secret_access_key: is needed too"),
        (f"polygon_api_key: '{SECRET}\n", "line 2, column 1: invalid YAML: "),
        (f"polygon_api_key: {SECRET}\npolygon_api_key: {SECRET}\n", "line 2, column 1: invalid YAML: duplicate"),
    ],
)
def test_bad_secrets_file_does_not_echo_the_secret(tmp_path: Path, text: str, line: str) -> None:
    path = write(tmp_path, text, "bad.secrets.yaml")
    with pytest.raises(ConfigError) as info:
        load_secrets(path, env={})
    assert info.value.problems[0].startswith(f"{path}: {line}")
    shown = "".join(traceback.format_exception(info.value))  # what --debug would print, chained errors included
    assert SECRET not in shown
    assert "73519024" not in shown


def test_bad_secret_in_env_does_not_echo() -> None:
    with pytest.raises(ConfigError) as info:
        load_secrets(env={"POLYGON_API_KEY": f"{SECRET}\n"})
    assert str(info.value) == "POLYGON_API_KEY: polygon_api_key: must be a non-empty key without whitespace"


@pytest.mark.parametrize(
    ("where", "path"),
    [
        ("data: {polygon: {api_key: KEY}}", "data.polygon.api_key"),
        ("data: {tradier: {token: KEY}}", "data.tradier.token"),
        ("data: {polygon: {s3_secret_access_key: KEY}}", "data.polygon.s3_secret_access_key"),
    ],
)
def test_credential_in_settings_file_is_refused_without_echo(tmp_path: Path, where: str, path: str) -> None:
    file = write(tmp_path, where.replace("KEY", SECRET))
    (line,) = problems_of(lambda: load_settings(file, env={}))
    assert line.startswith(f"{file}: {path}: credentials are not allowed in config files")
    assert "POLYGON_API_KEY" in line
    assert "secrets file" in line
    assert SECRET not in line


def test_credential_in_env_override_is_refused_without_echo() -> None:
    (line,) = problems_of(lambda: load_settings(env={"VOLENGINE_DATA__POLYGON__API_KEY": SECRET}))
    assert line.startswith("VOLENGINE_DATA__POLYGON__API_KEY: data.polygon.api_key: credentials are not allowed")
    assert SECRET not in line


def test_secrets_model_is_frozen() -> None:
    secrets = Secrets(polygon_api_key="abc")
    with pytest.raises(ValidationError, match="frozen"):
        secrets.polygon_api_key = None  # type: ignore[misc]
