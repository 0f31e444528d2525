"""The one pipeline: data → per-contract analytics → per-day features → regime → edges, over whole histories.

:func:`run_pipeline` is the single implementation behind :func:`volengine.analyze`, ``volengine signal`` (the
last row of the same run) and, later, the backtester and the daily desk report. Its stages:

1. **load** the tables of a :class:`~volengine.datasets.SyntheticMarket`, a :class:`~volengine.data.store.Store`
   (or its path) or a mapping of canonical frames, cut at ``end`` (market data only; the events calendar is a
   published schedule and is kept whole);
2. **contracts**: mid, parity forward, IV and Greeks for every quote row in one kernel pass
   (:mod:`volengine.analytics.contracts`);
3. **surface**: per-chain smile summaries, then per-day surface columns (:mod:`volengine.analytics.surface`),
   dealer gamma (:mod:`volengine.analytics.gamma`) and event premia (:mod:`volengine.analytics.events`);
4. **market**: spot, returns and every realized-vol estimator (:mod:`volengine.analytics.market`), IV rank and
   percentile, VRP spreads;
5. **regime**: :func:`volengine.regime.classify` on the bars and the best vol index available (the vendor
   index named in the universe, else the chain's own model-free 30-day index, else the bars-only proxy);
6. **edges**: :func:`volengine.edges.detect` on the joined frame.

No-look-ahead contract: stage 2–3 values of a day depend only on that day's rows; stage 4–6 values of day d
depend only on rows ≤ d. So the run on data cut at d reproduces row d of the full run exactly (tested).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from volengine.config import Settings, Universe, load_universe
from volengine.errors import DataError

DAY_KEY = ("underlying", "date")
#: quote columns the pipeline reads (the rest of option_quotes stays on disk)
QUOTE_COLUMNS = (
    "date", "underlying", "root", "expiration", "strike", "right", "style", "settlement", "multiplier", "bid",
    "ask", "volume", "open_interest", "underlying_price", "vendor_iv", "vendor_gamma", "nonstandard", "snapshot",
)  # fmt: skip
STAGES = ("load", "chains", "events", "market", "regime", "edges")


@dataclass
class PipelineResult:
    """Frames of one pipeline run and where its time went.

    Attributes
    ----------
    features : polars.DataFrame
        One row per (underlying, date): every feature, regime and edge column (see
        :mod:`volengine.analytics.columns`).
    expiries : polars.DataFrame
        One row per chain (underlying, date, expiration, root): the smile summary.
    contracts : polars.DataFrame or None
        Per-contract analytics (kept only with ``keep_contracts=True``; large).
    timings : dict of str to float
        Seconds per stage (summed over underlyings).
    rows : dict of str to int
        Quote rows, chains and days processed (quote rows only where they were computed, not cached).
    detail : dict of str to float
        Seconds inside the chain stage: ``read`` (quotes from the store), ``iv`` and ``greeks`` (kernels).
    tables : Tables
        The input tables the run read (cut at its end date), for later stages (bars, dividends).
    """

    features: pl.DataFrame
    expiries: pl.DataFrame
    contracts: pl.DataFrame | None
    settings: Settings
    tables: Tables
    timings: dict[str, float] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    detail: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Tables:
    """The canonical input tables of one run (already cut at the as-of date)."""

    quotes: Callable[[str], pl.DataFrame]
    store: Any  # the Store behind the tables, or None for in-memory sources
    end: date | None
    bars: pl.DataFrame
    vol_index: pl.DataFrame
    events: pl.DataFrame
    rates: pl.DataFrame
    underlyings: tuple[str, ...]
    dividends: pl.DataFrame = field(default_factory=pl.DataFrame)


def _as_date(value: date | str | None, name: str) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        msg = f"argument '{name}' must be an ISO date (YYYY-MM-DD); got {value!r}"
        raise DataError(msg, column=name, value=value) from None


def _cut(frame: pl.DataFrame, column: str, start: date | None, end: date | None) -> pl.DataFrame:
    if frame.height == 0 or column not in frame.columns:
        return frame
    if start is not None:
        frame = frame.filter(pl.col(column) >= start)
    if end is not None:
        frame = frame.filter(pl.col(column) <= end)
    return frame


def _empty(table: str) -> pl.DataFrame:
    from volengine.data.schema import spec

    return pl.DataFrame(schema=dict(spec(table).schema))


def load_tables(
    source: Any,
    underlyings: Sequence[str] | None = None,
    start: date | None = None,
    end: date | None = None,
) -> Tables:
    """Resolve ``source`` (SyntheticMarket, Store, store path or mapping of frames) into cut tables."""
    from volengine.data.store import Store

    if isinstance(source, str | Path):
        source = Store(source)
    if isinstance(source, Store):
        store = source
        have = set(store.datasets())
        wanted = (
            tuple(underlyings)
            if underlyings
            else tuple(sorted(set(store.underlyings("option_quotes")) | set(store.underlyings("bars"))))
        )

        def read(name: str, **kw: Any) -> pl.DataFrame:
            return store.read(name, **kw) if name in have else _empty(name)

        def quotes(u: str) -> pl.DataFrame:
            if "option_quotes" not in have:
                return _empty("option_quotes")
            return store.read("option_quotes", underlyings=[u], start=start, end=end, columns=list(QUOTE_COLUMNS))

        return Tables(
            quotes=quotes,
            store=store,
            end=end,
            bars=read("bars", underlyings=list(wanted), start=start, end=end) if wanted else _empty("bars"),
            vol_index=read("vol_index", start=start, end=end),
            events=read("events"),
            rates=read("rates", start=start, end=end),
            underlyings=wanted,
            dividends=read("dividends", end=end),
        )
    tables = source.tables() if hasattr(source, "tables") else dict(source)
    q_all = tables.get("option_quotes", _empty("option_quotes"))
    bars = tables.get("bars", _empty("bars"))
    known = sorted(set(q_all["underlying"].cast(pl.String).unique()) | set(bars["underlying"].cast(pl.String).unique()))
    wanted = tuple(underlyings) if underlyings else tuple(known)
    q_all = _cut(q_all, "date", start, end)

    def quotes_of(u: str) -> pl.DataFrame:
        return q_all.filter(pl.col("underlying").cast(pl.String) == u)

    return Tables(
        quotes=quotes_of,
        store=None,
        end=end,
        bars=_cut(bars, "date", start, end).filter(pl.col("underlying").cast(pl.String).is_in(list(wanted))),
        vol_index=_cut(tables.get("vol_index", _empty("vol_index")), "date", start, end),
        events=tables.get("events", _empty("events")),
        rates=_cut(tables.get("rates", _empty("rates")), "date", start, end),
        underlyings=wanted,
        dividends=tables.get("dividends", _empty("dividends")),
    )


def _vol_index_for(u: str, tables: Tables, surface: pl.DataFrame, universe: Universe) -> tuple[pl.DataFrame, str]:
    """The vol index the regime engine reads for ``u``: vendor index, else the chain's model-free index."""
    symbol = universe.symbol(u).vol_index if u.strip().upper() in universe.symbols else None
    vi = tables.vol_index
    if symbol is not None and vi.height:
        rows = vi.filter(pl.col("symbol").cast(pl.String) == symbol).select("date", "close").drop_nulls()
        if rows.height:
            return rows.sort("date"), f"index:{symbol}"
    if surface.height and "mfiv_30d" in surface.columns and surface["mfiv_30d"].is_not_null().any():
        rows = surface.select("date", (100 * pl.col("mfiv_30d")).alias("close")).drop_nulls()
        return rows.sort("date"), "chain"
    return pl.DataFrame(schema={"date": pl.Date, "close": pl.Float64}), "proxy"


