"""Performance metrics of a backtest run (seed-spec §2.14): the equity curve, the trade log, breakdowns.

Pure functions over the two frames a run directory holds (``equity.parquet``, ``trades.parquet``):

* :func:`returns_from_equity` - simple daily returns of the marked-to-market equity;
* :func:`drawdown_from_equity` - the underwater curve against the running peak;
* :func:`performance` - one flat dict of curve and trade metrics plus sample-size ``warnings``;
* :func:`breakdown` - trade metrics per regime at entry, structure, edge, exit reason or underlying;
* :func:`write_metrics` - all of the above into ``metrics.json``, written atomically.

Conventions (they fix two VolMachine defects, seed-spec §4.6):

* The curve starts from the **real opening equity** ``equity[0] - daily_pnl[0]`` (the account before the first
  day's P&L), never from a fixed $10k; CAGR, total return and drawdowns are ratios of real equity.
* CAGR counts **trading days**: ``(E_n / E_0) ** (annualization_days / n) - 1`` for ``n`` daily returns.
* Sortino divides by the **downside deviation over all days**, ``sqrt(mean(min(r - t, 0) ** 2))``, not by the
  standard deviation of the losing days only. Its target ``t`` is the daily risk-free share used by Sharpe.
* A value that is undefined (a ratio over zero, a statistic of no data) is ``None``, never NaN, inf or a
  stand-in number; e.g. the profit factor of a log without losing trades is ``None``.

Only polars and numpy here; pandas and quantstats stay in :mod:`volengine.report.tearsheet`.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from volengine.data.atomic import write_bytes_atomic
from volengine.errors import DataError, SchemaError

if TYPE_CHECKING:
    from volengine.config import MetricsSettings, Settings

#: fewer closed trades than this puts a warning in :func:`performance`'s ``warnings``
MIN_TRADES = 30
#: trade-log columns :func:`breakdown` groups by (``regime`` is accepted for ``regime_at_entry``)
BREAKDOWN_COLUMNS = ("regime_at_entry", "structure", "edge", "exit_reason", "underlying")
#: the breakdowns :func:`write_metrics` stores, key in ``metrics.json`` -> trade-log column
METRICS_BREAKDOWNS = {
    "by_regime": "regime_at_entry",
    "by_structure": "structure",
    "by_edge": "edge",
    "by_exit_reason": "exit_reason",
}
#: the optional portfolio Greek columns of ``equity.parquet``
GREEK_COLUMNS = ("delta", "gamma", "vega", "theta")
METRICS_FILE = "metrics.json"
METRICS_SCHEMA_VERSION = 1

# A daily-return standard deviation at or below this is round-off of a constant series (real ones are ~1e-3 or
# more); dividing by it would print a Sharpe of 1e13.
_STD_FLOOR = 1e-12
# daily_pnl may differ from the equity change by rounding; beyond this the two columns disagree
_PNL_TOLERANCE_USD = 0.01
_ALIASES = {"regime": "regime_at_entry"}

Metrics = dict[str, Any]


# -- settings and input checks -----------------------------------------------------------------------------


def _metrics_settings(settings: Settings | MetricsSettings | None) -> MetricsSettings:
    from volengine.config import MetricsSettings
    from volengine.config.settings import settings_section

    return settings_section(settings, MetricsSettings, "metrics")


def _require(frame: pl.DataFrame, name: str, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        msg = f"{name} frame must have columns {list(columns)}; missing {missing} (got {frame.columns})"
        raise SchemaError(msg, column=missing[0])


def _check_equity(equity: pl.DataFrame) -> None:
    _require(equity, "equity", ("date", "equity"))
    if equity.schema["date"] != pl.Date:
        msg = f"column 'date' of the equity frame must be Date; got {equity.schema['date']}"
        raise SchemaError(msg, column="date", value=str(equity.schema["date"]))
    if equity.height == 0:
        msg = "equity frame must have at least one row; got 0 rows"
        raise DataError(msg, column="equity", row=0)
    if equity["date"].null_count():
        row = int(equity["date"].is_null().arg_max() or 0)
        msg = f"column 'date' of the equity frame must not be null; got null at row {row}"
        raise DataError(msg, column="date", row=row)
    values = equity["equity"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    bad = ~(np.isfinite(values) & (values > 0))
    if bad.any():
        row = int(np.argmax(bad))
        msg = f"column 'equity' must be finite and > 0; got {values[row]} at row {row} ({equity['date'][row]})"
        raise DataError(msg, column="equity", row=row, value=float(values[row]))
    days = equity["date"].to_numpy()
    step = np.diff(days)
    if (step <= np.timedelta64(0, "D")).any():
        row = int(np.argmax(step <= np.timedelta64(0, "D"))) + 1
        msg = f"column 'date' of the equity frame must be strictly increasing; got {days[row]} after {days[row - 1]}"
        raise DataError(msg, column="date", row=row, value=str(days[row]))


def _opening_equity(equity: pl.DataFrame) -> float | None:
    """Equity before the first day's P&L, ``equity[0] - daily_pnl[0]``; None without a first daily_pnl."""
    if "daily_pnl" not in equity.columns or equity["daily_pnl"][0] is None:
        return None
    opening = float(equity["equity"][0]) - float(equity["daily_pnl"][0])
    if not (math.isfinite(opening) and opening > 0):
        msg = (
            f"opening equity equity[0] - daily_pnl[0] must be finite and > 0; got {opening} "
            f"({equity['equity'][0]} - {equity['daily_pnl'][0]} at {equity['date'][0]})"
        )
        raise DataError(msg, column="daily_pnl", row=0, value=opening)
    return opening


