"""Quote paths of candidate structures: every leg on every session from entry to expiry, filled and marked.

For each candidate (a structure chosen at the close of its signal day) :func:`build_paths` lays out one row per
session from its entry day (the next session) to its front expiry (or the end of data) and computes, per share:

* ``entry_cf`` (entry day only): the opening fills of all legs, NaN when a leg has no valid quote that day
  (the order is unexecutable; entries never fill on model marks of missing quotes). With
  ``backtest.execution: next_open`` entries and exits fill at the next session's modelled open instead
  (:func:`_open_fills`: end-of-day chains have no opening quotes);
* ``close_cf``: what closing every leg at that day's quotes would bring in under the fill model (sell at
  ``ask − f·w``, buy at ``bid + f·w``, ``w = ask − bid``, ``f`` by leg count; ``f = 1`` is bid/ask);
* ``settle_cf`` (front-expiry day only): expiring legs at intrinsic on the settlement price (AM-settled series
  on the session's open, PM on its close, unadjusted), legs of later expiries at their closing fills
  (``settle_legs`` counts those: they pay the per-leg cost, expiring legs do not);
* ``model_marked``: a leg had no posted quote (none, or crossed) and was marked from that day's chain (the IV
  of the same expiry and right, linear in strike between the nearest listed strikes with an IV and flat beyond
  them, priced with Black-76 on the chain's forward); without any
  quote of its chain the leg's last mark carries forward. A trade is never dropped for a missing quote. A
  zero-bid quote is a posted market for marks and exits (a worthless wing is sold for 0), not for entries;
* ``assignment_risk``: a short American call of the structure is in the money with less time value than the
  dividend of an ex-date within the next days: early assignment is likely (flagged, not simulated);
* ``max_loss`` / ``max_profit`` at the entry fill: the signal-day values shifted by the fill difference
  (exact: the expiry payoff does not depend on the price paid).

Every value of a row uses quotes of that row's day only (and the path's earlier days for carried marks).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from volengine.config import Settings
from volengine.config.enums import ExecutionTiming, FillModel
from volengine.kernels import black_price
from volengine.risk.stress import scenario_grid, stress_pnl

LEG_KEY = ("underlying", "expiration", "strike", "right")


def fill_fraction(settings: Settings, n_legs: pl.Expr) -> pl.Expr:
    """Share f of the bid/ask width conceded per fill, by leg count (conservative model: 1)."""
    fs = settings.fills
    if fs.model is FillModel.CONSERVATIVE:
        return pl.lit(1.0)
    table = list(fs.spread_fraction_by_legs)
    expr = pl.lit(table[-1])
    for i in range(len(table) - 1, 0, -1):
        expr = pl.when(n_legs <= i).then(pl.lit(table[i - 1])).otherwise(expr)
    return expr


def _leg_days(structures: pl.DataFrame, legs: pl.DataFrame, days: pl.Series, lead: int = 0) -> pl.DataFrame:
    """One row per (candidate, leg, session) from the entry session (``lead`` sessions earlier) to the front
    expiry (or the last day)."""
    day_idx = pl.DataFrame({"date": days}).with_row_index("day").with_columns(pl.col("day").cast(pl.Int64))
    s = structures.join(day_idx, on="date", how="left").rename({"day": "signal_day"})
    last = day_idx.height - 1
    exp_day = day_idx.rename({"date": "expiration", "day": "exp_day"})
    s = (
        s.sort("expiration")
        .join_asof(exp_day.sort("expiration"), on="expiration", strategy="backward")
        .with_columns(
            (pl.col("signal_day") + 1).alias("entry_day"),
            pl.min_horizontal(pl.col("exp_day").fill_null(last), pl.lit(last)).alias("last_day"),
        )
        .filter(pl.col("entry_day") <= pl.col("last_day"))
        .sort("candidate")
    )
    spans = (
        s.select("candidate", "underlying", "entry_day", "last_day", "n_legs")
        .with_columns(pl.int_ranges(pl.col("entry_day") - lead, pl.col("last_day") + 1).alias("day"))
        .explode("day")
    )
    leg_cols = legs.select("candidate", "leg", "expiration", "strike", pl.col("right").cast(pl.String), "qty",
                           "settlement")  # fmt: skip
    out = spans.join(leg_cols, on="candidate", how="inner").join(day_idx, on="day", how="left")
    return out.sort("candidate", "leg", "day")


def _quotes_on_path(rows: pl.DataFrame, contracts: pl.DataFrame) -> pl.DataFrame:
    """Attach each leg-day's own quote, else a model mark from that day's chain (IV interpolated in strike).

    Only the chains the paths touch are read (semi-joins), and the model lookup runs only for leg-days without
    a posted quote, so the cost follows the paths, not the size of the chain history.
    """
    cols = ["underlying", "date", "expiration", "strike", "right", "bid", "ask", "mid", "iv", "forward", "disc", "t"]
    cols += [c for c in ("style",) if c in contracts.columns]
    chain_key = ["underlying", "date", "expiration"]
    typed = rows.with_columns(
        pl.col("underlying").cast(contracts.schema["underlying"]), pl.col("right").cast(contracts.schema["right"])
    )
    q = contracts.select(cols).join(typed.select(chain_key).unique(), on=chain_key, how="semi")
    on = [*chain_key, "strike", "right"]
    r = typed.join(q, on=on, how="left", suffix="_q")
    posted = (pl.col("bid") >= 0) & (pl.col("ask") > 0) & (pl.col("bid") <= pl.col("ask"))
    missing = r.filter(~posted.fill_null(False)).select("candidate", "leg", "day", *chain_key, "right", "strike")
    by = [*chain_key, "right"]
    chain = (
        q.filter(pl.col("iv").is_finite())
        .join(missing.select(by).unique(), on=by, how="semi")
        .select(*by, pl.col("strike").alias("k_near"), "iv", "forward", "disc", "t")
        .sort("k_near")
    )
    # the IV at the leg's strike: linear in strike between the listed neighbours with an IV, flat beyond them
    ordered = missing.sort("strike")
    below, above = (
        ordered.join_asof(chain, left_on="strike", right_on="k_near", by=by, strategy=side,
                          check_sortedness=False)  # both sides are sorted by strike
        .select("candidate", "leg", "day", *(pl.col(c).alias(f"{c}_{side}") for c in ("k_near", "iv", "forward",
                                                                                    "disc", "t")))
        for side in ("backward", "forward")
    )  # fmt: skip
    lo, hi = pl.col("k_near_backward"), pl.col("k_near_forward")
    weight = pl.when(hi > lo).then((pl.col("strike") - lo) / (hi - lo)).otherwise(0.0)
    interp = pl.col("iv_backward") + weight * (pl.col("iv_forward") - pl.col("iv_backward"))
    near = below.join(above, on=["candidate", "leg", "day"]).join(
        ordered.select("candidate", "leg", "day", "strike"), on=["candidate", "leg", "day"]
    ).select(
        "candidate", "leg", "day",
        pl.coalesce(interp, "iv_backward", "iv_forward").alias("iv_model"),
        *(pl.coalesce(f"{c}_backward", f"{c}_forward").alias(f"{n}_model")
          for c, n in (("forward", "f"), ("disc", "d"), ("t", "t"))),
    )  # fmt: skip
    r = (
        r.join(near, on=["candidate", "leg", "day"], how="left")
        .sort("candidate", "leg", "day")
        .with_columns(pl.col("underlying").cast(pl.String), pl.col("right").cast(pl.String))
    )
    is_call = (r["right"] == "C").to_numpy()
    model = black_price(
        r["f_model"].fill_null(np.nan).to_numpy(), r["strike"].to_numpy(), r["t_model"].fill_null(np.nan).to_numpy(),
        r["d_model"].fill_null(np.nan).to_numpy(), r["iv_model"].fill_null(np.nan).to_numpy(), is_call,
    )  # fmt: skip
    # a posted market closes a position even with a zero bid (sell a worthless wing for 0, buy it back at the
    # ask); entries still need a valid mid on every leg (seed-spec §2.2), see leg_entry_cf in build_paths
    posted = (pl.col("bid") >= 0) & (pl.col("ask") > 0) & (pl.col("bid") <= pl.col("ask"))
    return (
        r.with_columns(pl.Series("model_mid", model).fill_nan(None))
        .with_columns(
            pl.when(posted).then(0.5 * (pl.col("bid") + pl.col("ask"))).otherwise(pl.col("model_mid")).alias("mark"),
            pl.when(posted).then(pl.col("ask") - pl.col("bid")).alias("width"),
            (~posted.fill_null(False)).alias("model_marked"),
            pl.col("mid").is_not_null().alias("has_mid"),
        )
        .with_columns(
            pl.col("mark").forward_fill().over("candidate", "leg"),
            pl.col("width").forward_fill().over("candidate", "leg").fill_null(0.0),
        )
    )


#: calendar days ahead in which an ex-dividend date makes a deep in-the-money short call an assignment risk
ASSIGNMENT_WINDOW_DAYS = 5


def _assignment_risk(r: pl.DataFrame, bars: pl.DataFrame, dividends: pl.DataFrame | None) -> pl.DataFrame:
    """Flag American short calls in the money whose time value is below the next dividend (ex-date within
    :data:`ASSIGNMENT_WINDOW_DAYS`): the holder gains by exercising before the ex-date (domain notes §1.3)."""
    if dividends is None or dividends.height == 0:
        return r.with_columns(pl.lit(False).alias("assignment_risk"))
    spot = bars.select(pl.col("underlying").cast(pl.String), "date", pl.col("close").alias("_spot"))
    div = dividends.select(pl.col("underlying").cast(pl.String), pl.col("ex_date").alias("_ex"), pl.col("amount")).sort(
        "_ex"
    )
    out = (
        r.join(spot, on=["underlying", "date"], how="left")
        .sort("date")
        .join_asof(div, left_on="date", right_on="_ex", by="underlying", strategy="forward",
                   tolerance=f"{ASSIGNMENT_WINDOW_DAYS}d", check_sortedness=False)  # both sorted by date
        .sort("candidate", "leg", "day")
    )  # fmt: skip
    intrinsic = (pl.col("_spot") - pl.col("strike")).clip(0)
    is_american = pl.col("style").cast(pl.String) == "american" if "style" in out.columns else pl.lit(value=True)
    risk = (
        (pl.col("qty") < 0) & (pl.col("right") == "C") & is_american & (intrinsic > 0)
        & pl.col("amount").is_not_null() & (pl.col("mark") - intrinsic < pl.col("amount"))
    )  # fmt: skip
    return out.with_columns(risk.fill_null(False).alias("assignment_risk")).drop("_spot", "_ex", "amount")


#: hours from the open to the close of a regular US session (the close is when chains are quoted)
SESSION_HOURS = 6.5


def _open_fills(r: pl.DataFrame, bars: pl.DataFrame, f: pl.Expr, q: pl.Expr) -> pl.DataFrame:
    """Next-open entry and exit fills of each leg-day, modelled from the previous session's close.

    End-of-day chains hold no opening option quotes, so the open is priced: Black-76 at the previous close's
    IV of the leg (sticky strike; a model mark's IV when it had no quote), on its forward moved by the
    underlying's overnight return (open today / close yesterday, both unadjusted), discounted as yesterday,
    with the time left at the open (yesterday's ``t`` less the calendar time to this open); the fill then
    concedes the same share f of yesterday's bid/ask width as any fill. Entries still need a posted quote
    with a mid on every leg yesterday (entries never fill off a model mark of a missing quote). Only data up
    to this session's open is read. ``r`` is sorted by (candidate, leg, day) and holds the lead day.
    """
    spot = bars.select(pl.col("underlying").cast(pl.String), "date", pl.col("open").alias("_s_open"),
                       pl.col("close").alias("_s_close"))  # fmt: skip
    r = r.join(spot, on=["underlying", "date"], how="left", maintain_order="left")

    def prev(name: str) -> pl.Expr:
        return pl.col(name).shift(1).over("candidate", "leg")

    gap_days = (pl.col("date") - prev("date")).dt.total_days().cast(pl.Float64)
    r = r.with_columns(
        (prev("_forward") * pl.col("_s_open") / prev("_s_close")).alias("_f_open"),
        (prev("_t") - (gap_days - SESSION_HOURS / 24.0) / 365.0).clip(lower_bound=0.0).alias("_t_open"),
        prev("_disc").alias("_d_open"), prev("_iv").alias("_iv_open"), prev("width").alias("_w_open"),
        (prev("has_mid") & ~prev("model_marked")).alias("_quoted_before"),
    )  # fmt: skip
    inputs = (r[c].fill_null(np.nan).to_numpy() for c in ("_f_open", "strike", "_t_open", "_d_open", "_iv_open"))
    mid = black_price(*inputs, (r["right"] == "C").to_numpy())
    w = pl.col("_w_open")
    sell_px = pl.col("_mid_open") - (f - 0.5) * w
    buy_px = pl.col("_mid_open") + (f - 0.5) * w
    return r.with_columns(pl.Series("_mid_open", mid).fill_nan(None)).with_columns(
        pl.when(pl.col("_quoted_before")).then(-q * pl.when(q > 0).then(buy_px).otherwise(sell_px))
        .alias("leg_fill_entry_cf"),
        (q * pl.when(q > 0).then(sell_px).otherwise(buy_px)).alias("leg_exit_cf"),
    )  # fmt: skip


def _settlement_prices(bars: pl.DataFrame) -> pl.DataFrame:
    return bars.select(
        pl.col("underlying").cast(pl.String), pl.col("date").alias("expiration"),
        pl.col("open").alias("s_open"), pl.col("close").alias("s_close"),
    )  # fmt: skip


def build_paths(
    structures: pl.DataFrame,
    legs: pl.DataFrame,
    contracts: pl.DataFrame,
    bars: pl.DataFrame,
    days: pl.Series,
    settings: Settings | None = None,
    dividends: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, dict[str, np.ndarray[Any, Any]]]:
    """Paths of the valid candidates and the simulator's flat path arrays.

    Parameters
    ----------
    structures : polars.DataFrame
        One row per candidate: ``candidate`` (0..n-1, the simulator's order), underlying, date (signal day),
        expiration (front), n_legs, entry_cashflow_points, max_loss_points, max_profit_points (signal-day fills).
    legs : polars.DataFrame
        ``candidate, leg, expiration, strike, right, qty, settlement`` per leg.
    contracts : polars.DataFrame
        Per-contract analytics of every day (:func:`volengine.analytics.contracts.contract_analytics`).
    bars : polars.DataFrame
        Underlying bars (open, close unadjusted) for settlement prices.
    days : polars.Series
        The day axis (sorted sessions).
    settings : Settings, optional

    Returns
    -------
    (polars.DataFrame, dict)
        The per-(candidate, day) path frame and the arrays ``off, day, close_cf, exit_cf, settle_cf,
        settle_legs, dte, entry_cf, max_loss, max_profit, stress`` of :func:`volengine.backtest.simulate.simulate`
        (``off`` over all candidates, empty runs for candidates without a path; ``exit_cf`` what an exit decided
        the session before fills at: ``close_cf`` under ``next_close``, the modelled open under ``next_open``;
        ``stress`` the per-share P&L of each row's structure in each scenario of
        :func:`volengine.risk.scenario_grid`).
    """
    s = settings or Settings()
    at_open = s.backtest.execution is ExecutionTiming.NEXT_OPEN
    # next-open fills price each leg off the previous close: lay out the signal day too, then drop it
    rows = _leg_days(structures, legs, days, lead=1 if at_open else 0)
    r = _assignment_risk(_quotes_on_path(rows, contracts), bars, dividends)
    r = r.with_columns(
        pl.when(pl.col("model_marked")).then(pl.col(a)).otherwise(pl.col(b)).alias(f"_{b}")
        for a, b in (("iv_model", "iv"), ("f_model", "forward"), ("t_model", "t"), ("d_model", "disc"))
    )
    f = fill_fraction(s, pl.col("n_legs"))
    q = pl.col("qty").cast(pl.Float64)
    real = ~pl.col("model_marked")
    w = pl.col("width")
    # one fill model for entries, marks and exits: concede f of the width (model marks: around the mark)
    sell_px = pl.when(real).then(pl.col("ask") - f * w).otherwise(pl.col("mark") - (f - 0.5) * w)
    buy_px = pl.when(real).then(pl.col("bid") + f * w).otherwise(pl.col("mark") + (f - 0.5) * w)
    close_px = pl.when(q > 0).then(sell_px).otherwise(buy_px)
    open_px = pl.when(q > 0).then(buy_px).otherwise(sell_px)
    settle = _settlement_prices(bars)
    r = r.join(settle, on=["underlying", "expiration"], how="left").with_columns(
        pl.when(pl.col("settlement").cast(pl.String) == "AM").then("s_open").otherwise("s_close").alias("s_settle")
    ).with_columns(
        pl.when(pl.col("right") == "C").then((pl.col("s_settle") - pl.col("strike")).clip(0))
        .otherwise((pl.col("strike") - pl.col("s_settle")).clip(0)).alias("intrinsic"),
        (q * close_px).alias("leg_close_cf"),
        pl.when(real & pl.col("has_mid")).then(-q * open_px).alias("leg_entry_cf"),
    )  # fmt: skip
    r = r.with_columns(
        pl.when(pl.col("date") == pl.col("expiration")).then(q * pl.col("intrinsic")).otherwise("leg_close_cf")
        .alias("leg_settle_cf"),
    )  # fmt: skip
    if at_open:
        r = _open_fills(r, bars, f, q).filter(pl.col("day") >= pl.col("entry_day"))
    else:
        r = r.with_columns(leg_fill_entry_cf=pl.col("leg_entry_cf"), leg_exit_cf=pl.col("leg_close_cf"))
    moves, shifts = scenario_grid(s)
    leg_stress = stress_pnl(*(r[c].fill_null(np.nan).to_numpy() for c in ("_forward", "strike", "_t", "_disc", "_iv")),
                            (r["right"] == "C").to_numpy(), r["qty"].to_numpy(), moves, shifts)  # fmt: skip
    leg_stress = np.where(np.isfinite(leg_stress), leg_stress, 0.0)
    path = (
        r.group_by("candidate", "day", maintain_order=True)
        .agg(
            pl.col("date").first(),
            pl.col("leg_close_cf").sum().alias("close_cf"),
            pl.col("leg_settle_cf").sum().alias("settle_all"),
            (pl.col("date") == pl.col("expiration")).any().alias("is_expiry"),
            (pl.col("date") != pl.col("expiration")).sum().alias("open_legs"),
            pl.col("leg_fill_entry_cf").sum().alias("entry_all"),
            pl.col("leg_fill_entry_cf").is_null().any().alias("entry_missing"),
            pl.col("leg_exit_cf").sum().alias("_exit_all"),
            pl.col("leg_exit_cf").is_null().any().alias("_exit_missing"),
            pl.col("model_marked").any(),
            pl.col("assignment_risk").any(),
            (pl.col("expiration") - pl.col("date")).dt.total_days().min().alias("dte"),
        )
        .sort("candidate", "day")
    )
    head = structures.select("candidate", "entry_cashflow_points", "max_loss_points", "max_profit_points")
    path = path.join(head, on="candidate", how="left").with_columns(
        pl.col("day").rank("ordinal").over("candidate").alias("_k")
    ).with_columns(
        pl.when((pl.col("_k") == 1) & ~pl.col("entry_missing")).then("entry_all").alias("entry_cf"),
        pl.when(pl.col("is_expiry")).then("settle_all").alias("settle_cf"),
        # an exit decided yesterday fills at this price today (at the close, or the modelled open when
        # one leg cannot be priced there)
        pl.when(pl.col("_exit_missing")).then("close_cf").otherwise("_exit_all").alias("exit_cf"),
    ).with_columns(
        (pl.col("max_loss_points") + pl.col("entry_cashflow_points") - pl.col("entry_cf").first().over("candidate"))
        .alias("max_loss"),
        (pl.col("max_profit_points") - pl.col("entry_cashflow_points") + pl.col("entry_cf").first().over("candidate"))
        .alias("max_profit"),
    )  # fmt: skip
    # rows of r are sorted by (candidate, leg, day) and the path by (candidate, day): sum the legs per path row
    key = pl.DataFrame({"candidate": r["candidate"], "day": r["day"]})
    row_of = key.join(path.select("candidate", "day").with_row_index("_row"), on=["candidate", "day"], how="left",
                      maintain_order="left")["_row"].to_numpy()  # fmt: skip
    stress = np.zeros((path.height, moves.size))
    np.add.at(stress, row_of, leg_stress)
    n_c = structures.height
    counts = np.bincount(path["candidate"].to_numpy(), minlength=n_c) if path.height else np.zeros(n_c, dtype=int)
    arrays = {"off": np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)}
    for name in ("day", "close_cf", "exit_cf", "settle_cf", "dte", "entry_cf", "max_loss", "max_profit"):
        arrays[name] = path[name].cast(pl.Float64).fill_null(np.nan).to_numpy()
    arrays["day"] = arrays["day"].astype(np.int64)
    arrays["dte"] = np.nan_to_num(arrays["dte"], nan=0).astype(np.int64)
    arrays["settle_legs"] = np.where(path["is_expiry"].to_numpy(), path["open_legs"].to_numpy(), 0).astype(np.int64)
    arrays["stress"] = stress
    return path.drop("_k", "entry_all", "settle_all", "open_legs", "_exit_all", "_exit_missing"), arrays


def candidate_stress(structures: pl.DataFrame, legs: pl.DataFrame, contracts: pl.DataFrame,
                     settings: Settings | None = None) -> np.ndarray[Any, Any]:  # fmt: skip
    """Stress-scenario P&L per share of each candidate on its signal day, shape (n_candidates, n_scenarios)."""
    s = settings or Settings()
    moves, shifts = scenario_grid(s)
    on = ["underlying", "date", "expiration", "strike", "right"]
    r = (
        legs.drop("iv", "date", strict=False)
        .join(structures.select("candidate", "date"), on="candidate", how="left")
        .with_columns(
            pl.col("underlying").cast(contracts.schema["underlying"]), pl.col("right").cast(contracts.schema["right"])
        )
    )
    q = contracts.select(*on, "iv", "forward", "t", "disc").join(r.select(on).unique(), on=on, how="semi")
    r = r.join(q, on=on, how="left")
    pnl = stress_pnl(*(r[c].fill_null(np.nan).to_numpy() for c in ("forward", "strike", "t", "disc", "iv")),
                     (r["right"] == "C").to_numpy(), r["qty"].to_numpy(), moves, shifts)  # fmt: skip
    out = np.zeros((structures.height, moves.size))
    np.add.at(out, r["candidate"].to_numpy(), np.where(np.isfinite(pnl), pnl, 0.0))
    return out