def _history_features(frame: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    """Trailing IV rank / percentile, risk-reversal percentile, 30-day VRP spreads, GARCH (rows ≤ d only).

    ``frame`` holds one underlying (the GARCH fit is per series).
    """
    from volengine.kernels import trailing_percentile, trailing_rank

    a = settings.analytics
    seg = frame["underlying"].to_physical().to_numpy()
    cols: dict[str, Any] = {}
    if "atm_iv_30d" in frame.columns:
        iv = frame["atm_iv_30d"].fill_null(np.nan).to_numpy()
        cols["iv_rank"] = trailing_rank(iv, a.iv_lookback_days, min_periods=a.iv_min_history_days, segment=seg)
        cols["iv_percentile"] = trailing_percentile(
            iv, a.iv_lookback_days, min_periods=a.iv_min_history_days, segment=seg
        )
    rr_name = f"rr_25d_{a.model_free_tenor_days}d"
    if rr_name in frame.columns:
        rr = frame[rr_name].fill_null(np.nan).to_numpy()
        cols["rr_25d_percentile"] = trailing_percentile(
            rr, a.skew_lookback_days, min_periods=a.iv_min_history_days, segment=seg
        )
    if a.garch.enabled:
        from volengine.analytics.garch import garch_vol

        cols["garch_vol"] = garch_vol(frame["log_return"].fill_null(np.nan).to_numpy(), a.garch)
    out = frame.with_columns(*[pl.Series(k, v).fill_nan(None) for k, v in cols.items()])
    if "atm_iv_30d" in out.columns:
        out = out.with_columns(
            (pl.col("atm_iv_30d") - pl.col("vrp_rv")).alias("vrp_spread_30d"),
            (pl.col("atm_iv_30d") / pl.col("vrp_rv")).alias("vrp_ratio_30d"),
        )
        if a.garch.enabled:
            out = out.with_columns((pl.col("atm_iv_30d") / pl.col("garch_vol")).alias("vrp_ratio_garch"))
    return out


def _one_underlying(
    u: str, tables: Tables, settings: Settings, universe: Universe, timings: dict[str, float], rows: dict[str, int],
    *, keep_contracts: bool, use_cache: bool, kernel_timings: dict[str, float],
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame | None]:  # fmt: skip
    from volengine.analytics.chains import cached_chain_stage, chain_stage
    from volengine.analytics.contracts import contract_analytics
    from volengine.analytics.events import event_features
    from volengine.analytics.market import bars_from_quotes, market_features
    from volengine.regime import classify

    def clock(stage: str, t0: float) -> float:
        now = time.perf_counter()
        timings[stage] = timings.get(stage, 0.0) + now - t0
        return now

    t0 = time.perf_counter()
    bars = tables.bars.filter(pl.col("underlying").cast(pl.String) == u)
    contracts = None
    if tables.store is not None and not keep_contracts:
        stage = cached_chain_stage(tables.store, u, tables.rates, settings, tables.end, use_cache=use_cache,
                                   columns=list(QUOTE_COLUMNS), timings=kernel_timings, rows=rows)  # fmt: skip
        t0 = clock("chains", t0)
        if bars.height == 0 and stage.surface.height:
            bars = bars_from_quotes(tables.quotes(u))
    else:
        quotes = tables.quotes(u)
        t0 = clock("load", t0)
        rows["quotes"] = rows.get("quotes", 0) + quotes.height
        if bars.height == 0 and quotes.height:
            bars = bars_from_quotes(quotes)
        if keep_contracts and quotes.height:
            contracts = contract_analytics(quotes, tables.rates, settings)
        stage = chain_stage(quotes, tables.rates, settings, timings=kernel_timings)
        t0 = clock("chains", t0)
    if bars.height == 0:
        msg = f"underlying {u!r} has neither bars nor option quotes in the source"
        raise DataError(msg, column="underlying", value=u)
    events = None
    if stage.expiries.height:
        events = event_features(stage.expiries, tables.events, bars, settings.edges.event_vol)
        t0 = clock("events", t0)
    frame = market_features(bars, settings)
    for part in (stage.surface, stage.gamma, events):
        if part is not None and part.height:
            frame = frame.join(part.with_columns(pl.col("underlying").cast(frame["underlying"].dtype)),
                               on=list(DAY_KEY), how="left")  # fmt: skip
    frame = _history_features(frame, settings)
    t0 = clock("market", t0)
    vol_index, source = _vol_index_for(u, tables, stage.surface, universe)
    regime = classify(bars.select("date", *[c for c in ("close", "adj_close") if c in bars.columns]),
                      vol_index if vol_index.height else None, settings)  # fmt: skip
    frame = frame.join(regime, on="date", how="left", suffix="_regime").with_columns(
        pl.lit(source).alias("vol_index_source")
    )
    clock("regime", t0)
    rows["days"] = rows.get("days", 0) + frame.height
    rows["chains"] = rows.get("chains", 0) + stage.expiries.height
    return frame, stage.expiries, contracts


def run_pipeline(
    source: Any,
    settings: Settings | None = None,
    underlyings: Sequence[str] | str | None = None,
    start: date | str | None = None,
    end: date | str | None = None,
    *,
    universe: Universe | None = None,
    keep_contracts: bool = False,
    use_cache: bool = True,
) -> PipelineResult:
    """Run every stage over the whole history of ``source`` (cut at ``end``) and return the frames.

    Parameters
    ----------
    source : SyntheticMarket, Store, str or Path, or mapping of table name to polars.DataFrame
    settings : Settings, optional
    underlyings : sequence of str or str, optional
        Default: every underlying with quotes or bars.
    start, end : date or ISO str, optional
        Rows returned are ``start <= date <= end``; data after ``end`` is never read. Data before ``start``
        is read too, so that trailing windows are full at ``start``.
    universe : Universe, optional
        Vol-index symbols per underlying (default: the packaged universe).
    keep_contracts : bool, keyword-only
        Also return the per-contract frame (computed afresh, never cached).
    use_cache : bool, keyword-only
        For Store sources, reuse a cached run on exactly the same stored data, end date, underlyings, settings
        and universe, else the cached chain stage of unchanged partitions (:mod:`volengine.analytics.chains`);
        results are identical either way.

    Returns
    -------
    PipelineResult
    """
    s = settings or Settings()
    uni = universe or load_universe()
    first, last = _as_date(start, "start"), _as_date(end, "end")
    names = [underlyings] if isinstance(underlyings, str) else underlyings
    t0 = time.perf_counter()
    tables = load_tables(source, [n.upper() for n in names] if names else None, None, last)
    timings: dict[str, float] = {"load": time.perf_counter() - t0}
    key = None
    if tables.store is not None and use_cache and not keep_contracts:
        from volengine.analytics.chains import read_result, result_key
        from volengine.config import settings_fingerprint

        key = result_key(tables.store, tables.underlyings, last, settings_fingerprint(s) + settings_fingerprint(uni))
        hit = read_result(key)
        if hit is not None:
            timings["cache"] = time.perf_counter() - t0
            return _result(hit["features"], hit["expiries"], None, s, timings, {}, {}, first, tables)
    features, expiries, contracts, rows, detail = _run_stages(tables, s, uni, timings, keep_contracts=keep_contracts,
                                                              use_cache=use_cache)  # fmt: skip
    if key is not None:
        from volengine.analytics.chains import write_result

        write_result(key, {"features": features, "expiries": expiries})
    return _result(features, expiries, contracts, s, timings, rows, detail, first, tables)


def _result(features: pl.DataFrame, expiries: pl.DataFrame, contracts: pl.DataFrame | None, s: Settings,
            timings: dict[str, float], rows: dict[str, int], detail: dict[str, float], first: date | None,
            tables: Tables) -> PipelineResult:  # fmt: skip
    if first is not None:
        features = features.filter(pl.col("date") >= first)
    return PipelineResult(
        features=features.with_columns(pl.col("underlying").cast(pl.Categorical)),
        expiries=expiries,
        contracts=contracts,
        settings=s,
        timings=timings,
        rows=rows,
        detail=detail,
        tables=tables,
    )


def _run_stages(
    tables: Tables, s: Settings, uni: Universe, timings: dict[str, float], *, keep_contracts: bool, use_cache: bool
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame | None, dict[str, int], dict[str, float]]:
    """Every stage over every underlying of ``tables``; the whole history, before the ``start`` filter."""
    from volengine.analytics.columns import EDGE_COPIES
    from volengine.edges import detect

    rows: dict[str, int] = {}
    detail: dict[str, float] = {}
    frames, chains, contracts = [], [], []
    for u in tables.underlyings:
        f, e, c = _one_underlying(u, tables, s, uni, timings, rows, keep_contracts=keep_contracts,
                                  use_cache=use_cache, kernel_timings=detail)  # fmt: skip
        frames.append(f.with_columns(pl.col("underlying").cast(pl.String)))
        if e.height:
            chains.append(e.with_columns(pl.col("underlying").cast(pl.String)))
        if c is not None:
            contracts.append(c)
    features = pl.concat(frames, how="diagonal_relaxed").sort(*DAY_KEY)
    t0 = time.perf_counter()
    edges = detect(features, s).drop(EDGE_COPIES, strict=False)
    features = features.join(edges, on=list(DAY_KEY), how="left")
    timings["edges"] = time.perf_counter() - t0
    expiries = pl.concat(chains, how="diagonal_relaxed") if chains else pl.DataFrame()
    return features, expiries, pl.concat(contracts) if contracts else None, rows, detail


def analyze(
    market_or_store: Any,
    settings: Settings | None = None,
    underlyings: Sequence[str] | str | None = None,
    start: date | str | None = None,
    end: date | str | None = None,
) -> pl.DataFrame:
    """Feature, regime and edge frame: one row per (underlying, date); see :func:`run_pipeline`.

    Examples
    --------
    >>> from volengine.datasets import synthetic_market
    >>> m = synthetic_market(seed=1, start="2020-01-02", end="2020-02-28")  # doctest: +SKIP
    >>> analyze(m).select("underlying", "date", "atm_iv_30d", "regime").tail(1)  # doctest: +SKIP
    """
    return run_pipeline(market_or_store, settings, underlyings, start, end).features


def signal(
    market_or_store: Any,
    as_of: date | str | None = None,
    settings: Settings | None = None,
    underlyings: Sequence[str] | str | None = None,
) -> pl.DataFrame:
    """The daily last-bar run: the rows of :func:`analyze` at ``as_of`` (default: the last date in the data).

    It runs the very same pipeline on the data cut at ``as_of`` and keeps its last row per underlying.
    """
    day = _as_date(as_of, "as_of")
    feats = run_pipeline(market_or_store, settings, underlyings, None, day).features
    if feats.height == 0:
        return feats
    return feats.filter(pl.col("date") == (day if day is not None else feats["date"].max()))
