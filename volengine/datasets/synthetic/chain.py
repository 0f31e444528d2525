"""Option chains of the synthetic market (spec §3.4, §3.6, §3.7): listing, strikes, quotes, open interest.

Everything runs on flat arrays of all rows of a block of days at once: slices (day × listed expiry) are
ragged groups of strike rows built with ``np.repeat``; pricing goes through
:func:`volengine.kernels.black_price`; open interest is an AR(1) per contract through a small Numba pass.
A listed strike stays listed until its expiry, as on an exchange: the day's grid rule only adds strikes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from volengine.data.schema import OPTION_QUOTES
from volengine.datasets.synthetic._nb import oi_ar1_nb
from volengine.datasets.synthetic.events import EventSet, covered_variance
from volengine.datasets.synthetic.params import Profile, SyntheticParams
from volengine.datasets.synthetic.surface import cboe_vix, model_free_variance, solve_theta, ssvi_w, total_variance
from volengine.kernels import black_price

WEEKLY, MONTHLY, QUARTERLY = 0, 1, 2
_AM_SHIFT_YEARS = 6.5 / 24.0 / 365.0  # AM settlement: the last price is the next morning's open, 6.5 h earlier


@dataclass(frozen=True)
class Listing:
    """Expiry dates of the extended session calendar (one row per expiry)."""

    idx: np.ndarray  # session index of the expiry day
    kind: np.ndarray  # int8: WEEKLY / MONTHLY / QUARTERLY


def expiries(ext: np.ndarray) -> Listing:
    """Friday expiries (the previous session when Friday is a holiday); third Fridays are monthlies.

    Third Fridays of March, June, September and December are quarterlies (the heaviest open interest).
    """
    first = ext[0].astype(np.int64)
    first_friday = first + (4 - (first + 3) % 7) % 7
    fridays = np.arange(first_friday, ext[-1].astype(np.int64) + 1, 7).astype("datetime64[D]")
    idx = np.searchsorted(ext, fridays, side="right") - 1
    keep = idx >= 0
    fridays, idx = fridays[keep], idx[keep]
    dom = (fridays - fridays.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    month = fridays.astype("datetime64[M]").astype(np.int64) % 12 + 1
    third = (dom >= 15) & (dom <= 21)
    kind = np.where(third, np.where(np.isin(month, (3, 6, 9, 12)), QUARTERLY, MONTHLY), WEEKLY).astype(np.int8)
    _, first_of = np.unique(idx, return_index=True)
    return Listing(idx[first_of], kind[first_of])


@dataclass(frozen=True)
class DayState:
    """Per-day inputs of the chain builder (arrays over the simulated sessions)."""

    ext: np.ndarray  # extended sessions, datetime64[D]
    spot: np.ndarray
    rate: np.ndarray
    vol30: np.ndarray  # VIX-equivalent of the latent state, vol points (drives spreads)
    rho: np.ndarray
    eta: np.ndarray
    delta_level: np.ndarray
    delta_short: np.ndarray
    cum_q: np.ndarray  # (days, smax + 1) from variance_paths
    m: float
    jump_q: float
    events: EventSet


def _slices(st: DayState, lst: Listing, p: SyntheticParams, prof: Profile, d0: int, d1: int) -> dict[str, np.ndarray]:
    """Listed (day, expiry) pairs of days ``[d0, d1)`` with time, forward, and SSVI θ, sorted by (day, T)."""
    days = np.arange(d0, d1)
    ext_days = st.ext.astype(np.int64)
    cal = ext_days[lst.idx][None, :] - ext_days[days][:, None]
    horizon = np.where(lst.kind == WEEKLY, p.weekly_horizon_days, p.monthly_horizon_days)[None, :]
    listed = (cal > 0) & (cal <= horizon)
    di, ei = np.nonzero(listed)
    day = days[di]
    cal_days = cal[di, ei].astype(np.float64)
    kind = lst.kind[ei]
    is_am = (kind != WEEKLY) & (prof.settlements[0] == "AM")
    t = cal_days / 365.0 - np.where(is_am, _AM_SHIFT_YEARS, 0.0)
    dq = p.delta(cal_days) + st.delta_level[day] + st.delta_short[day] * np.exp(-cal_days / 45.0)
    w = total_variance(st.cum_q, day, cal_days, st.m + dq, st.jump_q)
    rho, eta, etas = st.rho[day], st.eta[day], tuple(np.unique(st.eta))
    # spec §3.5: scheduled-event variance goes onto the ATM total variance θ, not the model-free target, so
    # the ATM variance of every expiry after the event falls by exactly σ_E² once the event has passed
    theta = solve_theta(w, rho, eta, prof.ssvi_gamma, etas)
    theta += covered_variance(st.events, day, lst.idx[ei], am=is_am)
    # calendar no-arbitrage: θ non-decreasing in T within each day (rows are already sorted by (day, T))
    theta = np.maximum.accumulate(theta + 100.0 * (day - d0)) - 100.0 * (day - d0)
    mfv = model_free_variance(theta, rho, eta, prof.ssvi_gamma, etas)
    fwd = st.spot[day] * np.exp((st.rate[day] - prof.div_yield) * t)
    return {"day": day, "exp": ei, "kind": kind, "t": t, "cal": cal_days, "theta": theta, "fwd": fwd, "mfv": mfv}


def _strikes(sl: dict[str, np.ndarray], p: SyntheticParams, prof: Profile) -> tuple[np.ndarray, np.ndarray]:
    """Strike rows (grid-aligned) per slice: a fine band round the forward, coarse wings to ±(4.5, 3.5) s.d.

    Returns (slice index per row, strike per row), rows sorted by strike within each slice.
    """
    f, fine, coarse = sl["fwd"], prof.fine_step, prof.coarse_step
    sd = np.sqrt(sl["theta"])
    c0 = np.round(f / fine)
    nf = np.clip(np.ceil(p.fine_band_sd * sd * f / fine), 3, p.fine_half_count)
    nf = np.minimum(nf, c0 - 1)
    k_fl, k_fh = (c0 - nf) * fine, (c0 + nf) * fine
    k_lo = f * np.exp(-p.strike_sd[0] * sd)
    k_hi = f * np.exp(p.strike_sd[1] * sd)
    parts = []
    need_lo = np.maximum((k_fl - k_lo) / coarse, 1.0)
    need_hi = np.maximum((k_hi - k_fh) / coarse, 1.0)
    step_lo = coarse * 2.0 ** np.maximum(np.ceil(np.log2(need_lo / p.coarse_side_count)), 0)
    step_hi = coarse * 2.0 ** np.maximum(np.ceil(np.log2(need_hi / p.coarse_side_count)), 0)
    lo_first = np.maximum(np.ceil(k_lo / step_lo), 1)
    lo_last = np.ceil(k_fl / step_lo) - 1
    hi_first = np.floor(k_fh / step_hi) + 1
    hi_last = np.floor(k_hi / step_hi)
    parts = [(lo_first, lo_last, step_lo), (c0 - nf, c0 + nf, np.full(f.size, fine)), (hi_first, hi_last, step_hi)]
    counts = [np.maximum(b - a + 1, 0).astype(np.int64) for a, b, _ in parts]
    total = counts[0] + counts[1] + counts[2]
    sid = np.repeat(np.arange(f.size), total)
    start = np.concatenate(([0], np.cumsum(total)[:-1]))
    pos = np.arange(sid.size) - start[sid]
    strike = np.empty(sid.size)
    base = np.zeros(f.size, dtype=np.int64)
    for (a, _, step), cnt in zip(parts, counts, strict=True):
        sel = (pos >= base[sid]) & (pos < base[sid] + cnt[sid])
        strike[sel] = (a[sid[sel]] + (pos[sel] - base[sid[sel]])) * step[sid[sel]]
        base = base + cnt
    return sid, strike


@dataclass
class ListState:
    """Carry of the listing across blocks: the strikes listed on earlier days whose expiry is still ahead.

    ``key`` is expiry index × :data:`_STRIKE_KEY` + strike in thousandths of a dollar (int64).
    """

    key: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))


_STRIKE_KEY = 20_000_000  # strikes below $20,000 in thousandths of a dollar


def _persist(sl: dict[str, np.ndarray], sid: np.ndarray, strike: np.ndarray, exp_idx: np.ndarray, d0: int, d1: int,
             listed: ListState) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Listed strike rows of days ``[d0, d1)``: the daily grids united since each expiry's first listing.

    Exchanges never delist a strike before its expiry: per (day, expiry) the rows are every strike the grid
    rule (``sid``/``strike``, from :func:`_strikes`) listed for that expiry on any day up to that day, so a
    strike first listed on day ``f`` is quoted on each session from ``f`` to the one before its expiry
    (``exp_idx``: session index per expiry), and day ``d`` depends on days ≤ ``d`` only. Strikes of earlier
    blocks come from ``listed``, which is updated to the strikes still alive at ``d1``. Returns (slice index
    per row, strike per row), sorted by strike within each slice like :func:`_strikes`.
    """
    key = sl["exp"][sid].astype(np.int64) * _STRIKE_KEY + np.round(strike * 1000.0).astype(np.int64)
    key_all = np.concatenate((listed.key, key))
    day_all = np.concatenate((np.full(listed.key.size, d0, dtype=np.int64), sl["day"][sid].astype(np.int64)))
    order = np.lexsort((day_all, key_all))
    key_all, day_all = key_all[order], day_all[order]
    new = np.ones(key_all.size, dtype=bool)
    new[1:] = key_all[1:] != key_all[:-1]
    ukey, first = key_all[new], day_all[new]
    uexp = ukey // _STRIKE_KEY
    stop = np.minimum(exp_idx[uexp], d1)
    count = stop - first
    rk = np.repeat(np.arange(ukey.size), count)
    start = np.cumsum(count) - count
    day = first[rk] + (np.arange(rk.size) - start[rk])
    n_exp = np.int64(exp_idx.size)
    skey = sl["day"].astype(np.int64) * n_exp + sl["exp"]
    row_sid = np.searchsorted(skey, day * n_exp + uexp[rk])
    assert np.array_equal(skey[row_sid], day * n_exp + uexp[rk]), "a listed strike's expiry has no slice"
    row_strike = (ukey % _STRIKE_KEY)[rk] / 1000.0
    listed.key = ukey[exp_idx[uexp] > d1]
    out = np.lexsort((row_strike, row_sid))
    return row_sid[out], row_strike[out]