def _equity_levels(equity: pl.DataFrame) -> np.ndarray:
    """Equity ``E_0 .. E_n``: the opening equity then every close; ``n`` daily returns."""
    _check_equity(equity)
    closes = equity["equity"].cast(pl.Float64).to_numpy()
    opening = _opening_equity(equity)
    return closes if opening is None else np.concatenate([[opening], closes])


# -- the equity curve ------------------------------------------------------------------------------------


def returns_from_equity(equity: pl.DataFrame) -> pl.DataFrame:
    """Compute the simple daily returns of the marked-to-market equity.

    Parameters
    ----------
    equity : pl.DataFrame
        One row per trading day with ``date`` (Date, strictly increasing) and ``equity`` (USD, > 0); with
        ``daily_pnl`` (USD) the first day's return is measured from the opening equity
        ``equity[0] - daily_pnl[0]``, without it the first row is only the base and gets no return.

    Returns
    -------
    pl.DataFrame
        Columns ``date`` (Date) and ``ret`` (Float64, fraction): ``equity[t] / equity[t - 1] - 1``.

    Raises
    ------
    SchemaError
        A missing ``date`` / ``equity`` column or a non-Date ``date``.
    DataError
        No rows, null dates, equity not finite and positive, dates not strictly increasing.

    Examples
    --------
    >>> import datetime as dt
    >>> frame = pl.DataFrame({"date": [dt.date(2024, 1, 2), dt.date(2024, 1, 3)], "equity": [101.0, 99.99],
    ...                       "daily_pnl": [1.0, -1.01]})
    >>> returns_from_equity(frame)["ret"].round(4).to_list()
    [0.01, -0.01]
    """
    levels = _equity_levels(equity)
    ret = levels[1:] / levels[:-1] - 1.0
    dates = equity["date"] if levels.size == equity.height + 1 else equity["date"].slice(1)
    return pl.DataFrame({"date": dates, "ret": pl.Series("ret", ret, dtype=pl.Float64)})


