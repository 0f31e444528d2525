"""Per-contract analytics over whole chain histories: parity forwards, implied vols and Greeks in one pass.

:func:`contract_analytics` takes canonical ``option_quotes`` rows (any number of underlyings and days) and
returns them sorted by chain, with

* the quote's ``mid`` (only when ``bid > 0``, ``ask > 0`` and ``bid <= ask``; seed-spec §2.2), ``spread`` and
  ``spread_pct``;
* time to settlement ``t`` (years of 365 days, AM/PM aware), calendar ``dte``;
* the rate ``rate`` (the rates table interpolated in tenor, else ``market.risk_free_rate``) and ``disc``;
* the chain's forward from put-call parity on the pairs nearest spot (the median of ``K + (C − P)/D``, robust
  to a bad quote), falling back to carry ``S·e^{(r − q)t}`` with the configured yield;
* ``iv`` (Black-76 on that forward, solved from the mid; ``iv_status`` says why a row has none) and the nine
  Greeks of :data:`volengine.kernels.GREEK_NAMES` in canonical units, for every row in one kernel pass.

Without a rates table the discount factor is fitted from parity (Theil–Sen slope of ``C − P`` on ``K``) on
expiries long enough for the fit to be informative, and that day's median fitted rate serves its shorter
expiries. Every value of a chain depends on that chain's own rows (and that day's rate), never on other days.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import polars as pl

from volengine.config import Settings
from volengine.data.calendar import tte_years
from volengine.errors import SchemaError
from volengine.kernels import GREEK_NAMES, black_implied_vol, bs_greeks
from volengine.kernels.surface import PARITY_FIELDS, parity_forwards

#: one chain: every strike and right of one expiration of one root on one day
CHAIN_KEY = ("underlying", "date", "expiration", "root")
#: row order of the output (calls before puts at each strike)
ROW_ORDER = (*CHAIN_KEY, "strike", "right")
REQUIRED = ("date", "underlying", "root", "expiration", "strike", "right", "settlement", "bid", "ask",
            "underlying_price")  # fmt: skip
#: snapshot preference when a day holds several snapshots of the same contract (first wins)
SNAPSHOT_PREFERENCE = ("eod_1600", "cboe_eod", "cboe_1545", "near_eod", "synthetic", "live", "day_agg")


def chain_offsets(frame: pl.DataFrame, key: tuple[str, ...] = CHAIN_KEY) -> np.ndarray[Any, Any]:
    """Int64 offsets of the contiguous runs of equal ``key`` in a frame sorted by it (length n_runs + 1)."""
    n = frame.height
    if n == 0:
        return np.zeros(1, dtype=np.int64)
    change = frame.select(pl.any_horizontal([pl.col(k).ne_missing(pl.col(k).shift(1)) for k in key])).to_series()
    starts = np.flatnonzero(change.fill_null(True).to_numpy())
    return np.concatenate((starts, [n])).astype(np.int64)


def rate_curve(rates: pl.DataFrame | None, dates: pl.Series, dte: pl.Series, default: float) -> np.ndarray[Any, Any]:
    """Continuously compounded rate per row: the date's curve interpolated linearly in tenor (flat outside).

    Parameters
    ----------
    rates : polars.DataFrame or None
        Canonical ``rates`` rows (date, tenor_days, rate); days missing from it carry the last earlier curve.
    dates, dte : polars.Series of shape (n,)
        Quote dates and calendar days to expiry.
    default : float
        Rate used when there is no table (or no curve on or before a date).

    Returns
    -------
    ndarray of shape (n,), float64
    """
    n = dates.len()
    if rates is None or rates.height == 0:
        return np.full(n, default)
    wide = rates.pivot(on="tenor_days", index="date", values="rate", aggregate_function="first").sort("date")
    tenors = sorted(int(c) for c in wide.columns if c != "date")
    wide = wide.select("date", *[pl.col(str(k)).forward_fill() for k in tenors])
    days = pl.DataFrame({"date": dates}).with_row_index("_i")
    joined = days.sort("date").join_asof(wide, on="date", strategy="backward").sort("_i")
    curve = joined.select([pl.col(str(k)) for k in tenors]).to_numpy().astype(np.float64)
    ten = np.asarray(tenors, dtype=np.float64)
    x = np.clip(dte.cast(pl.Float64).fill_null(0.0).to_numpy(), ten[0], ten[-1])
    j = np.clip(np.searchsorted(ten, x, side="right") - 1, 0, max(ten.size - 2, 0))
    rows = np.arange(n)
    if ten.size == 1:
        out = curve[:, 0].copy()
    else:
        w = (x - ten[j]) / (ten[j + 1] - ten[j])
        out = curve[rows, j] * (1 - w) + curve[rows, j + 1] * w
    return np.where(np.isfinite(out), out, default)


def _select(quotes: pl.DataFrame) -> pl.DataFrame:
    missing = [c for c in REQUIRED if c not in quotes.columns]
    if missing:
        msg = f"option quotes are missing required column(s) {missing}; got {quotes.columns}"
        raise SchemaError(msg)
    q = quotes
    if "nonstandard" in q.columns:
        q = q.filter(~pl.col("nonstandard").fill_null(False)).drop("nonstandard")
    if "snapshot" in q.columns and q.select(pl.col("snapshot").n_unique()).item() > 1:
        rank = (
            pl.col("snapshot")
            .cast(pl.String)
            .replace_strict({s: i for i, s in enumerate(SNAPSHOT_PREFERENCE)}, default=len(SNAPSHOT_PREFERENCE))
        )
        q = q.sort(rank).unique(subset=list(ROW_ORDER), keep="first", maintain_order=True)
    q = q.drop("snapshot", strict=False)
    return q if _is_sorted(q, ROW_ORDER) else q.sort(list(ROW_ORDER))


def _sort_codes(s: pl.Series) -> np.ndarray[Any, Any]:
    """Integers ordered like ``s`` sorts: lexical ranks for categoricals, physical values otherwise."""
    if s.dtype == pl.Categorical:
        present = s.unique().drop_nulls()
        codes = present.to_physical().to_numpy().astype(np.int64)
        rank = np.zeros(int(codes.max()) + 1 if codes.size else 1, dtype=np.int64)
        rank[codes[np.argsort(present.cast(pl.String).to_numpy())]] = np.arange(codes.size)
        return rank[s.to_physical().to_numpy()]
    return s.to_physical().to_numpy()


def _is_sorted(q: pl.DataFrame, keys: tuple[str, ...]) -> bool:
    """True when rows are already in lexicographic ``keys`` order (a store read usually is; sorting 4M rows
    of 20 columns costs seconds, this check a tenth of that)."""
    if q.height < 2 or any(q[k].null_count() for k in keys):
        return q.height < 2
    before = np.zeros(q.height - 1, dtype=bool)
    tied = np.ones(q.height - 1, dtype=bool)
    for k in keys:
        a = _sort_codes(q[k])
        before |= tied & (a[1:] > a[:-1])
        tied &= a[1:] == a[:-1]
    return bool(np.all(before | tied))


#: categories of the per-chain source columns
FORWARD_SOURCES = pl.Enum(["parity", "carry"])
DISCOUNT_SOURCES = pl.Enum(["rates", "config", "parity", "parity_day"])


def _chain_frame(q: pl.DataFrame, offsets: np.ndarray[Any, Any], rates: pl.DataFrame | None,
                 settings: Settings) -> pl.DataFrame:  # fmt: skip
    """One row per chain: dte, t, rate, disc (before parity), spot, carry yield (all from the first row)."""
    s = settings
    chains = q.select(*CHAIN_KEY, "settlement", "underlying_price")[offsets[:-1]]
    chains = chains.with_columns(
        (pl.col("expiration") - pl.col("date")).dt.total_days().cast(pl.Int32).alias("dte"),
        tte_years(chains["date"], chains["expiration"], chains["settlement"]).fill_null(0.0).alias("t"),
        pl.col("underlying").cast(pl.String).replace_strict(
            dict(s.market.dividend_yields), default=s.market.default_dividend_yield, return_dtype=pl.Float64
        ).alias("_yield"),
    )  # fmt: skip
    rate = rate_curve(rates, chains["date"], chains["dte"], s.market.risk_free_rate)
    return chains.with_columns(pl.Series("rate", rate))


def _parity(q: pl.DataFrame, offsets: np.ndarray[Any, Any], chains: pl.DataFrame, settings: Settings,
            *, have_rates: bool) -> pl.DataFrame:  # fmt: skip
    """Add ``disc, forward, forward_source, discount_source`` (and the fitted ``rate``) to the chain frame."""
    ps = settings.analytics.parity
    lengths = np.diff(offsets)
    strike = q["strike"].to_numpy()
    is_call = (q["right"] == "C").to_numpy().astype(np.int8)
    mid = q["mid"].fill_null(np.nan).to_numpy()
    spot = q["underlying_price"].to_numpy()
    t0 = chains["t"].to_numpy()
    rate = chains["rate"].to_numpy()
    chain_disc = np.exp(-rate * np.maximum(t0, 0.0))

    def run(disc: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        rows_t, rows_d = np.repeat(t0, lengths), np.repeat(disc, lengths)
        return parity_forwards(offsets, strike, is_call, mid, spot, rows_d, rows_t,
                               near_pairs=ps.near_pairs, min_fit_pairs=ps.min_fit_pairs)  # fmt: skip

    res = run(chain_disc)
    src = np.full(chain_disc.size, 0 if have_rates else 1, dtype=np.int8)  # index into DISCOUNT_SOURCES
    if not have_rates and ps.fit_discount_without_rates:
        d_fit = res[:, PARITY_FIELDS.index("parity_discount")]
        with np.errstate(divide="ignore", invalid="ignore"):
            r_fit = -np.log(d_fit) / t0
        ok = np.isfinite(r_fit) & (t0 >= ps.min_fit_years) & (np.abs(r_fit) <= ps.max_fit_rate)
        fitted = (
            chains.with_columns(pl.Series("r_fit", np.where(ok, r_fit, np.nan)).fill_nan(None))
            .select(pl.col("r_fit").median().over("underlying", "date"))
            .to_series().fill_null(np.nan).to_numpy()
        )  # fmt: skip
        new_rate = np.where(ok, r_fit, fitted)
        use = np.isfinite(new_rate)
        src = np.where(ok, 2, np.where(use, 3, src)).astype(np.int8)
        rate = np.where(use, new_rate, rate)
        chain_disc = np.exp(-rate * np.maximum(t0, 0.0))
        res = run(chain_disc)
    fwd = res[:, PARITY_FIELDS.index("parity_forward")]
    has_parity = np.isfinite(fwd)
    carry = chains["underlying_price"].to_numpy() * np.exp((rate - chains["_yield"].to_numpy()) * t0)
    return chains.with_columns(
        pl.Series("rate", rate),
        pl.Series("disc", chain_disc),
        pl.Series("forward", np.where(has_parity, fwd, carry)),
        pl.Series("_src_f", (~has_parity).astype(np.int8)),
        pl.Series("_src_d", src),
    ).with_columns(
        pl.col("_src_f").replace_strict([0, 1], FORWARD_SOURCES.categories, return_dtype=FORWARD_SOURCES)
        .alias("forward_source"),
        pl.col("_src_d").replace_strict([0, 1, 2, 3], DISCOUNT_SOURCES.categories, return_dtype=DISCOUNT_SOURCES)
        .alias("discount_source"),
    )  # fmt: skip


def contract_analytics(
    quotes: pl.DataFrame,
    rates: pl.DataFrame | None = None,
    settings: Settings | None = None,
    *,
    timings: dict[str, float] | None = None,
) -> pl.DataFrame:
    """Mid, spread, time, rate, parity forward, implied vol and Greeks for every quote row, all days at once.

    Parameters
    ----------
    quotes : polars.DataFrame
        Canonical ``option_quotes`` rows (columns of :data:`REQUIRED` at least).
    rates : polars.DataFrame, optional
        Canonical ``rates`` rows; without them ``settings.market.risk_free_rate`` and parity-fitted rates.
    settings : Settings, optional
        Defaults when omitted.
    timings : dict, optional, keyword-only
        Receives (adds to) the seconds of the ``iv`` and ``greeks`` kernel calls.

    Returns
    -------
    polars.DataFrame
        The quote columns plus ``mid, spread, spread_pct, dte, t, rate, disc, forward, forward_source,
        discount_source, iv, iv_status`` and the Greeks ``delta … charm`` (canonical units: vega per 1.00 vol,
        theta per year, rho per 1.00 rate), sorted by :data:`ROW_ORDER`. Time, rate, discount factor and
        forward are per chain (computed once per chain and repeated on its rows).

    Raises
    ------
    SchemaError
        A required column is missing.
    """
    s = settings or Settings()
    q = _select(quotes)
    valid = (pl.col("bid") > 0) & (pl.col("ask") > 0) & (pl.col("bid") <= pl.col("ask"))
    q = q.with_columns(
        pl.when(valid).then(0.5 * (pl.col("bid") + pl.col("ask"))).alias("mid"),
        pl.when(valid).then(pl.col("ask") - pl.col("bid")).alias("spread"),
    ).with_columns((pl.col("spread") / pl.col("mid")).alias("spread_pct"))
    offsets = chain_offsets(q)
    have_rates = rates is not None and rates.height > 0
    chains = _parity(q, offsets, _chain_frame(q, offsets, rates, s), s, have_rates=have_rates)
    per_chain = ["dte", "t", "rate", "disc", "forward", "forward_source", "discount_source"]
    rows = chains.select(per_chain)[np.repeat(np.arange(chains.height), np.diff(offsets))]
    t, rate, disc, fwd = (rows[c].to_numpy() for c in ("t", "rate", "disc", "forward"))
    spot = q["underlying_price"].to_numpy()
    is_call = (q["right"] == "C").to_numpy()
    mid = q["mid"].fill_null(np.nan).to_numpy()
    strike = q["strike"].to_numpy()
    status = np.empty(q.height, dtype=np.int8)
    t0 = time.perf_counter()
    iv = black_implied_vol(mid, fwd, strike, t, disc, is_call, status=status)
    t1 = time.perf_counter()
    pos = t > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        div = np.where(pos, rate - np.log(fwd / spot) / np.where(pos, t, 1.0), 0.0)
    t2 = time.perf_counter()
    greeks = bs_greeks(spot, strike, t, rate, div, iv, is_call).as_dict()
    if timings is not None:
        timings["iv"] = timings.get("iv", 0.0) + t1 - t0
        timings["greeks"] = timings.get("greeks", 0.0) + time.perf_counter() - t2
    return pl.concat([q, rows], how="horizontal").with_columns(
        pl.Series("iv", iv),
        pl.Series("iv_status", status),
        *[pl.Series(name, greeks[name]) for name in GREEK_NAMES if name != "price"],
    )
