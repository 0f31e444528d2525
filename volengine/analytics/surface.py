"""Surface features: one row per chain (expiry summary), then one row per (underlying, day).

:func:`expiry_summary` reduces every chain of a :func:`~volengine.analytics.contracts.contract_analytics`
frame with one kernel pass (ATM IV at the listed strike and at the forward, listed and delta-interpolated
25-delta wings, the Cboe-formula model-free variance). :func:`daily_surface` turns those into the per-day
columns: the seed-spec ATM IV (expiry closest to 30 DTE), constant-maturity ATM IVs, the VIX-style
30-day index, the listed front/back expiries of the term detector, the 25-delta strikes of the skew
detector, and the constant-maturity risk reversal and butterfly. Each day's values come from that day's
chains only.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from volengine.analytics.contracts import CHAIN_KEY, chain_offsets
from volengine.config import Settings
from volengine.kernels.surface import SUMMARY_FIELDS, chain_summary, term_interp

DAY_KEY = ("underlying", "date")
_YEAR = 365.0


def expiry_summary(contracts: pl.DataFrame, settings: Settings | None = None) -> pl.DataFrame:
    """One row per chain (underlying, date, expiration, root) with the smile summary of its quotes.

    Parameters
    ----------
    contracts : polars.DataFrame
        Output of :func:`~volengine.analytics.contracts.contract_analytics` (sorted by chain).
    settings : Settings, optional

    Returns
    -------
    polars.DataFrame
        Chain key, ``dte, t, spot, forward, disc, rate, open_interest`` (chain total) and the columns of
        :data:`volengine.kernels.surface.SUMMARY_FIELDS`, sorted by (underlying, date, t).
    """
    s = settings or Settings()
    offsets = chain_offsets(contracts)
    first = offsets[:-1]
    c = contracts
    res = chain_summary(
        offsets,
        c["strike"].to_numpy(),
        (c["right"] == "C").to_numpy(),
        c["mid"].fill_null(np.nan).to_numpy(),
        c["bid"].fill_null(np.nan).to_numpy(),
        c["iv"].to_numpy(),
        c["delta"].to_numpy(),
        c["underlying_price"].to_numpy(),
        c["forward"].to_numpy(),
        c["t"].fill_null(0.0).to_numpy(),
        c["disc"].to_numpy(),
        wing=s.analytics.wing_delta_abs,
    )
    head = c.select(*CHAIN_KEY, "dte", "t", pl.col("underlying_price").alias("spot"), "forward", "disc", "rate")
    summary = (
        head[first]
        .with_columns(*[pl.Series(name, res[:, i]).fill_nan(None) for i, name in enumerate(SUMMARY_FIELDS)])
        .with_columns(pl.col("n_strikes").cast(pl.Int32))
    )
    return summary.sort(*DAY_KEY, "t", "root")


def _pick(expiries: pl.DataFrame, keep: pl.Expr, order: list[pl.Expr], cols: dict[str, str]) -> pl.DataFrame:
    """Per day, the first expiry satisfying ``keep`` under ``order``; ``cols`` renames the columns kept."""
    return (
        expiries.filter(keep)
        .sort(*DAY_KEY, *order)
        .group_by(*DAY_KEY, maintain_order=True)
        .first()
        .select(*DAY_KEY, *[pl.col(a).alias(b) for a, b in cols.items()])
    )


def _constant_maturity(expiries: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    """ATM IVs, model-free 30-day vol, 25-delta RR and BF at constant maturities, one row per day."""
    a = settings.analytics
    e = expiries.filter(pl.col("dte") >= a.min_expiry_days).sort(*DAY_KEY, "t")
    days = e.select(DAY_KEY).unique(maintain_order=True)
    if e.height == 0:
        return days
    off = chain_offsets(e, DAY_KEY)
    t = e["t"].to_numpy()
    tenors = np.asarray(a.constant_maturities_days, dtype=np.float64) / _YEAR
    atm_var = e["atm_iv_fwd"].fill_null(np.nan).to_numpy() ** 2
    cm = np.sqrt(term_interp(off, t, atm_var, tenors))
    cols = {f"atm_iv_{d}d": cm[:, i] for i, d in enumerate(a.constant_maturities_days)}
    tenor = np.array([a.model_free_tenor_days / _YEAR])
    mf = e.with_columns(
        pl.when(pl.col("dte") >= a.model_free_min_dte_days).then(pl.col("mfiv_var")).alias("mf"),
        (pl.col("call_iv_25d_interp") - pl.col("put_iv_25d_interp")).alias("rr"),
        (0.5 * (pl.col("call_iv_25d_interp") + pl.col("put_iv_25d_interp")) - pl.col("atm_iv_fwd")).alias("bf"),
    )
    mf_var = term_interp(off, t, mf["mf"].fill_null(np.nan).to_numpy(), tenor)[:, 0]
    cols[f"mfiv_{a.model_free_tenor_days}d"] = np.sqrt(np.where(mf_var > 0, mf_var, np.nan))
    rr = term_interp(off, t, mf["rr"].fill_null(np.nan).to_numpy(), tenor, total=False)[:, 0]
    bf = term_interp(off, t, mf["bf"].fill_null(np.nan).to_numpy(), tenor, total=False)[:, 0]
    cols[f"rr_25d_{a.model_free_tenor_days}d"] = rr
    cols[f"bf_25d_{a.model_free_tenor_days}d"] = bf
    return e[off[:-1]].select(DAY_KEY).with_columns(*[pl.Series(k, v).fill_nan(None) for k, v in cols.items()])


def daily_surface(expiries: pl.DataFrame, settings: Settings | None = None) -> pl.DataFrame:
    """Per (underlying, date) surface columns from an :func:`expiry_summary` frame.

    Returns
    -------
    polars.DataFrame
        ``atm_iv, atm_dte, atm_strike`` (seed-spec §2.5 ATM IV), ``atm_iv_{N}d`` for each constant maturity,
        ``mfiv_30d`` (model-free, decimal), ``term_slope``/``term_ratio`` (30d vs the longest maturity),
        ``ts_front_iv, ts_front_dte, ts_back_iv, ts_back_dte``, ``skew_put_iv_25d, skew_call_iv_25d,
        skew_put_strike_25d, skew_call_strike_25d, skew_put_delta_25d, skew_call_delta_25d, skew_dte,
        skew_atm_iv``, ``rr_25d_30d, bf_25d_30d``, ``n_expiries``. Sorted by (underlying, date).
    """
    s = settings or Settings()
    e = expiries.filter(pl.col("dte") > 0)
    target = s.edges.atm_target_dte_days
    ts = s.edges.term_structure
    sk = s.edges.skew
    gap = (pl.col("dte") - target).abs()
    has_atm = pl.col("atm_iv").is_not_null()
    atm = _pick(e, has_atm, [gap, pl.col("dte")], {"atm_iv": "atm_iv", "dte": "atm_dte", "atm_strike": "atm_strike"})
    front = _pick(
        e, has_atm & (pl.col("dte") >= ts.front_min_dte_days) & (pl.col("dte") < ts.front_max_dte_days),
        [pl.col("dte")], {"atm_iv": "ts_front_iv", "dte": "ts_front_dte"},
    )  # fmt: skip
    back = _pick(
        e, has_atm & (pl.col("dte") >= ts.back_min_dte_days) & (pl.col("dte") <= ts.back_max_dte_days),
        [pl.col("dte")], {"atm_iv": "ts_back_iv", "dte": "ts_back_dte"},
    )  # fmt: skip
    skew_gap = (pl.col("dte") - sk.target_dte_days).abs()
    skew = _pick(
        e, pl.col("put_iv_25d").is_not_null() & pl.col("call_iv_25d").is_not_null()
        & (skew_gap <= sk.dte_tolerance_days),
        [skew_gap, pl.col("dte")],
        {"put_iv_25d": "skew_put_iv_25d", "call_iv_25d": "skew_call_iv_25d", "put_strike_25d": "skew_put_strike_25d",
         "call_strike_25d": "skew_call_strike_25d", "put_delta_25d": "skew_put_delta_25d",
         "call_delta_25d": "skew_call_delta_25d", "dte": "skew_dte", "atm_iv": "skew_atm_iv"},
    )  # fmt: skip
    days = expiries.group_by(*DAY_KEY, maintain_order=True).agg(pl.len().cast(pl.Int32).alias("n_expiries"))
    out = days
    for part in (atm, _constant_maturity(expiries, s), front, back, skew):
        out = out.join(part, on=list(DAY_KEY), how="left")
    longest = f"atm_iv_{s.analytics.constant_maturities_days[-1]}d"
    if "atm_iv_30d" in out.columns and longest in out.columns and longest != "atm_iv_30d":
        out = out.with_columns(
            (pl.col(longest) - pl.col("atm_iv_30d")).alias("term_slope"),
            (pl.col("atm_iv_30d") / pl.col(longest)).alias("term_ratio"),
        )
    return out.sort(*DAY_KEY)


def surface_columns(settings: Settings | None = None) -> list[str]:
    """Names of the per-day surface columns :func:`daily_surface` can produce (for empty frames)."""
    s = settings or Settings()
    a = s.analytics
    cm = [f"atm_iv_{d}d" for d in a.constant_maturities_days]
    tenor = a.model_free_tenor_days
    return ["n_expiries", "atm_iv", "atm_dte", "atm_strike", *cm, f"mfiv_{tenor}d", f"rr_25d_{tenor}d",
            f"bf_25d_{tenor}d", "ts_front_iv", "ts_front_dte", "ts_back_iv", "ts_back_dte", "skew_put_iv_25d",
            "skew_call_iv_25d", "skew_put_strike_25d", "skew_call_strike_25d", "skew_put_delta_25d",
            "skew_call_delta_25d", "skew_dte", "skew_atm_iv", "term_slope", "term_ratio"]  # fmt: skip