def drawdown_from_equity(equity: pl.DataFrame) -> pl.DataFrame:
    """Underwater curve: each close against the running peak of the equity, opening equity included.

    Parameters
    ----------
    equity : pl.DataFrame
        As in :func:`returns_from_equity`.

    Returns
    -------
    pl.DataFrame
        ``date``, ``equity`` (USD), ``peak`` (USD, running maximum from the opening equity) and ``drawdown``
        (fraction, ``equity / peak - 1 <= 0``), one row per row of ``equity``.
    """
    levels = _equity_levels(equity)
    peak = np.maximum.accumulate(levels)[levels.size - equity.height :]
    closes = levels[levels.size - equity.height :]
    return pl.DataFrame({"date": equity["date"], "equity": closes, "peak": peak, "drawdown": closes / peak - 1.0})


def _max_drawdown_duration(levels: np.ndarray) -> int:
    """Longest stretch, in trading days, from a peak to its recovery (or to the last day if none)."""
    peak = np.maximum.accumulate(levels)
    at_high = levels >= peak
    idx = np.arange(levels.size)
    last_high = np.maximum.accumulate(np.where(at_high, idx, 0))
    since_peak = idx - last_high
    recovered = at_high[1:] & ~at_high[:-1]
    recoveries = since_peak[:-1][recovered] + 1
    return int(max(since_peak[-1], recoveries.max(initial=0)))


def _ratio(num: float, den: float, *, floor: float = 0.0) -> float | None:
    return float(num / den) if den > floor else None


def _curve_metrics(levels: np.ndarray, cfg: MetricsSettings) -> Metrics:
    """Metrics of the equity path ``E_0 .. E_n`` (see the module docstring for the conventions)."""
    days = cfg.annualization_days
    ret = levels[1:] / levels[:-1] - 1.0
    n = int(ret.size)
    growth = float(levels[-1] / levels[0])
    peak = np.maximum.accumulate(levels)
    max_dd = float((levels / peak - 1.0).min())
    out: Metrics = {
        "n_days": n,
        "start_equity_usd": float(levels[0]),
        "end_equity_usd": float(levels[-1]),
        "total_return": growth - 1.0,
        "cagr": growth ** (days / n) - 1.0 if n else None,
        "max_drawdown": max_dd,
        "max_drawdown_usd": float((levels - peak).min()),
        "max_drawdown_duration_days": _max_drawdown_duration(levels),
    }
    std = float(ret.std(ddof=1)) if n >= 2 else math.nan
    excess = ret - cfg.sharpe_risk_free_rate / days
    downside = float(np.sqrt(np.mean(np.minimum(excess, 0.0) ** 2))) if n else math.nan
    mean_excess = float(excess.mean()) if n else math.nan
    sharpe = _ratio(mean_excess, std, floor=_STD_FLOOR)
    sortino = _ratio(mean_excess, downside, floor=_STD_FLOOR)
    out["volatility"] = std * math.sqrt(days) if n >= 2 else None
    out["sharpe"] = None if sharpe is None else sharpe * math.sqrt(days)
    out["sortino"] = None if sortino is None else sortino * math.sqrt(days)
    out["calmar"] = None if out["cagr"] is None or max_dd >= 0 else out["cagr"] / abs(max_dd)
    if n:
        hi, lo = np.quantile(ret, [0.95, 0.05])  # linear interpolation, as pandas' quantile
        out["tail_ratio"] = float(hi / abs(lo)) if lo != 0 else None
        out["best_day"], out["worst_day"] = float(ret.max()), float(ret.min())
        nonzero = int(np.count_nonzero(ret))
        out["daily_win_rate"] = float((ret > 0).sum() / nonzero) if nonzero else None
    else:
        out.update(tail_ratio=None, best_day=None, worst_day=None, daily_win_rate=None)
    return out


# -- the trade log ----------------------------------------------------------------------------------------


def _closed_trades(trades: pl.DataFrame | None) -> pl.DataFrame:
    if trades is None:
        return pl.DataFrame(schema={"pnl_usd": pl.Float64})
    _require(trades, "trades", ("pnl_usd",))
    return trades.filter(pl.col("pnl_usd").is_not_null())


