"""Tearsheet of a backtest run: the quantstats HTML report and three matplotlib charts.

:func:`tearsheet` reads a run directory (``equity.parquet``, ``trades.parquet``, ``config.json``) and writes into
``RUN_DIR/report/``:

* ``tearsheet.html`` - ``quantstats.reports.html`` on the daily returns of the marked-to-market equity
  (:func:`volengine.metrics.returns_from_equity`), against a benchmark when one is given;
* ``equity_drawdown.png`` - the equity curve over its underwater drawdown;
* ``pnl_by_regime.png`` - closed-trade P&L summed by ``regime_at_entry``;
* ``greeks.png`` - portfolio delta, gamma, vega and theta over time, when ``equity.parquet`` has them.

The benchmark never comes from the network: quantstats downloads a ticker passed as a string, so it only ever
gets a pandas Series, built from returns or closes the caller supplies (:func:`load_benchmark` reads
``RUN_DIR/benchmark.parquet`` or the store's bars). pandas, matplotlib and quantstats are imported inside the
functions: this module is the pandas boundary and the CLI must start fast.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from volengine.errors import ConfigError, DataError, SchemaError
from volengine.metrics import GREEK_COLUMNS, breakdown, drawdown_from_equity, returns_from_equity

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from volengine.config import MetricsSettings

REPORT_DIR = "report"
HTML_FILE = "tearsheet.html"
BENCHMARK_FILE = "benchmark.parquet"
PNG_FILES = {"equity_drawdown": "equity_drawdown.png", "pnl_by_regime": "pnl_by_regime.png", "greeks": "greeks.png"}
_GREEK_LABELS = {"delta": "delta (per point)", "gamma": "gamma (per point)", "vega": "vega", "theta": "theta (per day)"}
_DPI = 100

# What quantstats 0.0.86 (with pandas 3, matplotlib 3.11, seaborn 0.13) warns about on every report, none of it
# about our data: (category name, message regex, module regex). Anything else still reaches the caller.
_KNOWN_WARNINGS = (
    ("Pandas4Warning", r"The inplace keyword in DataFrame\.rename is deprecated", r"quantstats\.reports"),
    ("UserWarning", r"set_ticklabels\(\) should only be used with a fixed number of ticks", r"quantstats\._plotting"),
    ("PendingDeprecationWarning", r"The set_bad function will be deprecated", r"seaborn\.matrix"),
    ("MatplotlibDeprecationWarning", r"vert: bool was deprecated", r"seaborn\.categorical"),
)


# -- reading a run -----------------------------------------------------------------------------------------


def _read_parquet(path: Path) -> pl.DataFrame:
    if not path.is_file():
        msg = f"run directory {path.parent} has no {path.name}"
        raise DataError(msg, path=str(path))
    try:
        return pl.read_parquet(path)
    except (OSError, pl.exceptions.ComputeError) as exc:
        msg = f"cannot read {path}: {exc}"
        raise DataError(msg, path=str(path)) from None


def run_settings(run_dir: str | os.PathLike[str]) -> MetricsSettings:
    """Read the metrics settings of the run's ``config.json`` snapshot (defaults when absent).

    The section is ``settings.metrics`` (as the backtester writes it) or a top-level ``metrics``.
    """
    from pydantic import ValidationError

    from volengine.config import MetricsSettings

    path = Path(run_dir) / "config.json"
    if not path.is_file():
        return MetricsSettings()
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        section = doc.get("settings", doc).get("metrics", {})
        return MetricsSettings.model_validate(section)
    except (json.JSONDecodeError, AttributeError) as exc:
        msg = f"{path}: must be a JSON object with an optional 'metrics' section ({exc})"
        raise ConfigError(msg) from None
    except ValidationError as exc:
        raise ConfigError(
            [f"{path}: metrics.{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        ) from None


def load_run(run_dir: str | os.PathLike[str], *, param_set: int = 0) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Read (equity, trades) of a run directory; of one ``param_set`` when the files hold a sweep.

    Raises
    ------
    DataError
        The directory, ``equity.parquet`` or ``trades.parquet`` is missing or unreadable, or has no rows of
        ``param_set``.
    """
    root = Path(run_dir)
    if not root.is_dir():
        msg = f"run directory {root} does not exist"
        raise DataError(msg, path=str(root))
    frames = []
    for name in ("equity.parquet", "trades.parquet"):
        frame = _read_parquet(root / name)
        if "param_set" in frame.columns:
            frame = frame.filter(pl.col("param_set") == param_set).drop("param_set")
            if name == "equity.parquet" and frame.height == 0:
                msg = f"{root / name} has no rows of param_set {param_set}"
                raise DataError(msg, path=str(root / name), column="param_set", value=param_set)
        frames.append(frame)
    return frames[0], frames[1]


