"""Defined-risk structure builders over whole chain histories: every request of every day in one kernel pass.

:func:`build_structures` takes the per-contract frame of :func:`volengine.analytics.contracts.contract_analytics`
(any number of underlyings and days) and a table of requests (one row per wanted structure), and returns one
``structures`` row per request, valid or not, plus the ``legs`` of the valid ones (schemas in
:mod:`volengine.structures.schema`). Rules (seed-spec §2.7, §2.8):

* **Expiry**: DTE within [min, max], closest to the target (ties: the earlier). Calendars and diagonals sell
  the first expiry with DTE >= ``front_min_dte_days`` and buy the first with DTE >= front + ``back_gap_days``.
* **Strikes** are listed strikes of that chain. ATM = the listed strike nearest spot (ties: the lower).
  ``offset`` mode places the body leg at ATM ± k·w (puts below, calls above; butterflies and calendars at the
  centre, ATM unless ``center_strike``); ``delta`` mode takes the listed strike whose own delta is nearest
  the target (the body of butterflies, iron butterflies and calendars stays at the centre). A body strike not
  listed exactly is replaced by the nearest listed one (ties: further out of the money). The wing sits at
  body ± w; if that strike is not listed, the nearest listed strike beyond the body is used (ties: the
  narrower). Every replacement is recorded (``substituted``, ``substitution_points``) and rejected beyond
  ``max_substitution_points``.
* **Width search**: from the preferred width down to ``min_width_points`` in steps of the chain's strike
  increment; the first width that builds and validates wins, and ``message`` lists every attempt.
* **Entry** is conservative (sell at bid, buy at ask); credits and debits <= 0 are rejected.
* **Max loss, max profit and breakevens** come exactly from the expiry payoff at the legs' strikes
  (:func:`volengine.kernels.payoff.payoff_extremes`), so unequal wings are handled; an unbounded loss is
  rejected. Calendars: max loss = the debit (a long calendar at one strike cannot lose more),
  ``max_profit_points`` is null and ``model_max_profit_points`` / the breakevens come from
  :func:`volengine.structures.payoff.calendar_model` (``payoff_is_model``).
* **Diagonals** are the long, covered form: sell the front at the body (``offset``: ATM ± k·w out of the
  money; ``delta``: the target abs delta), buy the back ``diagonal_width_points`` *in* the money of it (calls
  K_l = K_s − w, puts K_l = K_s + w; the wing rule above, on the back chain). The back leg is worth at least
  its intrinsic value at the front expiry, which covers the short leg's at every spot, so the max loss is the
  debit (the formula also adds the strike gap when the long leg sits further out, which this placement never
  does); the profit side is a model value as for calendars. As for calendars, "at least intrinsic" is exact
  for American back legs; a European one on a dividend payer can sit slightly below it deep in the money.
  (VolMachine never built diagonals; the backtest requests them only when a universe lists ``diagonal`` in
  ``structures_allowed``.)
* **Validation** (hard gate): valid quotes (a mid) on every leg, one multiplier, credit/debit > 0, per-leg
  liquidity when enforced, max loss > 0, max profit > 0, vertical consistency, optional min credit/width and
  reward/risk, max-loss cap and margin <= ``max_margin_equity_pct`` of ``account.equity_usd`` (in dollars).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from volengine.analytics.contracts import CHAIN_KEY, ROW_ORDER, chain_offsets
from volengine.config import Settings, StructureChoice
from volengine.errors import DataError, SchemaError
from volengine.kernels.structures import (
    PARAM_FIELDS,
    VALUE_FIELDS,
    BuildStatus,
    FailDetail,
    Kind,
    build_structures_arrays,
    chain_increments,
)
from volengine.structures.messages import attempt_messages, preset_messages
from volengine.structures.payoff import calendar_model
from volengine.structures.requests import Liquidity, RequestBatch, prepare_requests
from volengine.structures.schema import CONTRACT_COLUMNS, LEG_SCHEMA, STRUCTURE_SCHEMA

_MAX_ATTEMPTS = 512
# sums of cent prices carry float noise (3.8000000000000003); 1e-10 points is far below any tick
_MONEY_DECIMALS = 10
_MONEY = {"width_points", "wing_low_points", "wing_high_points", "search_width_points", "entry_cashflow_points",
          "mid_cashflow_points", "max_loss_points", "max_profit_points", "breakeven_low", "breakeven_high",
          "substitution_points"}  # fmt: skip
_ROW_SOURCES = {"strike": "strike", "bid": "bid", "ask": "ask", "mid": "mid", "volume": "volume",
                "oi": "open_interest", "spread": "spread_pct", "mult": "multiplier", "delta": "delta",
                "gamma": "gamma", "vega": "vega", "theta": "theta"}  # fmt: skip


@dataclass(frozen=True)
class ChainBook:
    """Contracts in chain order with the arrays the kernel reads.

    Attributes
    ----------
    frame : polars.DataFrame
        The contracts, sorted by :data:`~volengine.analytics.contracts.ROW_ORDER` (kept as given when already).
    chains : polars.DataFrame
        One row per chain: ``underlying`` (String), ``date``, ``expiration``, ``root`` (String), ``dte``.
    days : polars.DataFrame
        One row per (underlying, date): ``day_lo``, ``day_hi``, the chain range.
    rows, chain_arrays : dict of str to ndarray
        Per-row and per-chain kernel inputs.
    side_rows, side_off : ndarray of int64
        Call and put row numbers per chain (see :mod:`volengine.kernels.structures`).
    """

    frame: pl.DataFrame
    chains: pl.DataFrame
    days: pl.DataFrame
    rows: dict[str, np.ndarray[Any, Any]]
    chain_arrays: dict[str, np.ndarray[Any, Any]]
    side_rows: np.ndarray[Any, Any]
    side_off: np.ndarray[Any, Any]


def _in_chain_order(frame: pl.DataFrame) -> bool:
    """True when chains and days are contiguous runs and strikes ascend within chains, calls first."""
    if frame.height < 2:
        return True
    offsets = chain_offsets(frame)
    heads = frame.select(CHAIN_KEY)[offsets[:-1]]
    if heads.is_duplicated().any():
        return False
    days = chain_offsets(heads, ("underlying", "date"))
    if heads.select("underlying", "date")[days[:-1]].is_duplicated().any():
        return False
    chain_id = np.repeat(np.arange(offsets.size - 1), np.diff(offsets))
    k = frame["strike"].to_numpy()
    call = (frame["right"].cast(pl.String) == "C").to_numpy()
    same = chain_id[1:] == chain_id[:-1]
    ordered = (k[1:] > k[:-1]) | ((k[1:] == k[:-1]) & call[:-1] & ~call[1:])
    return bool(np.all(~same | ordered))


def _floats(frame: pl.DataFrame, column: str) -> np.ndarray[Any, Any]:
    return frame[column].cast(pl.Float64).fill_null(np.nan).to_numpy()


def chain_book(contracts: pl.DataFrame, settings: Settings) -> ChainBook:
    """Index a per-contract frame by chain and day for :func:`build_structures`.

    Raises
    ------
    SchemaError
        A column of :data:`~volengine.structures.schema.CONTRACT_COLUMNS` is missing.
    DataError
        A chain lists the same strike and right twice.
    """
    missing = [c for c in CONTRACT_COLUMNS if c not in contracts.columns]
    if missing:
        msg = f"contracts are missing column(s) {missing} (use volengine.analytics.contracts.contract_analytics)"
        raise SchemaError(msg)
    frame = contracts.select(CONTRACT_COLUMNS)
    if not _in_chain_order(frame):
        frame = frame.sort(list(ROW_ORDER))
        dup = frame.with_row_index("_row").filter(pl.struct(*ROW_ORDER).is_duplicated())
        if dup.height:
            row = dup.row(0, named=True)
            msg = (f"contracts list strike {row['strike']} {row['right']} twice in chain {row['underlying']} "
                   f"{row['date']} {row['expiration']} {row['root']}; got duplicate at row {row['_row']}")  # fmt: skip
            raise DataError(msg, column="strike", row=int(row["_row"]), value=row["strike"])
    offsets = chain_offsets(frame)
    n_chains = offsets.size - 1
    heads = frame.select(*CHAIN_KEY, "dte", "underlying_price")[offsets[:-1]].with_columns(
        pl.col("underlying", "root").cast(pl.String)
    )
    grid = settings.data.chain_grid
    strike = _floats(frame, "strike")
    spot = _floats(heads, "underlying_price")
    chain_arrays = {
        "chain_dte": _floats(heads, "dte"),
        "chain_spot": spot,
        "chain_inc": chain_increments(offsets, strike, spot, grid.increment_window_frac, grid.strike_increments_points),
    }
    day_off = chain_offsets(heads, ("underlying", "date"))
    days = heads.select("underlying", "date")[day_off[:-1]].with_columns(
        pl.Series("day_lo", day_off[:-1]), pl.Series("day_hi", day_off[1:])
    )
    is_call = (frame["right"].cast(pl.String) == "C").to_numpy()
    rows = {name: _floats(frame, column) for name, column in _ROW_SOURCES.items()}
    rows["is_call"] = is_call.astype(np.int8)
    chain_id = np.repeat(np.arange(n_chains, dtype=np.int64), np.diff(offsets))
    calls, puts = np.flatnonzero(is_call), np.flatnonzero(~is_call)
    bounds = np.arange(n_chains + 1)
    side_off = np.vstack(
        (np.searchsorted(chain_id[calls], bounds), np.searchsorted(chain_id[puts], bounds) + calls.size)
    ).astype(np.int64)
    side_rows = np.concatenate((calls, puts)).astype(np.int64)
    chains = heads.select(*CHAIN_KEY, pl.col("dte").cast(pl.Int32))
    return ChainBook(frame, chains, days, rows, chain_arrays, side_rows, side_off)


def _max_attempts(batch: RequestBatch, inc: np.ndarray[Any, Any]) -> int:
    finite = inc[np.isfinite(inc) & (inc > 0)]
    step = float(finite.min()) if finite.size else 1.0
    run = batch.kind >= 0
    if not run.any():
        return 1
    p = batch.params[run]
    span = p[:, PARAM_FIELDS.index("width_points")] - p[:, PARAM_FIELDS.index("min_width_points")]
    n = np.floor(np.nan_to_num(span, nan=0.0) / step + 1e-9) + 1
    return int(np.clip(n.max(), 1, _MAX_ATTEMPTS))


def _take(series: pl.Series, idx: np.ndarray[Any, Any]) -> pl.Series:
    """``series[idx]`` with null where ``idx < 0``."""
    if series.len() == 0:
        return pl.Series(series.name, [None] * idx.size, dtype=series.dtype)
    got = series.gather(np.where(idx >= 0, idx, 0))
    return pl.select(pl.when(pl.Series(idx >= 0)).then(got)).to_series().alias(series.name)


def build_structures(
    contracts: pl.DataFrame,
    requests: pl.DataFrame,
    settings: Settings | None = None,
    *,
    liquidity: Liquidity = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Build one defined-risk structure per request, for all days at once (rules in the module notes).

    Parameters
    ----------
    contracts : polars.DataFrame
        Per-contract analytics (:func:`volengine.analytics.contracts.contract_analytics`), any number of
        underlyings and days.
    requests : polars.DataFrame
        Columns of :data:`~volengine.structures.schema.REQUEST_SCHEMA` and optionally of
        :data:`~volengine.structures.schema.OVERRIDE_SCHEMA`; one row per structure.
    settings : Settings, optional
        Defaults when omitted.
    liquidity : LiquiditySettings or mapping of str to LiquiditySettings, optional, keyword-only
        The liquidity set (one for all, or per underlying, e.g. from ``resolve_symbol``); default: the trading
        mode's set (``structures.paper_liquidity`` in paper mode, which does not enforce).

    Returns
    -------
    structures : polars.DataFrame
        One row per request in request order, schema :data:`~volengine.structures.schema.STRUCTURE_SCHEMA`;
        invalid requests have ``is_valid`` False, a ``reason`` code and a ``message``.
    legs : polars.DataFrame
        One row per leg of each valid structure, schema :data:`~volengine.structures.schema.LEG_SCHEMA`.

    Raises
    ------
    SchemaError, DataError
        Malformed inputs (missing columns, null keys, duplicate request ids, unknown choices, out-of-domain
        overrides, duplicate contracts). Data conditions of a request never raise: they make it invalid.

    Examples
    --------
    >>> import polars as pl
    >>> from datetime import date
    >>> reqs = pl.DataFrame({"request_id": [1], "underlying": ["SPY"], "date": [date(2021, 1, 4)],
    ...                      "choice": ["iron_condor"]})
    >>> structures, legs = build_structures(contracts, reqs)  # doctest: +SKIP
    """
    s = settings or Settings()
    book = chain_book(contracts, s)
    batch = prepare_requests(requests, s, liquidity)
    mapped = batch.frame.select("underlying", "date").join(
        book.days, on=["underlying", "date"], how="left", maintain_order="left"
    )
    day_lo = mapped["day_lo"].fill_null(-1).to_numpy().astype(np.int64)
    day_hi = mapped["day_hi"].fill_null(-1).to_numpy().astype(np.int64)
    kind, status, detail = batch.kind.copy(), batch.status.copy(), batch.detail.copy()
    no_chain = (kind >= 0) & (day_lo < 0)
    status[no_chain], detail[no_chain], kind[no_chain] = BuildStatus.NO_EXPIRY, FailDetail.NO_CHAIN, Kind.SKIP
    day_lo[day_lo < 0], day_hi[day_hi < 0] = 0, 0
    out = build_structures_arrays(book.chain_arrays, book.side_rows, book.side_off, book.rows, day_lo, day_hi,
                                  kind, batch.params, status,
                                  _max_attempts(batch, book.chain_arrays["chain_inc"]))  # fmt: skip
    message = pl.select(
        pl.coalesce(
            preset_messages(batch.frame, out["status"], detail, out["n_att"], s.structures.strikes.max_width_points),
            attempt_messages(out["att_code"], out["att_detail"], out["att_num"], out["n_att"], out["status"]),
        )
    ).to_series()
    model = _calendar_values(book, out, batch.kind)
    return _structures_frame(book, batch, out, message, model, s), _legs_frame(book, batch, out)