def _trade_aggs(columns: list[str]) -> list[pl.Expr]:
    """Aggregations shared by the overall trade metrics and every breakdown group."""
    pnl = pl.col("pnl_usd").cast(pl.Float64)
    gross_loss = -pnl.filter(pnl < 0).sum()
    if "max_loss_usd" in columns:
        risk = pl.col("max_loss_usd").cast(pl.Float64)
        expectancy_r = (pnl / risk).filter(risk > 0).mean()
    else:
        expectancy_r = pl.lit(None, dtype=pl.Float64)
    return [
        pl.len().cast(pl.Int64).alias("n"),
        (pnl > 0).mean().alias("win_rate"),
        pnl.sum().alias("pnl_usd"),
        pnl.mean().alias("avg_pnl_usd"),
        pl.when(gross_loss > 0).then(pnl.filter(pnl > 0).sum() / gross_loss).alias("profit_factor"),
        expectancy_r.alias("expectancy_r"),
    ]


def _max_consecutive_losses(closed: pl.DataFrame) -> int:
    order = [c for c in ("exit_date", "trade_id") if c in closed.columns]
    ordered = closed.sort(order) if order else closed
    runs = (ordered["pnl_usd"] <= 0).rle()
    losing = runs.struct.field("len").filter(runs.struct.field("value"))
    return int(losing.max() or 0)


def _trade_metrics(trades: pl.DataFrame | None) -> Metrics:
    """Trade-log metrics over the closed trades (null ``pnl_usd`` = still open, left out)."""
    closed = _closed_trades(trades)
    row = closed.select(_trade_aggs(closed.columns)).row(0, named=True)
    pnl = closed["pnl_usd"].cast(pl.Float64).to_numpy()
    wins, losses = pnl[pnl > 0], pnl[pnl <= 0]
    win_rate = row["win_rate"]
    avg_win = float(wins.mean()) if wins.size else None
    avg_loss = float(losses.mean()) if losses.size else None
    expectancy = None
    if win_rate is not None:  # WR x avg win + (1 - WR) x avg loss; a term of zero weight has no average
        expectancy = (win_rate * avg_win if avg_win is not None else 0.0) + (
            (1.0 - win_rate) * avg_loss if avg_loss is not None else 0.0
        )
    hold = None
    if closed.height and {"entry_date", "exit_date"} <= set(closed.columns):
        hold = closed.select((pl.col("exit_date") - pl.col("entry_date")).dt.total_days().mean()).item()
    return {
        "n_trades": closed.height,
        "win_rate": win_rate,
        "profit_factor": row["profit_factor"],
        "avg_win_usd": avg_win,
        "avg_loss_usd": avg_loss,
        "expectancy_usd": expectancy,
        "expectancy_r": row["expectancy_r"],
        "total_pnl_usd": float(pnl.sum()),
        "gross_profit_usd": float(wins.sum()),
        "gross_loss_usd": float(abs(pnl[pnl < 0].sum())),
        "avg_hold_days": hold,
        "max_consecutive_losses": _max_consecutive_losses(closed) if closed.height else 0,
    }


def _warnings(equity: pl.DataFrame, trades: pl.DataFrame | None, out: Metrics, days: int) -> list[str]:
    found = []
    if out["n_trades"] < MIN_TRADES:
        found.append(
            f"only {out['n_trades']} closed trades (< {MIN_TRADES}): win rate, profit factor and expectancy are noisy"
        )
    if out["n_days"] < days:
        found.append(
            f"only {out['n_days']} trading days (< {days}): CAGR, volatility, Sharpe and Sortino extrapolate "
            "less than a year"
        )
    if trades is not None and "pnl_usd" in trades.columns and trades["pnl_usd"].null_count():
        found.append(f"{trades['pnl_usd'].null_count()} trades without pnl_usd (still open) are left out")
    if trades is not None and "model_marked" in trades.columns and out["n_trades"]:
        marked = int(trades.filter(pl.col("pnl_usd").is_not_null())["model_marked"].sum())
        if marked:
            found.append(f"{marked} of {out['n_trades']} trades were closed at a model mark (no usable quote)")
    if "daily_pnl" in equity.columns and equity.height > 1:
        gap = equity.select((pl.col("equity").diff() - pl.col("daily_pnl")).abs().slice(1))[:, 0].fill_null(0.0)
        bad = gap > _PNL_TOLERANCE_USD
        if bad.any():
            first = equity["date"][int(bad.arg_max() or 0) + 1]
            found.append(
                f"daily_pnl differs from the equity change by more than ${_PNL_TOLERANCE_USD} on {int(bad.sum())} "
                f"days (first {first}); returns follow the equity column"
            )
    return found