def _round_multiplier(strike: np.ndarray, prof: Profile) -> np.ndarray:
    """Open-interest multiplier of round strikes (SPX ×4/2.5/1.5 on 100/50/25; SPY-like ×2.5/1.6 on 10/5)."""
    levels = ((100.0, 4.0), (50.0, 2.5), (25.0, 1.5)) if prof.fine_step >= 5 else ((10.0, 2.5), (5.0, 1.6))
    out = np.ones(strike.size)
    for unit, mult in reversed(levels):
        on = np.abs(strike / unit - np.round(strike / unit)) < 1e-9
        out = np.where(on, mult, out)
    return out


def _oi_target(k: np.ndarray, t: np.ndarray, cal: np.ndarray, kind: np.ndarray, strike: np.ndarray, prof: Profile,
               p: SyntheticParams, *, is_call: np.ndarray) -> np.ndarray:  # fmt: skip
    """Expected open interest (before noise) of each row: expiry, age, strike bump, round strike, put/call."""
    weight = np.choose(kind, (0.15, 1.0, 1.6))
    horizon = np.where(kind == WEEKLY, p.weekly_horizon_days, p.monthly_horizon_days).astype(np.float64)
    ramp = np.where(cal >= 14.0, np.clip((horizon - cal) / (horizon - 14.0), 0.05, 1.0), 0.5 + 0.5 * cal / 14.0)
    centre = np.where(is_call, 0.02, -0.06)
    width = np.maximum(0.08 * np.sqrt(t / 0.25), 0.03)
    bump = np.exp(-0.5 * ((k - centre) / width) ** 2)
    pc = np.where(is_call, 1.0, prof.pc_oi)
    return prof.oi_scale * weight * ramp * bump * _round_multiplier(strike, prof) * pc + 1.0