def load_benchmark(
    run_dir: str | os.PathLike[str], symbol: str, store: str | os.PathLike[str] | None = None
) -> pl.DataFrame:
    """Read the benchmark's returns or closes: ``RUN_DIR/benchmark.parquet`` if it exists, else the store's bars.

    ``benchmark.parquet`` holds ``date`` and either ``ret`` (fraction) or ``close`` / ``adj_close``, filtered to
    ``symbol`` when it has an ``underlying`` column (without one it is taken to be ``symbol``'s). Bars use
    ``adj_close`` where present, else ``close``.

    Raises
    ------
    DataError
        Neither source is available, or the store has no bars of ``symbol``.
    """
    path = Path(run_dir) / BENCHMARK_FILE
    if path.is_file():
        frame = _read_parquet(path)
        if "underlying" in frame.columns:
            frame = frame.filter(pl.col("underlying").cast(pl.String) == symbol)
            if frame.height == 0:
                msg = f"{path} has no rows of benchmark {symbol} in column 'underlying'"
                raise DataError(msg, path=str(path), column="underlying", value=symbol)
        return frame
    if store is None:
        msg = f"benchmark {symbol} needs {path} or a store with its bars (--store); got neither"
        raise DataError(msg, path=str(path))
    from volengine.data.store import Store

    bars = Store(store).read("bars", underlyings=[symbol], columns=["date", "close", "adj_close"])
    if bars.height == 0:
        msg = f"store {store} has no bars of benchmark {symbol}"
        raise DataError(msg, path=str(store), column="underlying", value=symbol)
    return bars