# -- public API ---------------------------------------------------------------------------------------


def performance(
    equity: pl.DataFrame,
    trades: pl.DataFrame | None = None,
    settings: Settings | MetricsSettings | None = None,
) -> Metrics:
    """Curve and trade metrics of a run, flat, JSON-ready (undefined values are None).

    Parameters
    ----------
    equity : pl.DataFrame
        The run's ``equity.parquet``: ``date``, ``equity`` (USD) and, used when present, ``daily_pnl`` (USD;
        gives the opening equity) and ``n_open`` (gives the exposure).
    trades : pl.DataFrame, optional
        The run's ``trades.parquet``: ``pnl_usd`` (USD after costs; null = open, left out) and, used when
        present, ``max_loss_usd``, ``entry_date``, ``exit_date``, ``trade_id``, ``model_marked``.
    settings : Settings or MetricsSettings, optional
        ``metrics.annualization_days`` (A) and ``metrics.sharpe_risk_free_rate`` (rf); default 252 and 0.05.

    Returns
    -------
    dict
        Curve (daily returns r over n days, equity E_0 .. E_n from the opening equity):
        ``total_return`` = E_n / E_0 - 1; ``cagr`` = (E_n / E_0) ** (A / n) - 1; ``volatility`` = std(r) √A
        (ddof 1); ``sharpe`` = mean(r - rf / A) / std(r) √A; ``sortino`` = mean(r - rf / A) / DD √A with
        DD = sqrt(mean(min(r - rf / A, 0)²)) over all days; ``max_drawdown`` (fraction, <= 0),
        ``max_drawdown_usd``, ``max_drawdown_duration_days`` (trading days from a peak to recovery, or to the
        end); ``calmar`` = cagr / |max_drawdown|; ``tail_ratio`` = q95(r) / |q05(r)|; ``best_day``,
        ``worst_day``; ``daily_win_rate`` (up days / non-flat days); ``exposure`` (share of days with
        n_open > 0); ``n_days``, ``start_equity_usd``, ``end_equity_usd``.
        Trades (winners pnl > 0, losers pnl <= 0): ``n_trades``, ``win_rate``, ``profit_factor`` (gross wins /
        gross losses, None without losses), ``avg_win_usd``, ``avg_loss_usd`` (<= 0), ``expectancy_usd`` =
        WR × avg win + (1 - WR) × avg loss (the mean P&L per trade), ``expectancy_r`` (mean of pnl / max
        loss), ``total_pnl_usd``, ``gross_profit_usd``, ``gross_loss_usd``, ``avg_hold_days`` (calendar),
        ``max_consecutive_losses`` (exit-ordered).
        ``warnings``: list of str, sample-size and consistency notes (fewer than :data:`MIN_TRADES` trades,
        less than a year of days, open or model-marked trades, daily_pnl disagreeing with the equity).

    Raises
    ------
    SchemaError, DataError
        Malformed frames (see :func:`returns_from_equity`); a trade log without ``pnl_usd``.
    ConfigError
        ``settings`` of another type.

    Notes
    -----
    Sortino & Price (1994), "Performance measurement in a downside risk framework", J. Investing 3(3),
    https://doi.org/10.3905/joi.3.3.59 (downside deviation over all periods). Expectancy in R multiples: the
    mean P&L per dollar of the trade's defined max loss.
    """
    cfg = _metrics_settings(settings)
    out = _curve_metrics(_equity_levels(equity), cfg)
    if "n_open" in equity.columns:
        out["exposure"] = float((equity["n_open"].fill_null(0) > 0).mean() or 0.0)
    else:
        out["exposure"] = None
    out.update(_trade_metrics(trades))
    out["warnings"] = _warnings(equity, trades, out, cfg.annualization_days)
    return out