@dataclass
class OIState:
    """Carry of the open-interest AR(1) across blocks: contract keys and log-noise of the last day."""

    day: int = -10
    key: np.ndarray | None = None
    noise: np.ndarray | None = None


def _open_interest(key: np.ndarray, day: np.ndarray, target: np.ndarray, g: np.random.Generator, p: SyntheticParams,
                   carry: OIState) -> np.ndarray:  # fmt: skip
    """AR(1) open interest per contract, continuing the previous block's last day from ``carry``."""
    shock = g.standard_normal(key.size)
    if carry.key is not None and carry.noise is not None:
        key_all = np.concatenate((carry.key, key))
        day_all = np.concatenate((np.full(carry.key.size, carry.day), day))
        tgt_all = np.concatenate((np.ones(carry.key.size), target))
        shock_all = np.concatenate((carry.noise / p.oi_noise_sd, shock))
    else:
        key_all, day_all, tgt_all, shock_all = key, day, target, shock
    order = np.lexsort((day_all, key_all))
    out = np.empty(order.size)
    oi_ar1_nb(key_all[order], day_all[order], tgt_all[order], shock_all[order], p.oi_persistence, p.oi_noise_sd, out)
    res = np.empty(order.size)
    res[order] = out
    res = res[key_all.size - key.size :]
    last = day == day.max()
    carry.day = int(day.max())
    carry.key = key[last]
    carry.noise = np.log(res[last] / target[last]) + 0.5 * p.oi_noise_sd**2
    return np.round(res)


