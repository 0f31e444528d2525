"""Every column of the :func:`volengine.analyze` frame, documented in one place (a test keeps it complete).

Units: IVs, realized vols and returns are decimals (0.16 = 16 %); ``*_pct`` columns are percent; ``vix`` and
vol indices are index points (16.2); ``*_dte`` are calendar days; GEX is dollars of dealer delta change per
1 % move of the underlying; strikes and spot in dollars per share (points). A null means "not available on
that day" (no quote, not enough history, no event in the window), never an invented value.

Names with ``{…}`` stand for a family, one column per configured value: ``{n}`` a constant maturity or a
window in days, ``{est}`` a realized-vol estimator (cc close-to-close, pk Parkinson, gk Garman-Klass, rs
Rogers-Satchell, yz Yang-Zhang).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class Column:
    """One documented column (or family)."""

    name: str
    stage: str
    unit: str
    description: str

    @property
    def pattern(self) -> re.Pattern[str]:
        """Regex matching the column names of this entry."""
        text = re.escape(self.name).replace(r"\{n\}", r"\d+").replace(r"\{est\}", "(cc|pk|gk|rs|yz)")
        text = text.replace(r"\{regime\}", "(low_vol_grind|high_vol_panic|trend_up|trend_down|chop)")
        return re.compile(f"^{text}$")


def _c(stage: str, rows: list[tuple[str, str, str]]) -> list[Column]:
    return [Column(name, stage, unit, text) for name, unit, text in rows]


_EDGE = [
    ("{p}_fired", "bool", "The detector fired on this day (never null)."),
    ("{p}_signal", "SignalKind", "What fired (e.g. vrp, skew_steep, gamma_pin); null when not fired."),
    ("{p}_direction", "short/long", "short = short premium/vol; null when not fired."),
    ("{p}_strength", "0..1", "Documented strength formula of seed-spec §2.5; null when not fired."),
    ("{p}_history_mode", "0/1", "1 = full history behind the numbers; 0 = fallback or short history (REVIEW)."),
    ("{p}_rationale", "text", "Why it fired, with the numbers; null when not fired."),
]

COLUMNS: tuple[Column, ...] = tuple(
    _c("key", [
        ("underlying", "symbol", "Underlying symbol."),
        ("date", "date", "As-of date d (ET exchange date); every value uses data dated <= d."),
    ])
    + _c("market", [
        ("spot", "$", "Unadjusted close (the quotes' median underlying price when no bars were imported)."),
        ("log_return", "decimal", "ln(adjusted close / previous adjusted close)."),
        ("rv_{est}_{n}d", "decimal/yr", "Realized vol of the last n bars by estimator est, annualised sqrt(252)."),
        ("vrp_rv", "decimal/yr", "Close-to-close RV (ddof 1) over edges.vrp.rv_window_days: the VRP denominator."),
        ("garch_vol", "decimal/yr", "GARCH(1,1) forecast of mean vol over analytics.garch.horizon_days (option)."),
        ("iv_rank", "0..100", "atm_iv_30d within its min-max range of the last iv_lookback_days values."),
        ("iv_percentile", "0..100", "Percentile of atm_iv_30d among the previous iv_lookback_days values."),
        ("rr_25d_percentile", "0..100", "Percentile of rr_25d_30d among its previous skew_lookback_days values."),
        ("vrp_spread_30d", "decimal", "atm_iv_30d - vrp_rv."),
        ("vrp_ratio_30d", "ratio", "atm_iv_30d / vrp_rv."),
        ("vrp_ratio_garch", "ratio", "atm_iv_30d / garch_vol (with the GARCH option)."),
    ])
    + _c("surface", [
        ("n_expiries", "count", "Chains (expiries) quoted on the day."),
        ("atm_iv", "decimal", "Seed-spec ATM IV: mean call/put IV at the listed strike nearest spot, expiry "
                              "with DTE > 0 closest to edges.atm_target_dte_days."),
        ("atm_dte", "days", "DTE of that expiry."),
        ("atm_strike", "$", "That listed strike."),
        ("atm_iv_{n}d", "decimal", "ATM-forward IV at constant maturity n days (total variance linear in time)."),
        ("mfiv_{n}d", "decimal", "Model-free (Cboe VIX formula) vol at n days from the day's chains."),
        ("rr_{n}d_30d", "decimal", "Risk reversal: call IV - put IV at the configured |delta|, at 30 days."),
        ("bf_{n}d_30d", "decimal", "Butterfly: mean of the wing IVs - ATM-forward IV, at 30 days."),
        ("term_slope", "decimal", "Longest constant-maturity ATM IV - atm_iv_30d (> 0 contango)."),
        ("term_ratio", "ratio", "atm_iv_30d / longest constant-maturity ATM IV (> 1 backwardation)."),
        ("ts_front_iv", "decimal", "ATM IV of the front expiry: smallest DTE in the term detector's front range."),
        ("ts_front_dte", "days", "Its DTE."),
        ("ts_back_iv", "decimal", "ATM IV of the back expiry: smallest DTE in the back range."),
        ("ts_back_dte", "days", "Its DTE."),
        ("skew_put_iv_{n}d", "decimal", "IV of the listed put whose own delta is nearest -0.25 (skew expiry)."),
        ("skew_call_iv_{n}d", "decimal", "IV of the listed call whose own delta is nearest +0.25."),
        ("skew_put_strike_{n}d", "$", "That put's strike."),
        ("skew_call_strike_{n}d", "$", "That call's strike."),
        ("skew_put_delta_{n}d", "delta", "That put's delta."),
        ("skew_call_delta_{n}d", "delta", "That call's delta."),
        ("skew_dte", "days", "DTE of the skew expiry (closest to 30, within the tolerance)."),
        ("skew_atm_iv", "decimal", "ATM IV of the skew expiry."),
    ])
    + _c("gamma", [
        ("gex_expiration", "date", "Expiry used: first with 0 < DTE <= edges.gamma.max_dte_days, else nearest."),
        ("gex_dte", "days", "Its DTE."),
        ("gex_net", "$ per 1%", "Sum of gamma x OI x 100 x S^2 x 0.01 on that expiry, signed by the convention."),
        ("gex_max_strike", "$", "K*: the strike with the largest |GEX|."),
        ("gex_max_abs", "$ per 1%", "|GEX| at K*."),
        ("gex_flip", "$", "Gamma flip: midpoint of the last strikes where cumulative GEX changes sign."),
        ("gex_spot", "$", "Spot used for the GEX (median underlying price of the contracts)."),
        ("gex_pin_low", "$", "Pin zone low: K* - pin_zone_width_pct % of spot."),
        ("gex_pin_high", "$", "Pin zone high."),
        ("gex_price_vs_max_pct", "%", "(S - K*) / S x 100."),
        ("gex_in_pin_zone", "bool", "Spot inside the pin zone."),
        ("max_oi_strike", "$", "Strike with the largest call + put open interest on that expiry."),
        ("gex_net_all", "$ per 1%", "Net GEX over all expiries with DTE > 0."),
        ("gex_n_contracts", "count", "Contracts with OI >= edges.gamma.min_open_interest on that expiry."),
    ])
    + _c("events", [
        ("event_date", "date", "Nearest scheduled event within edges.event_vol.days_before_event days."),
        ("event_kind", "text", "earnings, FOMC, CPI, ..."),
        ("event_timing", "text", "before_open, during, after_close or unknown."),
        ("event_is_market_wide", "bool", "A market-wide event (FOMC, CPI) rather than the symbol's own."),
        ("event_days", "days", "Calendar days from d to the event."),
        ("event_expiration", "date", "First expiry strictly after the event."),
        ("event_expiration_dte", "days", "Its DTE."),
        ("event_iv", "decimal", "ATM IV of that expiry."),
        ("event_baseline_iv", "decimal", "Seed-spec baseline IV around the event (see event_baseline_source)."),
        ("event_baseline_source", "text", "both, before, after, median or fallback."),
        ("event_baseline_flag", "bool", "The 0.20 fallback baseline was used (fewer than two expiry IVs)."),
        ("event_premium_pct", "%", "(event_iv / baseline - 1) x 100."),
        ("event_implied_move_pct", "%", "1-sd event move: 100 sqrt(max(0, (event_iv^2 - baseline^2) T))."),
        ("event_implied_abs_move_pct", "%", "Expected absolute move: sqrt(2/pi) x event_implied_move_pct."),
        ("event_hist_move_pct", "%", "Mean |reaction-day log return| x 100 of earlier events of that kind."),
        ("event_hist_count", "count", "Earlier events in that mean."),
        ("event_move_ratio", "ratio", "event_implied_abs_move_pct / event_hist_move_pct."),
    ])
    + _c("regime", [
        ("regime", "enum", "WARMUP until the long features exist, then one of the 5 regimes (after hysteresis)."),
        ("regime_confidence", "0..1", "min(winning score / full_confidence_score, 1)."),
        ("regime_reason", "text", "'Regime: X (score s).' plus the first reasons with their numbers."),
        ("regime_score_{regime}", "points", "Score of that regime from the seed-spec §2.4 table."),
        ("regime_raw", "enum", "Winner before hysteresis."),
        ("regime_changed", "bool", "regime differs from the previous day's."),
        ("ma{n}", "$", "Mean of the last n adjusted closes."),
        ("price_vs_ma{n}", "decimal", "(P - MA_n) / MA_n."),
        ("ma{n}_ma{n}", "ratio", "Ratio of two moving averages (MA20/MA50, MA50/MA200)."),
        ("rv{n}", "decimal/yr", "Close-to-close RV (ddof 1) of the regime engine (same estimator as rv_cc_*)."),
        ("rv{n}_rv{n}", "ratio", "Ratio of two regime RVs (1 if the denominator is 0)."),
        ("drawdown", "decimal", "P / max of the last 252 closes - 1."),
        ("days_since_high", "days", "Sessions since that 252-bar high."),
        ("return_{n}d", "decimal", "P_t / P_(t-n) - 1."),
        ("vix", "points", "Vol index read by the regime (vendor index, the chain's mfiv_30d, or the proxy)."),
        ("vix_percentile", "0..100", "Percentile of vix among its previous values."),
        ("vix_change_{n}d", "points", "vix_t - vix_(t-n)."),
        ("vix_source", "enum", "index (a vol index value) or proxy (100 x rv x implied/realized ratio)."),
        ("vol_index_source", "text", "Which index fed the regime: index:<symbol>, chain, or proxy."),
    ])
    + [Column(n.replace("{p}", p), "edges", u, f"{p}: {d}") for p in ("vrp", "term", "skew", "event", "gamma")
       for n, u, d in _EDGE]
    + _c("edges", [
        ("vrp_ratio", "ratio", "atm_iv / vrp_rv (1 if rv = 0)."),
        ("vrp_ratio_percentile", "0..100", "Percentile of the ratio over edges.vrp.lookback_days values."),
        ("vrp_iv_percentile", "0..100", "Percentile of atm_iv over the same window."),
        ("vrp_rv_percentile", "0..100", "Percentile of vrp_rv over the same window."),
        ("vrp_history", "count", "Earlier ratio values in the window."),
        ("term_spread", "decimal", "ts_back_iv - ts_front_iv."),
        ("term_spread_pct", "ratio", "term_spread / ts_front_iv (the detector's x)."),
        ("term_state", "text", "contango, backwardation or flat."),
        ("term_history", "count", "Earlier spreads in the date-keyed history (<= history_days)."),
        ("skew_value", "decimal", "skew_put_iv_25d - skew_call_iv_25d."),
        ("skew_percentile", "0..100", "Percentile of skew_value over edges.skew.lookback_days values."),
        ("skew_put_atm_ratio", "ratio", "skew_put_iv_25d / skew_atm_iv."),
        ("skew_call_atm_ratio", "ratio", "skew_call_iv_25d / skew_atm_iv."),
        ("skew_history", "count", "Earlier skew values in the window."),
        ("skew_delta", "decimal", "skew_value minus the value reversion_lookback_values back."),
        ("skew_pctl_delta", "points", "skew_percentile minus the value that far back."),
    ])
)  # fmt: skip

#: edge columns that only copy a feature column; the pipeline drops them from the joined frame
EDGE_COPIES = ("event_premium", "gamma_net", "gamma_max_strike", "gamma_price_vs_max_pct", "gamma_in_pin_zone")


def lookup(name: str) -> Column | None:
    """The entry documenting column ``name`` (exact names win over families), or None."""
    for col in COLUMNS:
        if col.name == name:
            return col
    return next((col for col in COLUMNS if col.pattern.match(name)), None)


def undocumented(names: Iterable[str]) -> list[str]:
    """The names no entry documents."""
    return [n for n in names if lookup(n) is None]


def describe(names: Iterable[str] | None = None) -> pl.DataFrame:
    """Documentation table (name, stage, unit, description) of ``names`` (default: every entry)."""
    if names is None:
        rows = [(c.name, c.stage, c.unit, c.description) for c in COLUMNS]
    else:
        rows = []
        for n in names:
            col = lookup(n)
            rows.append((n, *(("?", "?", "undocumented") if col is None else (col.stage, col.unit, col.description))))
    return pl.DataFrame(rows, schema=["name", "stage", "unit", "description"], orient="row")
