"""Python face of the simulator kernel: parameter grids, candidate/path arrays in, polars frames out.

:func:`param_matrix` turns a :class:`~volengine.config.Settings` (and optional overrides per parameter set)
into the kernel's parameter matrix, one row per set: the sweep issue's parameter axis. :func:`simulate` runs
the kernel for all sets at once and returns :class:`SimResult` with daily equity, exposure and per-candidate
trade records as polars frames.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from volengine.config import Settings
from volengine.config.enums import KillSwitchAction, KillSwitchReset, Regime
from volengine.errors import ConfigError, KernelInputError
from volengine.kernels import backtest as kb
from volengine.kernels._wrap import readonly

#: parameter names (keys of an override mapping) and their kernel columns
PARAM_COLUMNS: dict[str, int] = {
    "take_profit_pct": kb.P_TP_PCT,
    "stop_loss_credit_multiple": kb.P_SL_CREDIT_MULT,
    "stop_loss_debit_pct": kb.P_SL_DEBIT_PCT,
    "time_stop_dte_days": kb.P_TIME_STOP_DTE,
    "per_trade_risk_pct": kb.P_PER_TRADE_PCT,
    "total_risk_pct": kb.P_TOTAL_PCT,
    "max_contracts": kb.P_MAX_CONTRACTS,
    "max_open_trades": kb.P_MAX_OPEN,
    "daily_loss_limit_pct": kb.P_DAILY_LIMIT_PCT,
    "weekly_loss_limit_pct": kb.P_WEEKLY_LIMIT_PCT,
    "max_drawdown_pct": kb.P_DD_LIMIT_PCT,
    "exit_on_regime_change": kb.P_EXIT_ON_REGIME,
    "kill_switch_close_all": kb.P_KILL_CLOSE_ALL,
    "cost_per_contract_leg_usd": kb.P_COST_PER_CONTRACT_LEG,
    "kill_switch_recovery_days": kb.P_RECOVERY_DAYS,
    "stress_limit_pct": kb.P_STRESS_LIMIT_PCT,
    "take_profit_debit_pct": kb.P_TP_DEBIT_PCT,
    "time_stop_debit_dte_days": kb.P_TIME_STOP_DEBIT_DTE,
    "stop_loss_max_loss_pct": kb.P_SL_MAX_LOSS_PCT,
}
#: regime codes used by the simulator (index into the size multipliers)
REGIME_CODES: dict[str, int] = {str(r): i for i, r in enumerate(Regime)}
STATUS_NAMES: dict[int, str] = {
    kb.NOT_TAKEN: "not_taken", kb.OPEN_AT_END: "open_at_end", kb.EXIT_TP: "take_profit", kb.EXIT_SL: "stop_loss",
    kb.EXIT_REGIME: "regime_change", kb.EXIT_TIME: "time_stop", kb.EXIT_EXPIRY: "expiry", kb.EXIT_KILL: "kill_switch",
    kb.REJ_BLOCKED: "blocked_by_limits", kb.REJ_ONE_LOT: "one_lot_over_budget", kb.REJ_CAPACITY: "total_risk_cap",
    kb.REJ_MAX_OPEN: "max_open_trades", kb.REJ_UNEXECUTABLE: "unexecutable", kb.REJ_REGIME_ZERO: "regime_size_zero",
    kb.REJ_NO_PATH: "no_path", kb.REJ_STRESS: "stress_limit",
}  # fmt: skip


def base_params(settings: Settings) -> np.ndarray[Any, Any]:
    """One parameter row from the settings (exits of the credit/debit plans, risk limits, costs, multipliers)."""
    s = settings
    row = np.zeros(kb.N_PARAMS)
    ex = s.backtest.exits
    off = np.inf  # a rule set to null never fires
    row[kb.P_TP_PCT] = off if ex.credit.take_profit_pct is None else ex.credit.take_profit_pct
    row[kb.P_SL_CREDIT_MULT] = (
        off if ex.credit.stop_loss_credit_multiple is None else ex.credit.stop_loss_credit_multiple
    )
    row[kb.P_SL_MAX_LOSS_PCT] = off if ex.credit.stop_loss_max_loss_pct is None else ex.credit.stop_loss_max_loss_pct
    row[kb.P_TIME_STOP_DTE] = -1 if ex.credit.time_stop_dte_days is None else ex.credit.time_stop_dte_days
    row[kb.P_TP_DEBIT_PCT] = off if ex.debit.take_profit_pct is None else ex.debit.take_profit_pct
    row[kb.P_SL_DEBIT_PCT] = off if ex.debit.stop_loss_pct is None else ex.debit.stop_loss_pct
    row[kb.P_TIME_STOP_DEBIT_DTE] = -1 if ex.debit.time_stop_dte_days is None else ex.debit.time_stop_dte_days
    r = s.risk
    row[kb.P_PER_TRADE_PCT] = r.per_trade_risk_pct
    row[kb.P_TOTAL_PCT] = r.total_risk_pct
    row[kb.P_MAX_CONTRACTS] = r.max_contracts
    row[kb.P_MAX_OPEN] = r.max_open_trades
    row[kb.P_DAILY_LIMIT_PCT] = r.daily_loss_limit_pct
    row[kb.P_WEEKLY_LIMIT_PCT] = r.weekly_loss_limit_pct
    row[kb.P_DD_LIMIT_PCT] = r.max_drawdown_pct
    row[kb.P_EXIT_ON_REGIME] = float(ex.exit_on_regime_change)
    row[kb.P_KILL_CLOSE_ALL] = float(r.kill_switch_action is KillSwitchAction.CLOSE)
    row[kb.P_COST_PER_CONTRACT_LEG] = s.commissions.commission_per_contract_usd + s.commissions.reg_fee_per_contract_usd
    row[kb.P_STRESS_LIMIT_PCT] = r.total_risk_pct  # the book's worst scenario may lose at most the risk budget
    after_days = r.kill_switch_reset is KillSwitchReset.AFTER_DAYS
    row[kb.P_RECOVERY_DAYS] = float(r.kill_switch_recovery_days) if after_days else 0.0
    for regime, code in REGIME_CODES.items():
        row[kb.P_SIZE_MULT + code] = s.regime.size_multipliers[Regime(regime)]
    return row


def param_matrix(settings: Settings, overrides: Sequence[Mapping[str, float]] | None = None) -> np.ndarray[Any, Any]:
    """Parameter matrix (n_sets, N_PARAMS): the settings' row, with each mapping's values applied in turn.

    Raises
    ------
    ConfigError
        An override names an unknown parameter.
    """
    base = base_params(settings)
    sets = list(overrides) if overrides else [{}]
    out = np.tile(base, (len(sets), 1))
    for i, patch in enumerate(sets):
        for name, value in patch.items():
            if name not in PARAM_COLUMNS:
                msg = f"unknown backtest parameter {name!r}; known: {', '.join(PARAM_COLUMNS)}"
                raise ConfigError(msg)
            out[i, PARAM_COLUMNS[name]] = float(value)
    return out


@dataclass(frozen=True)
class SimResult:
    """Outputs of one simulator call over ``n_sets`` parameter sets.

    Attributes
    ----------
    daily : polars.DataFrame
        (param_set, day, equity, open_max_loss_usd, n_open, blocked).
    trades : polars.DataFrame
        One row per (param_set, candidate) that was decided on: contracts, status, entry/exit day and
        cashflow (points per share), pnl_usd after costs.
    """

    daily: pl.DataFrame
    trades: pl.DataFrame


def _arr(x: Any, dtype: Any, name: str, n: int | None = None) -> np.ndarray[Any, Any]:
    a = readonly(np.require(np.asarray(x), dtype, "C"))  # one compiled signature: inputs always read-only
    if a.ndim != 1 or (n is not None and a.size != n):
        msg = (
            f"simulator input '{name}' must be 1-D" + (f" of length {n}" if n is not None else "") + f"; got {a.shape}"
        )
        raise KernelInputError(msg)
    return a


def _matrix(x: Any, n: int) -> np.ndarray[Any, Any]:
    if x is None:
        return readonly(np.zeros((n, 1)))
    a = np.require(np.asarray(x, dtype=np.float64), np.float64, "C")
    if a.ndim != 2 or a.shape[0] != n:
        msg = f"stress matrix must have shape ({n}, n_scenarios); got {a.shape}"
        raise KernelInputError(msg)
    return readonly(np.ascontiguousarray(np.where(np.isfinite(a), a, 0.0)))


def simulate(
    n_days: int,
    day_regime: Any,
    day_week: Any,
    candidates: Mapping[str, Any],
    paths: Mapping[str, Any],
    params: np.ndarray[Any, Any],
    equity0: float,
) -> SimResult:
    """Run the simulator kernel (see :mod:`volengine.kernels.backtest`) for every row of ``params``.

    Parameters
    ----------
    n_days : int
        Sessions on the day axis.
    day_regime, day_week : array_like of shape (n_days,)
        Regime code per day (:data:`REGIME_CODES`) and a week id per day (weekly loss limit resets on change).
    candidates : mapping of str to array_like of shape (n_c,)
        ``signal_day, entry_day, ml_est, legs, is_credit, regime`` (sorted by signal day, then priority).
    paths : mapping of str to array_like
        ``off`` (n_c + 1) and per row ``day, close_cf, settle_cf, dte, entry_cf, max_loss, max_profit``;
        optionally ``exit_cf`` (what an exit decided the session before fills at; default ``close_cf``),
        ``settle_legs`` (legs traded out, not expiring, on an expiry row; default 0) and
        ``stress`` (n_rows, n_scenarios) per-share scenario P&L and, in ``candidates``, ``stress``
        (n_c, n_scenarios) at the signal day (both default to zeros: no stress cap).
    params : ndarray of shape (n_sets, N_PARAMS)
    equity0 : float
        Starting equity in dollars.
    """
    c = {k: candidates[k] for k in ("signal_day", "entry_day", "ml_est", "legs", "is_credit", "regime")}
    n_c = len(np.asarray(c["signal_day"]))
    sig = _arr(c["signal_day"], np.int64, "signal_day", n_c)
    if np.any(np.diff(sig) < 0):
        msg = "simulator candidates must be sorted by signal_day"
        raise KernelInputError(msg)
    off = _arr(paths["off"], np.int64, "off", n_c + 1)
    n_rows = int(off[-1]) if off.size else 0
    prm = readonly(np.require(params, np.float64, "C"))
    if prm.ndim != 2 or prm.shape[1] != kb.N_PARAMS:
        msg = f"params must have shape (n_sets, {kb.N_PARAMS}); got {prm.shape}"
        raise KernelInputError(msg)
    n_p = prm.shape[0]
    cand_i = np.column_stack([sig, *(_arr(c[name], np.int64, name, n_c)
                                     for name in ("entry_day", "legs", "is_credit", "regime"))])  # fmt: skip
    settle_legs = paths["settle_legs"] if "settle_legs" in paths else np.zeros(n_rows, np.int64)
    path_i = np.column_stack([_arr(paths["day"], np.int64, "day", n_rows), _arr(paths["dte"], np.int64, "dte", n_rows),
                              _arr(settle_legs, np.int64, "settle_legs", n_rows)])  # fmt: skip
    f_cols = {"close_cf": paths["close_cf"], "exit_cf": paths["exit_cf"] if "exit_cf" in paths else paths["close_cf"],
              "settle_cf": paths["settle_cf"], "entry_cf": paths["entry_cf"], "max_loss": paths["max_loss"],
              "max_profit": paths["max_profit"]}  # fmt: skip
    path_f = np.column_stack([_arr(v, np.float64, name, n_rows) for name, v in f_cols.items()])
    day_f = np.empty((n_p, n_days, 2))
    day_i = np.empty((n_p, n_days, 2), dtype=np.int64)
    c_i = np.empty((n_p, n_c, 4), dtype=np.int64)
    c_f = np.empty((n_p, n_c, 3))
    kb._simulate_nb(
        int(n_days), _arr(day_regime, np.int64, "day_regime", n_days), _arr(day_week, np.int64, "day_week", n_days),
        readonly(cand_i), _arr(c["ml_est"], np.float64, "ml_est", n_c), _matrix(candidates.get("stress"), n_c), off,
        readonly(path_i), readonly(path_f), _matrix(paths.get("stress"), n_rows),
        prm, float(equity0), day_f, day_i, c_i, c_f,
    )  # fmt: skip
    eq, oml = day_f[:, :, kb.D_EQUITY], day_f[:, :, kb.D_OPEN_ML]
    nop, blk = day_i[:, :, kb.D_N_OPEN], day_i[:, :, kb.D_BLOCKED]
    k, st = c_i[:, :, kb.O_CONTRACTS], c_i[:, :, kb.O_STATUS]
    ed, xd = c_i[:, :, kb.O_ENTRY_DAY], c_i[:, :, kb.O_EXIT_DAY]
    ecf, xcf, pnl = c_f[:, :, kb.O_ENTRY_CF], c_f[:, :, kb.O_EXIT_CF], c_f[:, :, kb.O_PNL]
    ps = np.repeat(np.arange(n_p), n_days)
    daily = pl.DataFrame({
        "param_set": ps, "day": np.tile(np.arange(n_days), n_p), "equity": eq.ravel(),
        "open_max_loss_usd": oml.ravel(), "n_open": nop.ravel(), "blocked": blk.ravel().astype(bool),
    })  # fmt: skip
    trades = pl.DataFrame({
        "param_set": np.repeat(np.arange(n_p), n_c), "candidate": np.tile(np.arange(n_c), n_p),
        "contracts": k.ravel(), "status_code": st.ravel(), "entry_day": ed.ravel(), "exit_day": xd.ravel(),
        "entry_cf": ecf.ravel(), "exit_cf": xcf.ravel(), "pnl_usd": pnl.ravel(),
    }).with_columns(
        pl.col("status_code").replace_strict(STATUS_NAMES, return_dtype=pl.String).alias("status"),
        pl.col("entry_cf").fill_nan(None), pl.col("exit_cf").fill_nan(None),
    )  # fmt: skip
    return SimResult(daily=daily, trades=trades)