def _npdf(x: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * x * x) / np.sqrt(2.0 * np.pi)


def _quotes(mid: np.ndarray, vega_pt: np.ndarray, z: np.ndarray, cal: np.ndarray, vol30: np.ndarray, prof: Profile,
            g: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Bid, ask and tick from the vol-point half-spread model with quote noise (spec §3.6).

    ``h_vol = h0 (1 + a|z|^p) (VIX/16)^b (30/T_days)^c``; dollar half-spread ``max(tick/2, h_vol · vega)``;
    the mid moves by U(−0.3, 0.3) half-spreads and both sides round to the nearest tick, then widen if needed
    so that ``bid ≤ floor(mid) ≤ mid ≤ ceil(mid) ≤ ask`` on the tick grid (the true mid is always inside
    the quote, which keeps quotes free of executable static arbitrage) and ``ask ≥ bid + tick``.
    """
    h_vol = prof.h0 * (1.0 + prof.spread_a * np.abs(z) ** prof.spread_p)
    h_vol *= (vol30 / 16.0) ** prof.spread_b * (30.0 / np.maximum(cal, 1.0)) ** prof.spread_c
    tick = np.where(mid < prof.tick_switch, prof.tick_small, prof.tick_large)
    half = np.maximum(0.5 * tick, h_vol * vega_pt)
    noisy = mid + g.uniform(-0.3, 0.3, mid.size) * half
    lo = np.floor(mid / tick + 1e-9)
    hi = np.ceil(mid / tick - 1e-9)
    bid = np.maximum(np.minimum(np.round((noisy - half) / tick), lo), 0.0)
    ask = np.maximum(np.maximum(np.round((noisy + half) / tick), hi), bid + 1.0)
    return np.round(bid * tick, 2), np.round(ask * tick, 2), tick


def build_block(st: DayState, lst: Listing, p: SyntheticParams, prof: Profile, d0: int, d1: int,
                g: np.random.Generator, carry: OIState, listed: ListState) -> dict[str, np.ndarray]:  # fmt: skip
    """All quote rows of days ``[d0, d1)`` as flat arrays (two rows per strike: call, then put).

    Strikes persist: each day quotes every strike the grid rule listed for that expiry on any day so far
    (:func:`_persist`), so a strike that drifted far from the money keeps its wing-spread quote.

    Also returns per-slice surface truth (``s_*``), the chain's Cboe index per day (``vix``) and the dealer
    gamma exposure per day (``gex``, dollars per 1 % move).
    """
    sl = _slices(st, lst, p, prof, d0, d1)
    sid, strike = _persist(sl, *_strikes(sl, p, prof), lst.idx, d0, d1, listed)
    day, t, fwd, theta, cal = sl["day"][sid], sl["t"][sid], sl["fwd"][sid], sl["theta"][sid], sl["cal"][sid]
    k = np.log(strike / fwd)
    w = ssvi_w(k, theta, st.rho[day], st.eta[day], prof.ssvi_gamma)
    iv = np.sqrt(w / t)
    disc = np.exp(-st.rate[day] * t)
    n = strike.size
    rows = 2 * n
    is_call = np.tile(np.array([1, 0], dtype=np.int8), n)
    rep = np.repeat(np.arange(n), 2)
    mid = black_price(fwd[rep], strike[rep], t[rep], disc[rep], iv[rep], is_call)
    spot = st.spot[day][rep]
    if prof.styles[0] == "american":  # no early-exercise model: floor the European value at intrinsic
        mid = np.maximum(mid, np.where(is_call == 1, spot - strike[rep], strike[rep] - spot))
    sw = np.sqrt(w)
    pdf = _npdf(-k / sw + 0.5 * sw)
    vega_pt = disc * fwd * pdf * np.sqrt(t) / 100.0
    gamma = disc * fwd * pdf / (st.spot[day] ** 2 * sw)
    z = k / sw
    bid, ask, tick = _quotes(mid, vega_pt[rep], z[rep], cal[rep], st.vol30[day][rep], prof, g)
    kind = sl["kind"][sid][rep]
    key = ((sl["exp"][sid][rep].astype(np.int64) * 20_000_000 + np.round(strike[rep] * 1000).astype(np.int64)) * 2
           + is_call)  # fmt: skip
    target = _oi_target(k[rep], t[rep], cal[rep], kind, strike[rep], prof, p, is_call=is_call == 1)
    oi = _open_interest(key, day[rep], target, g, p, carry)
    atm = np.exp(-0.5 * z[rep] ** 2)
    boost = (1.0 + 2.0 * atm) * (1.0 + 1.5 * np.sqrt(7.0 / np.maximum(cal[rep], 1.0)))
    volume = np.round(oi * g.gamma(p.volume_shape, p.volume_mean / p.volume_shape, rows) * boost / 3.0)
    sign = np.where(is_call == 1, 1.0, -1.0) * p.dealer_gamma_sign
    dollar_gamma = sign * gamma[rep] * oi * 100.0 * st.spot[day][rep] ** 2 * 0.01
    gex = np.bincount(day[rep] - d0, weights=dollar_gamma, minlength=d1 - d0)
    qmid = 0.5 * (bid + ask)
    offsets = np.concatenate(([0], np.cumsum(np.bincount(sid, minlength=sl["t"].size)))).astype(np.int64)
    vix = cboe_vix(strike, qmid[0::2], qmid[1::2], bid[0::2], bid[1::2], offsets, sl["day"] - d0, sl["t"],
                   st.rate[sl["day"]], d1 - d0)  # fmt: skip
    return {
        "day": day[rep], "exp": sl["exp"][sid][rep], "kind": kind, "strike": strike[rep], "is_call": is_call,
        "bid": bid, "ask": ask, "volume": volume, "oi": oi, "spot": spot, "mid": mid, "tick": tick,
        "s_day": sl["day"], "s_exp": sl["exp"], "s_t": sl["t"], "s_theta": sl["theta"], "s_fwd": sl["fwd"],
        "s_mfv": sl["mfv"], "vix": vix, "gex": gex,
    }  # fmt: skip


def quotes_frame(b: dict[str, np.ndarray], underlying: str, prof: Profile, day_dates: pl.Series,
                 quote_times: pl.Series, exp_dates: pl.Series, g: np.random.Generator) -> pl.DataFrame:  # fmt: skip
    """Canonical ``option_quotes`` frame of one block (``day_dates``/``quote_times`` per session index)."""
    n = b["bid"].size
    weekly = b["kind"] == WEEKLY
    sizes = g.integers(1, 500, (2, n))
    vol = b["volume"].astype(np.int64)
    last = np.where(vol > 0, np.round(0.5 * (b["bid"] + b["ask"]) / b["tick"]) * b["tick"], np.nan)
    c = pl.col
    frame = pl.DataFrame(
        {
            "date": day_dates.gather(b["day"]),
            "quote_time": quote_times.gather(b["day"]),
            "expiration": exp_dates.gather(b["exp"]),
            "strike": b["strike"],
            "_call": b["is_call"] == 1,
            "_weekly": weekly,
            "bid": b["bid"],
            "ask": b["ask"],
            "last": np.round(last, 2),
            "bid_size": sizes[0],
            "ask_size": sizes[1],
            "volume": vol,
            "open_interest": b["oi"].astype(np.int64),
            "underlying_price": np.round(b["spot"], 4),
        }
    )
    root = pl.when(c("_weekly")).then(pl.lit(prof.roots[1])).otherwise(pl.lit(prof.roots[0]))
    right = pl.when(c("_call")).then(pl.lit("C")).otherwise(pl.lit("P"))
    style = pl.when(c("_weekly")).then(pl.lit(prof.styles[1])).otherwise(pl.lit(prof.styles[0]))
    settle = pl.when(c("_weekly")).then(pl.lit(prof.settlements[1])).otherwise(pl.lit(prof.settlements[0]))
    strike_code = (c("strike") * 1000).round().cast(pl.Int64).cast(pl.String).str.zfill(8)
    frame = frame.with_columns(
        root.alias("root"), right.alias("right"), style.alias("style"), settle.alias("settlement"),
        c("last").fill_nan(None),
    )  # fmt: skip
    frame = frame.with_columns(
        pl.concat_str(c("root"), c("expiration").dt.strftime("%y%m%d"), c("right"), strike_code).alias("occ_symbol")
    )
    consts = {
        "underlying": pl.lit(underlying), "multiplier": pl.lit(100), "oi_asof": pl.lit("prev_night"),
        "nonstandard": pl.lit(False), "snapshot": pl.lit("synthetic"), "source": pl.lit("synthetic"),
    }  # fmt: skip
    exprs = []
    for name, dtype in OPTION_QUOTES.items():
        if name in consts:
            exprs.append(consts[name].cast(dtype).alias(name))
        elif name in frame.columns:
            exprs.append(c(name).cast(dtype).alias(name))
        else:
            exprs.append(pl.lit(None, dtype=dtype).alias(name))
    return frame.select(exprs)