def _benchmark_levels(frame: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(days as int64, level) of a benchmark frame of returns or closes, sorted by date."""
    if "date" not in frame.columns or not ({"ret", "close", "adj_close"} & set(frame.columns)):
        msg = f"benchmark frame must have 'date' and 'ret' or 'close' / 'adj_close'; got {frame.columns}"
        raise SchemaError(msg, column="date" if "date" not in frame.columns else "ret")
    if "ret" in frame.columns:
        value = pl.col("ret").cast(pl.Float64)
    else:
        value = pl.coalesce([pl.col(c).cast(pl.Float64) for c in ("adj_close", "close") if c in frame.columns])
    clean = frame.select(pl.col("date").cast(pl.Date), value.alias("v")).drop_nulls().sort("date")
    days = clean["date"].to_physical().cast(pl.Int64).to_numpy()
    v = clean["v"].to_numpy()
    ok = np.isfinite(v) & ((v > -1.0) if "ret" in frame.columns else (v > 0))
    if clean.height == 0 or not ok.all() or (np.diff(days) <= 0).any():
        row = int(np.argmin(ok)) if clean.height and not ok.all() else None
        got = v[row] if row is not None else "no rows or repeated dates"
        msg = f"benchmark must have unique dates and finite values (returns > -1, closes > 0); got {got}"
        raise DataError(msg, row=row)
    if "ret" in frame.columns:  # a wealth index, level 1 the day before the first return
        return np.concatenate([[days[0] - 1], days]), np.concatenate([[1.0], np.cumprod(1.0 + v)])
    return days, v


def benchmark_on_dates(dates: pl.Series, benchmark: pl.DataFrame) -> pl.DataFrame:
    """Benchmark returns over the same intervals as the strategy's daily returns.

    Parameters
    ----------
    dates : pl.Series of Date
        The strategy's return dates (:func:`returns_from_equity`); the first return runs from the close before
        ``dates[0]``.
    benchmark : pl.DataFrame
        ``date`` and ``ret`` (fraction), or ``date`` and ``close`` / ``adj_close``.

    Returns
    -------
    pl.DataFrame
        ``date`` (= ``dates``) and ``ret``: the benchmark level at each date (its last value on or before it)
        over the level at the previous date, so a day the benchmark did not trade is flat and the next one
        catches up.

    Raises
    ------
    DataError
        The benchmark does not start before ``dates[0]`` or ends before ``dates[-1]``.
    """
    bdays, level = _benchmark_levels(benchmark)
    sdays = dates.to_physical().cast(pl.Int64).to_numpy()
    first_before = int(np.searchsorted(bdays, sdays[0], side="left")) - 1
    if first_before < 0 or bdays[-1] < sdays[-1]:
        span = f"{pl.Series([bdays[0], bdays[-1]]).cast(pl.Date).to_list()}"
        msg = f"benchmark must cover the run from before {dates[0]} to {dates[-1]}; got dates {span}"
        raise DataError(msg, column="date")
    at = level[np.searchsorted(bdays, sdays, side="right") - 1]
    previous = np.concatenate([[level[first_before]], at[:-1]])
    return pl.DataFrame({"date": dates, "ret": at / previous - 1.0})


# -- charts ----------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _figure(path: Path, rows: int, **kwargs: Any) -> Iterator[tuple[Figure, Any]]:
    """A Figure with ``rows`` stacked axes in matplotlib's default style, saved to ``path`` as PNG on exit."""
    import matplotlib.style
    from matplotlib.figure import Figure

    # default style: our charts look the same whether or not quantstats (seaborn) restyled matplotlib already
    with matplotlib.style.context("default"):
        fig = Figure(figsize=(10, 2.2 + 2.0 * rows), layout="constrained")
        axes = fig.subplots(rows, 1, sharex=True, squeeze=False, **kwargs)[:, 0]
        yield fig, axes
        fig.savefig(path, format="png", dpi=_DPI)


def plot_equity_drawdown(equity: pl.DataFrame, path: Path, *, title: str = "") -> Path:
    """Equity curve (USD) over the underwater drawdown (% below the running peak); writes a PNG."""
    dd = drawdown_from_equity(equity)
    days = dd["date"].to_numpy()
    with _figure(path, 2, height_ratios=[3, 1.3]) as (fig, (top, bottom)):
        top.plot(days, dd["equity"].to_numpy(), color="tab:blue", lw=1.4, label="equity")
        top.plot(days, dd["peak"].to_numpy(), color="tab:gray", lw=0.8, ls="--", label="running peak")
        top.set_ylabel("equity (USD)")
        top.legend(loc="best")
        top.grid(alpha=0.3)
        under = 100.0 * dd["drawdown"].to_numpy()
        bottom.fill_between(days, under, 0.0, color="tab:red", alpha=0.35, lw=0)
        bottom.plot(days, under, color="tab:red", lw=0.8)
        bottom.set_ylabel("drawdown (%)")
        bottom.grid(alpha=0.3)
        fig.suptitle(f"{title} equity and drawdown".strip())
    return path


def plot_pnl_by_regime(trades: pl.DataFrame, path: Path, *, title: str = "") -> Path:
    """Bar chart of closed-trade P&L (USD) summed by ``regime_at_entry``, labelled with the trade counts."""
    by = breakdown(trades, "regime_at_entry").with_columns(pl.col("regime_at_entry").fill_null("(none)"))
    with _figure(path, 1) as (fig, (ax,)):
        if by.height == 0:
            ax.text(0.5, 0.5, "no closed trades", ha="center", va="center", transform=ax.transAxes)
        else:
            pnl = by["pnl_usd"].to_numpy()
            names = by["regime_at_entry"].to_list()
            bars = ax.bar(names, pnl, color=np.where(pnl >= 0, "tab:green", "tab:red"))
            ax.bar_label(bars, labels=[f"n={n}" for n in by["n"].to_list()], padding=2)
            ax.axhline(0.0, color="black", lw=0.8)
            ax.tick_params(axis="x", labelrotation=20)
            ax.margins(y=0.12)  # room for the n= labels above and below the bars
        ax.set_ylabel("P&L (USD, after costs)")
        ax.set_xlabel("regime at entry")
        ax.grid(axis="y", alpha=0.3)
        fig.suptitle(f"{title} trade P&L by regime".strip())
    return path


def plot_greeks(equity: pl.DataFrame, path: Path, *, title: str = "") -> Path | None:
    """Portfolio Greeks over time, one panel each; None (nothing written) when the frame has none."""
    present = [c for c in GREEK_COLUMNS if c in equity.columns]
    if not present:
        return None
    days = equity["date"].to_numpy()
    with _figure(path, len(present)) as (fig, axes):
        for ax, name in zip(axes, present, strict=True):
            ax.plot(days, equity[name].cast(pl.Float64).to_numpy(), lw=1.0)
            ax.axhline(0.0, color="black", lw=0.6)
            ax.set_ylabel(_GREEK_LABELS[name])
            ax.grid(alpha=0.3)
        fig.suptitle(f"{title} portfolio Greeks".strip())
    return path


# -- the quantstats report -----------------------------------------------------------------------------------


class _DropMissingArial(logging.Filter):
    """Drop matplotlib's "findfont: Font family 'Arial' not found." records.

    quantstats passes fontname="Arial" to every title and label; matplotlib falls back to DejaVu Sans but logs
    the miss each time (hundreds of lines per report).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.getMessage().startswith("findfont: Font family") and "Arial" in record.getMessage())


@functools.cache
def _quantstats_style() -> dict[str, Any]:
    """The rcParams quantstats sets when first imported (a seaborn theme, Arial), kept out of the process.

    They are replayed inside each report instead, so every report looks the same and the caller's matplotlib
    state never changes. Empty when something imported quantstats before us (its style is then global already).
    """
    import matplotlib

    before = dict(matplotlib.rcParams)
    with matplotlib.rc_context():
        import quantstats  # noqa: F401

        return {k: v for k, v in matplotlib.rcParams.items() if before.get(k) != v}


@contextlib.contextmanager
def _quantstats_quiet() -> Iterator[None]:
    """Matplotlib state and the known quantstats warnings fenced in for one report."""
    import matplotlib
    import pandas as pd

    categories: dict[str, type[Warning]] = {
        "Pandas4Warning": getattr(pd.errors, "Pandas4Warning", DeprecationWarning),  # pandas >= 3 only
        "UserWarning": UserWarning,
        "PendingDeprecationWarning": PendingDeprecationWarning,
        "MatplotlibDeprecationWarning": matplotlib.MatplotlibDeprecationWarning,
    }
    font_log = logging.getLogger("matplotlib.font_manager")
    quiet = _DropMissingArial()
    font_log.addFilter(quiet)
    try:
        # DejaVu Sans ships with matplotlib; quantstats' style asks for Arial, absent on most Linux machines
        style = {**_quantstats_style(), "font.family": "DejaVu Sans"}
        with matplotlib.rc_context(style), warnings.catch_warnings():
            for category, message, module in _KNOWN_WARNINGS:
                warnings.filterwarnings("ignore", message=message, category=categories[category], module=module)
            yield
    finally:
        font_log.removeFilter(quiet)


def _as_series(frame: pl.DataFrame, name: str) -> Any:
    import pandas as pd

    index = pd.DatetimeIndex(frame["date"].cast(pl.Datetime("ns")).to_numpy(), name="date")
    return pd.Series(frame["ret"].to_numpy(), index=index, name=name, dtype="float64")


def quantstats_html(
    returns: pl.DataFrame,
    path: Path,
    *,
    title: str,
    settings: MetricsSettings,
    benchmark_returns: pl.DataFrame | None = None,
    benchmark_name: str = "Benchmark",
) -> Path:
    """``quantstats.reports.html`` of daily returns (``date``, ``ret``), optionally against a benchmark."""
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:  # headless: never pick an interactive backend
        matplotlib.use("Agg")
    with _quantstats_quiet():
        import quantstats as qs

        bench = None if benchmark_returns is None else _as_series(benchmark_returns, benchmark_name)
        qs.reports.html(
            _as_series(returns, "Strategy"),
            benchmark=bench,
            rf=settings.sharpe_risk_free_rate,
            periods_per_year=settings.annualization_days,
            output=str(path),
            title=title,
            benchmark_title=benchmark_name if bench is not None else None,
            match_dates=False,  # the whole curve, as in metrics.json (quantstats would cut the leading flat days)
        )
    return path


def tearsheet(
    run_dir: str | os.PathLike[str],
    benchmark: str | None = None,
    output: str | os.PathLike[str] | None = None,
    *,
    benchmark_returns: pl.DataFrame | None = None,
    title: str | None = None,
    param_set: int = 0,
) -> dict[str, Path]:
    """Write the HTML tearsheet and the PNG charts of a run; return their paths.

    Parameters
    ----------
    run_dir : path
        A run directory holding ``equity.parquet``, ``trades.parquet`` and optionally ``config.json``, whose
        ``metrics`` section sets the annualization days and the risk-free rate.
    benchmark : str, optional
        Benchmark symbol (a label only: its data come from ``benchmark_returns``).
    output : path, optional
        The HTML file; default ``RUN_DIR/report/tearsheet.html``. The PNGs always go to ``RUN_DIR/report/``.
    benchmark_returns : pl.DataFrame, optional
        ``date`` and ``ret`` (or ``close`` / ``adj_close``) of the benchmark; see :func:`benchmark_on_dates`.
    title : str, optional
        Report title; default ``"VolEngine <run directory name>"``.
    param_set : int, default 0
        The parameter set reported when the run's files hold a sweep (a ``param_set`` column).

    Returns
    -------
    dict of str to Path
        ``html``, ``equity_drawdown``, ``pnl_by_regime`` and, when the equity has Greek columns, ``greeks``.

    Raises
    ------
    DataError, SchemaError
        A missing or malformed run, a benchmark symbol without data, a benchmark not covering the run.
    ConfigError
        An invalid ``config.json``.
    """
    root = Path(run_dir)
    equity, trades = load_run(root, param_set=param_set)
    settings = run_settings(root)
    if benchmark is not None and benchmark_returns is None:
        msg = f"benchmark {benchmark} needs benchmark_returns (date, ret); it is never downloaded"
        raise DataError(msg, value=benchmark)
    title = title or f"VolEngine {root.name}"
    report = root / REPORT_DIR
    report.mkdir(parents=True, exist_ok=True)
    returns = returns_from_equity(equity)
    bench = None if benchmark_returns is None else benchmark_on_dates(returns["date"], benchmark_returns)
    html = Path(output) if output is not None else report / HTML_FILE
    html.parent.mkdir(parents=True, exist_ok=True)
    paths = {
        "html": quantstats_html(
            returns,
            html,
            title=title,
            settings=settings,
            benchmark_returns=bench,
            benchmark_name=benchmark or "Benchmark",
        ),
        "equity_drawdown": plot_equity_drawdown(equity, report / PNG_FILES["equity_drawdown"], title=title),
        "pnl_by_regime": plot_pnl_by_regime(trades, report / PNG_FILES["pnl_by_regime"], title=title),
    }
    greeks = plot_greeks(equity, report / PNG_FILES["greeks"], title=title)
    if greeks is not None:
        paths["greeks"] = greeks
    return paths