def breakdown(trades: pl.DataFrame, by: str) -> pl.DataFrame:
    """Trade metrics per value of one trade-log column.

    Parameters
    ----------
    trades : pl.DataFrame
        The trade log; rows with null ``pnl_usd`` (open trades) are left out.
    by : str
        One of :data:`BREAKDOWN_COLUMNS` (``"regime"`` means ``regime_at_entry``).

    Returns
    -------
    pl.DataFrame
        One row per value of ``by`` (String, sorted, null last) with ``n`` (Int64), ``win_rate`` (share of
        pnl > 0), ``pnl_usd`` (sum), ``avg_pnl_usd`` (the USD expectancy), ``profit_factor`` (null when the
        group has no losing trade) and ``expectancy_r`` (mean pnl / max_loss_usd; null without max losses).

    Raises
    ------
    SchemaError
        ``by`` not a breakdown column, or a column missing from ``trades``.
    """
    column = _ALIASES.get(by, by)
    if column not in BREAKDOWN_COLUMNS:
        msg = f"breakdown by must be one of {[*BREAKDOWN_COLUMNS, *_ALIASES]}; got {by!r}"
        raise SchemaError(msg, column=by, value=by)
    _require(trades, "trades", ("pnl_usd", column))
    closed = trades.filter(pl.col("pnl_usd").is_not_null()).with_columns(pl.col(column).cast(pl.String))
    return closed.group_by(column).agg(_trade_aggs(closed.columns)).sort(column, nulls_last=True)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def write_metrics(
    run_dir: str | os.PathLike[str],
    equity: pl.DataFrame,
    trades: pl.DataFrame | None,
    settings: Settings | MetricsSettings | None = None,
) -> dict[str, Any]:
    """Compute the run's metrics and write ``RUN_DIR/metrics.json`` atomically.

    Parameters
    ----------
    run_dir : path
        The run directory (created if missing).
    equity, trades, settings
        As in :func:`performance`.

    Returns
    -------
    dict
        What was written: ``schema_version``, ``start_date`` / ``end_date`` (ISO), ``settings``
        (annualization_days, sharpe_risk_free_rate), ``overall`` (:func:`performance`, with its
        ``warnings``) and ``by_regime``, ``by_structure``, ``by_edge``, ``by_exit_reason``: lists of
        :func:`breakdown` rows (a breakdown whose column the log lacks is an empty list). JSON has no NaN or
        inf: undefined values are null.

    Raises
    ------
    SchemaError, DataError, ConfigError
        As :func:`performance`; an existing ``metrics.json`` is left untouched on any failure.
    """
    cfg = _metrics_settings(settings)
    overall = performance(equity, trades, cfg)
    doc: dict[str, Any] = {
        "schema_version": METRICS_SCHEMA_VERSION,
        "start_date": equity["date"].min(),
        "end_date": equity["date"].max(),
        "settings": cfg.model_dump(),
        "overall": overall,
    }
    for key, column in METRICS_BREAKDOWNS.items():
        if trades is not None and column in trades.columns:
            doc[key] = breakdown(trades, column).to_dicts()
        else:
            doc[key] = []
    doc = _jsonable(doc)
    root = Path(run_dir)
    root.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic((json.dumps(doc, indent=2, allow_nan=False) + "\n").encode("utf-8"), root / METRICS_FILE)
    return doc
