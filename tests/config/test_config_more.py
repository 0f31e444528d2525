"""The seed-spec thresholds added after the first config pass: validation, recommendation, data sub-models,
payoff grids, the VolMachine backtest profile and metrics constants (defaults, cross-field rules, error lines)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from volengine.config import (
    QualityGrade,
    QualityScoreSettings,
    Settings,
    SnapshotGrade,
    load_settings,
    with_overrides,
)
from volengine.errors import ConfigError


def get(model: BaseModel, dotted: str) -> Any:
    value: Any = model
    for part in dotted.split("."):
        value = value[part] if isinstance(value, dict) else getattr(value, part)
    return value


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={})
    return info.value.problems


# --- documented defaults -------------------------------------------------------------------------------

DOCUMENTED = [
    # §2.15 walk-forward, leave-one-year-out, coverage, sanity tests, sweeps, event study
    ("validation.walk_forward.in_sample_days", 180),
    ("validation.walk_forward.out_of_sample_days", 30),
    ("validation.walk_forward.step_days", 30),
    ("validation.walk_forward.min_in_sample_trades", 10),
    ("validation.walk_forward.embargo_days", 0),
    ("validation.leave_one_year_out.holdout_years", (2022, 2023, 2024, 2025)),
    ("validation.leave_one_year_out.min_profitable_years", 3),
    ("validation.coverage.min_valid_days_frac", 0.90),
    ("validation.coverage.min_window_days", 14),
    ("validation.coverage.max_gap_days", 3),
    ("validation.coverage.force", False),
    ("validation.sanity.use_shuffled_dates", True),
    ("validation.sanity.use_sign_flip", True),
    ("validation.sanity.use_holdout", True),
    ("validation.sanity.use_slippage_stress", True),
    ("validation.sanity.slippage_multiplier", 2.0),
    ("validation.sweeps.stop_loss_credit_multiples", (1.0, 1.25, 1.5)),
    ("validation.sweeps.take_profit_pcts", (35.0, 50.0, 65.0)),
    ("validation.sweeps.iv_percentile_gates", (70.0, 75.0, 80.0, 85.0, 90.0, None)),
    ("validation.sweeps.expectancy_iv_percentile_edges", (0.0, 60.0, 70.0, 80.0, 90.0, 100.0)),
    ("validation.event_study.return_horizons_days", (1, 5)),
    # §2.14 metrics
    ("metrics.sharpe_risk_free_rate", 0.05),
    ("metrics.annualization_days", 252),
    # §2.10 recommendation, quality score, explanations, edge health
    ("recommendation.min_history_mode", 0.5),
    ("recommendation.quality.edge_weight_quality_points", 25.0),
    ("recommendation.quality.regime_confidence_weight_quality_points", 20.0),
    ("recommendation.quality.grind_vrp_fit_quality_points", 5.0),
    ("recommendation.quality.grind_other_fit_quality_points", 2.0),
    ("recommendation.quality.panic_fit_quality_points", -5.0),
    ("recommendation.quality.regime_min_quality_points", 0.0),
    ("recommendation.quality.regime_max_quality_points", 25.0),
    ("recommendation.quality.open_interest_max_quality_points", 10.0),
    ("recommendation.quality.open_interest_per_quality_point", 500.0),
    ("recommendation.quality.volume_max_quality_points", 10.0),
    ("recommendation.quality.volume_per_quality_point", 100.0),
    ("recommendation.quality.spread_max_quality_points", 5.0),
    ("recommendation.quality.credit_ratio_weight_quality_points", 50.0),
    ("recommendation.quality.debit_ratio_weight_quality_points", 12.5),
    ("recommendation.quality.pricing_max_quality_points", 25.0),
    ("recommendation.quality.pricing_default_quality_points", 10.0),
    ("recommendation.explanations.caution_max_bid_ask_pct", 5.0),
    ("recommendation.explanations.caution_min_open_interest", 500),
    ("recommendation.edge_health.min_trades", 10),
    ("recommendation.edge_health.windows_days", (7, 30, 90)),
    ("recommendation.edge_health.status_window_days", 30),
    ("recommendation.edge_health.suspend_consecutive_losses", 5),
    ("recommendation.edge_health.suspend_hit_rate_pct", 25.0),
    ("recommendation.edge_health.suspend_ev_per_risk_pct", -10.0),
    ("recommendation.edge_health.watchlist_hit_rate_pct", 35.0),
    ("recommendation.edge_health.watchlist_ev_per_risk_pct", 0.0),
    # kept in one place each, not duplicated under recommendation/validation
    ("regime.gating.min_confidence", 0.4),
    ("risk.what_if_risk_pcts", (1.0, 2.0, 5.0, 10.0)),
    ("risk.use_kelly", False),
    ("risk.kelly_fraction", 0.25),
    ("structures.strikes.max_substitution_points", 5.0),
    ("structures.strikes.max_substituted_trades_pct", 25.0),
    ("regime.decision.history_size", 252),
    ("regime.intraday.bar_minutes", 30),
    ("regime.intraday.lookback_days", 5),
    ("regime.intraday.max_bars", 100),
    ("regime.intraday.bars_per_day", 13),
    ("regime.intraday.disagreement_confidence_multiplier", 0.7),
    # §2.3 providers and stores
    ("data.polygon.spot_lookback_days", 7),
    ("data.polygon.retry_backoff_seconds", (1.0, 2.0, 4.0)),
    ("data.cache.ttl_hours", 24.0),
    ("data.stale_quote_seconds", 300),
    ("data.snapshot_max_age_days", 5),
    ("data.max_stale_trading_days", 3),
    ("data.synthesized_bid_factor", 0.975),
    ("data.synthesized_ask_factor", 1.025),
    ("data.chain_grid.strike_increments_points", (0.5, 1.0, 2.5, 5.0)),
    ("data.chain_grid.increment_window_frac", 0.10),
    ("data.best_expiry.target_dte_days", 30),
    ("data.best_expiry.dte_tolerance_days", 15),
    ("data.best_expiry.min_dte_days", 7),
    ("data.best_expiry.max_dte_days", 60),
    ("data.best_expiry.atm_max_distance_frac", 0.02),
    ("data.best_expiry.atm_max_distance_min_points", 3.0),
    # §2.8 payoff grids
    ("structures.payoff.plot_span_frac", 0.50),
    ("structures.payoff.plot_points", 500),
    ("structures.payoff.breakeven_span_frac", 0.30),
    ("structures.payoff.breakeven_points", 200),
    # §2.13 diagnostics; §2.9 and §2.16 VolMachine backtest profile
    ("backtest.diagnostic_return_horizons_days", (1, 3, 5, 10)),
    ("backtest.volmachine_profile.enabled", False),
    ("backtest.volmachine_profile.equity_usd", 25_000.0),
    ("backtest.volmachine_profile.per_trade_risk_pct", 2.0),
    ("backtest.volmachine_profile.per_trade_fallback_usd", 500.0),
    ("backtest.volmachine_profile.total_risk_pct", 6.0),
    ("backtest.volmachine_profile.total_risk_fallback_usd", 1_500.0),
    ("backtest.volmachine_profile.max_open_trades", 3),
    ("backtest.volmachine_profile.cluster_max_risk_usd", 1_000.0),
    ("backtest.volmachine_profile.cluster_max_open_trades", 2),
    ("backtest.volmachine_profile.max_drawdown_pct", 10.0),
    ("backtest.volmachine_profile.symbol_stop_cooldown_days", 10),
    ("backtest.volmachine_profile.cluster_stop_cooldown_days", 5),
    ("backtest.volmachine_profile.expected_hold_days", 30),
    ("backtest.volmachine_profile.width_cascade_points", (5.0, 10.0)),
    ("backtest.volmachine_profile.max_trade_risk_usd", 500.0),
    ("backtest.volmachine_profile.liquidity.min_volume", 10),
    ("backtest.volmachine_profile.liquidity.min_open_interest", 100),
    ("backtest.volmachine_profile.liquidity.max_bid_ask_pct", 10.0),
    ("backtest.volmachine_profile.lookback_days", 90),
    ("risk.clusters.us_equity_index", ("SPY", "QQQ", "IWM")),
    ("risk.best_edge_per_symbol", True),
]


@pytest.mark.parametrize(("field", "expected"), DOCUMENTED)
def test_default_equals_documented_value(field: str, expected: Any) -> None:
    assert get(Settings(), field) == expected
    assert get(load_settings(env={}), field) == expected


def test_grade_ladders_default_to_the_spec_in_best_first_order() -> None:
    settings = Settings()
    quality = settings.recommendation.quality.grade_min_quality_points
    assert [(str(g), v) for g, v in quality.items()] == [
        ("A+", 90.0),
        ("A", 85.0),
        ("A-", 80.0),
        ("B+", 75.0),
        ("B", 70.0),
        ("B-", 65.0),
        ("C+", 60.0),
        ("C", 55.0),
        ("C-", 50.0),
    ]
    assert QualityGrade.D not in quality
    snapshot = settings.data.snapshot_grade_min_valid_quotes_pct
    assert [(str(g), v) for g, v in snapshot.items()] == [("A", 95.0), ("B", 85.0), ("C", 70.0), ("D", 50.0)]
    assert SnapshotGrade.F not in snapshot


def test_quality_part_maxima_sum_to_100() -> None:
    q = QualityScoreSettings()
    liquidity = q.open_interest_max_quality_points + q.volume_max_quality_points + q.spread_max_quality_points
    total = q.edge_weight_quality_points + q.regime_max_quality_points + liquidity + q.pricing_max_quality_points
    assert total == 100.0
    # the regime part reaches its cap at full confidence with the best fit
    assert q.regime_confidence_weight_quality_points + q.grind_vrp_fit_quality_points == q.regime_max_quality_points


def test_a_rebalanced_quality_score_is_accepted() -> None:
    patch = {"recommendation": {"quality": {"edge_weight_quality_points": 30.0, "pricing_max_quality_points": 20.0}}}
    assert with_overrides(Settings(), patch).recommendation.quality.pricing_max_quality_points == 20.0


def test_grade_mapping_is_stored_in_grade_order_whatever_the_file_order(tmp_path: Path) -> None:
    path = tmp_path / "settings.yaml"
    grades = "{C-: 50, C: 55, C+: 60, B-: 65, B: 70, B+: 75, A-: 80, A: 85, A+: 92}"
    path.write_text(f"recommendation: {{quality: {{grade_min_quality_points: {grades}}}}}\n", encoding="utf-8")
    quality = load_settings(path, env={}).recommendation.quality.grade_min_quality_points
    assert next(iter(quality.items())) == (QualityGrade.A_PLUS, 92.0)
    assert list(quality) == [g for g in QualityGrade if g is not QualityGrade.D]


def test_volmachine_profile_is_off_and_leaves_the_daily_risk_settings_alone() -> None:
    settings = Settings()
    assert not settings.backtest.volmachine_profile.enabled
    risk = settings.risk
    assert (risk.cluster_max_risk_usd, risk.cluster_max_open_trades) == (None, None)
    assert (risk.symbol_stop_cooldown_days, risk.cluster_stop_cooldown_days) == (0, 0)
    assert (risk.per_trade_risk_pct, risk.max_drawdown_pct, settings.account.equity_usd) == (1.0, 15.0, 100_000.0)
    enabled = with_overrides(settings, {"backtest": {"volmachine_profile": {"enabled": True}}})
    assert enabled.backtest.volmachine_profile.enabled
    assert enabled.risk == settings.risk


# --- cross-field rules and bounds: one clear line per problem ------------------------------------------------

BAD_VALUES = [
    # walk-forward, leave-one-year-out, coverage, sanity, sweeps, event study
    (
        "validation: {walk_forward: {step_days: 45}}",
        "validation.walk_forward.step_days: must be <= out_of_sample_days (30) (got 45)",
    ),
    (
        "validation: {walk_forward: {embargo_days: -1}}",
        "validation.walk_forward.embargo_days: input should be greater than or equal to 0 (got -1)",
    ),
    (
        "validation: {leave_one_year_out: {min_profitable_years: 5}}",
        "validation.leave_one_year_out.min_profitable_years: must be <= the number of holdout_years (4) (got 5)",
    ),
    (
        "validation: {leave_one_year_out: {holdout_years: [2022, 2024, 2023, 2025]}}",
        "validation.leave_one_year_out.holdout_years: must be strictly increasing (got [2022, 2024, 2023, 2025])",
    ),
    (
        "validation: {coverage: {max_gap_days: 14}}",
        "validation.coverage.max_gap_days: must be < min_window_days (14) (got 14)",
    ),
    (
        "validation: {coverage: {min_valid_days_frac: 90}}",
        "validation.coverage.min_valid_days_frac: input should be less than or equal to 1 (got 90)",
    ),
    ("validation: {coverage: {force: yes please}}", "validation.coverage.force: input should be a valid boolean"),
    (
        "validation: {sanity: {slippage_multiplier: 1.0}}",
        "validation.sanity.slippage_multiplier: input should be greater than 1 (got 1.0)",
    ),
    (
        "validation: {sweeps: {iv_percentile_gates: [null, 70, 80]}}",
        "validation.sweeps.iv_percentile_gates: must hold at most one null (no gate), last (got [None, 70.0, 80.0])",
    ),
    (
        "validation: {sweeps: {expectancy_iv_percentile_edges: [0, 70, 60, 100]}}",
        "validation.sweeps.expectancy_iv_percentile_edges: must be strictly increasing (got [0.0, 70.0, 60.0, 100.0])",
    ),
    (
        "validation: {event_study: {return_horizons_days: [5, 1]}}",
        "validation.event_study.return_horizons_days: must be strictly increasing (got [5, 1])",
    ),
    (
        "metrics: {sharpe_risk_free_rate: 5}",
        "metrics.sharpe_risk_free_rate: input should be less than or equal to 0.25 (got 5)",
    ),
    # recommendation
    (
        "recommendation: {min_history_mode: 2}",
        "recommendation.min_history_mode: input should be less than or equal to 1 (got 2)",
    ),
    (
        "recommendation: {quality: {grade_min_quality_points: {A: 92}}}",
        "recommendation.quality.grade_min_quality_points.A: must be < the A+ cut-off (90.0) (got 92.0)",
    ),
    (
        "recommendation: {quality: {grade_min_quality_points: {D: 40}}}",
        "recommendation.quality.grade_min_quality_points.D: is the floor grade and takes no cut-off (got 40.0)",
    ),
    (
        "recommendation: {quality: {grade_min_quality_points: {A++: 95}}}",
        "recommendation.quality.grade_min_quality_points.A++: invalid key: input should be "
        "'A+', 'A', 'A-', 'B+', 'B', 'B-', 'C+', 'C', 'C-' or 'D' (got 'A++')",
    ),
    (
        "recommendation: {quality: {pricing_max_quality_points: 30}}",
        "recommendation.quality.pricing_max_quality_points: must bring the part maxima to 100 "
        "(edge 25 + regime 25 + liquidity 25 + pricing 30 = 105) (got 30.0)",
    ),
    (
        "recommendation: {quality: {pricing_default_quality_points: 30}}",
        "recommendation.quality.pricing_default_quality_points: must be <= pricing_max_quality_points (25.0) "
        "(got 30.0)",
    ),
    (
        "recommendation: {quality: {regime_min_quality_points: 25}}",
        "recommendation.quality.regime_min_quality_points: must be < regime_max_quality_points (25.0) (got 25.0)",
    ),
    (
        "recommendation: {explanations: {caution_min_open_interest: -5}}",
        "recommendation.explanations.caution_min_open_interest: input should be greater than or equal to 0 (got -5)",
    ),
    (
        "recommendation: {edge_health: {status_window_days: 60}}",
        "recommendation.edge_health.status_window_days: must be one of windows_days (7, 30, 90) (got 60)",
    ),
    (
        "recommendation: {edge_health: {suspend_hit_rate_pct: 40}}",
        "recommendation.edge_health.suspend_hit_rate_pct: must be <= watchlist_hit_rate_pct (35.0) (got 40.0)",
    ),
    (
        "recommendation: {edge_health: {suspend_ev_per_risk_pct: 5}}",
        "recommendation.edge_health.suspend_ev_per_risk_pct: must be <= watchlist_ev_per_risk_pct (0.0) (got 5.0)",
    ),
    # data
    (
        "data: {snapshot_grade_min_valid_quotes_pct: {C: 90}}",
        "data.snapshot_grade_min_valid_quotes_pct.C: must be < the B cut-off (85.0) (got 90.0)",
    ),
    (
        "data: {best_expiry: {max_dte_days: 120}}",
        "data.best_expiry.max_dte_days: must be <= chain_max_dte_days (90) so fetched chains reach it (got 120)",
    ),
    (
        "data: {best_expiry: {min_dte_days: 30}}",
        "data.best_expiry.min_dte_days: must be < target_dte_days (30) (got 30)",
    ),
    (
        "data: {chain_grid: {strike_increments_points: [1.0, 0.5]}}",
        "data.chain_grid.strike_increments_points: must be strictly increasing (got [1.0, 0.5])",
    ),
    (
        "data: {synthesized_ask_factor: 0.99}",
        "data.synthesized_ask_factor: input should be greater than 1 (got 0.99)",
    ),
    # structures, backtest
    (
        "structures: {payoff: {breakeven_span_frac: 0.6}}",
        "structures.payoff.breakeven_span_frac: must be <= plot_span_frac (0.5) (got 0.6)",
    ),
    (
        "backtest: {diagnostic_return_horizons_days: [1, 1, 5]}",
        "backtest.diagnostic_return_horizons_days: must be strictly increasing (got [1, 1, 5])",
    ),
    (
        "backtest: {volmachine_profile: {per_trade_risk_pct: 8}}",
        "backtest.volmachine_profile.per_trade_risk_pct: must be <= total_risk_pct (6.0) (got 8.0)",
    ),
    (
        "backtest: {volmachine_profile: {cluster_max_open_trades: 4}}",
        "backtest.volmachine_profile.cluster_max_open_trades: must be <= max_open_trades (3) (got 4)",
    ),
    (
        "backtest: {volmachine_profile: {width_cascade_points: [10, 5]}}",
        "backtest.volmachine_profile.width_cascade_points: must be strictly increasing (got [10.0, 5.0])",
    ),
    (
        "backtest: {volmachine_profile: {liquidity: {max_bid_ask_pct: 0}}}",
        "backtest.volmachine_profile.liquidity.max_bid_ask_pct: input should be greater than 0 (got 0)",
    ),
]


@pytest.mark.parametrize(("text", "line"), BAD_VALUES)
def test_bad_value_gives_one_line_with_file_field_and_value(tmp_path: Path, text: str, line: str) -> None:
    path = tmp_path / "settings.yaml"
    path.write_text(text, encoding="utf-8")
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}: {line}")


def test_cross_section_rule_blames_both_sources(tmp_path: Path) -> None:
    path = tmp_path / "settings.yaml"
    path.write_text("data: {best_expiry: {max_dte_days: 75}}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={"VOLENGINE_DATA__CHAIN_MAX_DTE_DAYS": "70"})
    (line,) = info.value.problems
    assert line.startswith(f"{path}, VOLENGINE_DATA__CHAIN_MAX_DTE_DAYS: data.best_expiry.max_dte_days: ")


def test_env_overrides_reach_the_new_sections() -> None:
    settings = load_settings(
        env={
            "VOLENGINE_VALIDATION__COVERAGE__FORCE": "true",
            "VOLENGINE_VALIDATION__LEAVE_ONE_YEAR_OUT__HOLDOUT_YEARS": "[2021, 2022, 2023, 2024, 2025]",
            "VOLENGINE_RECOMMENDATION__EDGE_HEALTH__MIN_TRADES": "20",
            "VOLENGINE_DATA__SNAPSHOT_GRADE_MIN_VALID_QUOTES_PCT__A": "97",
            "VOLENGINE_BACKTEST__VOLMACHINE_PROFILE__ENABLED": "true",
        }
    )
    assert settings.validation.coverage.force
    assert settings.validation.leave_one_year_out.holdout_years == (2021, 2022, 2023, 2024, 2025)
    assert settings.recommendation.edge_health.min_trades == 20
    assert settings.data.snapshot_grade_min_valid_quotes_pct[SnapshotGrade.A] == 97.0
    assert settings.backtest.volmachine_profile.enabled
