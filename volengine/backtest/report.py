"""Summary tables of a backtest run for the terminal (rich), from the run's frames."""

from __future__ import annotations

from typing import Any

import polars as pl


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.4g}" if abs(v) < 1e5 else f"{v:,.0f}"
    return str(v)


def summary_rows(run: Any) -> list[Any]:
    """Rich tables: headline metrics, results by regime at entry, by structure and by exit reason."""
    from rich.table import Table

    from volengine.metrics import breakdown, performance

    eq = run.equity.filter(pl.col("param_set") == 0).drop("param_set")
    tr = run.trades.filter(pl.col("param_set") == 0).drop("param_set")
    perf = performance(eq, tr, run.settings)
    head = Table(title="backtest: default book, parameter set 0")
    head.add_column("metric")
    head.add_column("value", justify="right")
    for k in ("total_return", "cagr", "volatility", "sharpe", "sortino", "max_drawdown", "calmar", "n_trades",
              "win_rate", "profit_factor", "expectancy_usd", "exposure"):  # fmt: skip
        head.add_row(k, _fmt(perf.get(k)))
    out = [head]
    for by in ("regime_at_entry", "structure", "exit_reason"):
        if tr.height == 0:
            break
        b = breakdown(tr, by)
        t = Table(title=f"by {by}")
        for col in b.columns:
            t.add_column(col, justify="left" if col == by else "right")
        for row in b.iter_rows():
            t.add_row(*[_fmt(v) for v in row])
        out.append(t)
    return out