def _structures_frame(book: ChainBook, batch: RequestBatch, out: dict[str, np.ndarray[Any, Any]],
                      message: pl.Series, model: dict[str, np.ndarray[Any, Any]],
                      settings: Settings) -> pl.DataFrame:  # fmt: skip
    status = out["status"]
    valid = status == BuildStatus.OK
    values = {name: out["values"][:, i] for i, name in enumerate(VALUE_FIELDS)}
    is_model = (batch.kind == Kind.CALENDAR) | (batch.kind == Kind.DIAGONAL)
    for name in ("breakeven_low", "breakeven_high"):
        values[name] = np.where(is_model, model[name], values[name])
    front, back = out["chains"][:, 0], out["chains"][:, 1]
    n_legs = (out["legs"] >= 0).sum(axis=1)
    tol = settings.market.strike_tolerance_points
    names = {int(c): c.name for c in BuildStatus}
    frame = batch.frame.select("request_id", "underlying", "date", "choice", "structure_type", "strike_mode")
    cols = {
        "is_valid": pl.Series(valid),
        "reason": pl.Series(status.astype(np.int16)).replace_strict(names, return_dtype=pl.String),
        "message": message,
        "n_legs": pl.Series(n_legs.astype(np.int8)),
        "expiration": _take(book.chains["expiration"], front),
        "back_expiration": _take(book.chains["expiration"], back),
        "root": _take(book.chains["root"], front),
        "dte": _take(book.chains["dte"], front),
        "multiplier": pl.Series(values.pop("multiplier")),
        "max_leg_spread_pct": pl.Series(values.pop("max_leg_spread_frac")),
        "substituted": pl.Series(values["substitution_points"] > tol),
        "payoff_is_model": pl.Series(
            batch.frame["choice"].is_in([StructureChoice.CALENDAR.value, StructureChoice.DIAGONAL.value])
        ),
        "model_max_profit_points": pl.Series(model["max_profit"]),
        "attempts": pl.Series(out["n_att"]),
        **{name: pl.Series(v) for name, v in values.items()},
    }
    frame = frame.with_columns(pl.Series(name, col).alias(name) for name, col in cols.items())
    keep_always = {"atm_strike", "strike_increment", "expiration", "back_expiration", "root", "dte", "attempts"}
    exprs = []
    for name, dtype in STRUCTURE_SCHEMA.items():
        e = pl.col(name)
        if dtype == pl.Float64:
            e = e.fill_nan(None)
        if name in _MONEY:
            e = e.round(_MONEY_DECIMALS)
        if name in frame.columns and name not in {*batch.frame.columns, "is_valid", "reason", "message"}:
            e = pl.when(pl.col("is_valid")).then(e) if name not in keep_always else e
        exprs.append(e.cast(dtype).alias(name))
    return frame.with_columns(
        pl.when(pl.col("is_valid")).then(None).otherwise(pl.col("reason")).alias("reason")
    ).select(exprs)


def _legs_frame(book: ChainBook, batch: RequestBatch, out: dict[str, np.ndarray[Any, Any]]) -> pl.DataFrame:
    valid = out["status"] == BuildStatus.OK
    r, j = np.nonzero((out["legs"] >= 0) & valid[:, None])
    rows = out["legs"][r, j]
    cols = ["underlying", "root", "expiration", "strike", "right", "multiplier", "dte", "bid", "ask", "mid", "iv",
            "delta", "gamma", "vega", "theta"]  # fmt: skip
    picked = book.frame.select(cols)[rows] if rows.size else book.frame.select(cols).clear()
    frame = picked.with_columns(
        pl.Series("request_id", batch.frame["request_id"].to_numpy()[r], dtype=pl.Int64),
        pl.Series("leg", j.astype(np.int8)),
        pl.Series("qty", out["qty"][r, j].astype(np.int8)),
        pl.col("underlying", "root", "right").cast(pl.String),
    )
    return frame.select(
        pl.col(name).fill_nan(None).cast(dtype) if dtype == pl.Float64 else pl.col(name).cast(dtype)
        for name, dtype in LEG_SCHEMA.items()
    )


def _calendar_values(book: ChainBook, out: dict[str, np.ndarray[Any, Any]],
                     kind: np.ndarray[Any, Any]) -> dict[str, np.ndarray[Any, Any]]:  # fmt: skip
    """Model max profit and breakevens of the valid calendars and diagonals (NaN elsewhere), see
    :func:`calendar_model`."""
    n = kind.size
    res = {name: np.full(n, np.nan) for name in ("max_profit", "breakeven_low", "breakeven_high")}
    cal = (out["status"] == BuildStatus.OK) & ((kind == Kind.CALENDAR) | (kind == Kind.DIAGONAL))
    if not cal.any():
        return res
    f, b = out["legs"][cal, 0], out["legs"][cal, 1]
    col = {name: book.frame[name].cast(pl.Float64) for name in ("t", "forward", "disc", "iv")}

    def at(name: str, idx: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        return col[name].gather(idx).fill_null(np.nan).to_numpy()

    model = calendar_model(
        book.rows["strike"][f], book.rows["is_call"][f] == 1, at("t", f), at("t", b), at("forward", f),
        at("forward", b), at("disc", f), at("disc", b), at("iv", b),
        -out["values"][cal, VALUE_FIELDS.index("entry_cashflow_points")], back_strike=book.rows["strike"][b],
    )  # fmt: skip
    for name, values in model.items():
        res[name][cal] = values
    return res
