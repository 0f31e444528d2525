"""Assembly of the synthetic market: one underlying at a time, then the canonical tables and the truth."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from volengine.data.calendar import session_close_time
from volengine.data.schema import BARS, DIVIDENDS, EVENTS, MARKET_WIDE, RATES, VOL_INDEX
from volengine.datasets.synthetic import chain as ch
from volengine.datasets.synthetic.events import (
    KIND_FOMC,
    EventSet,
    covered_variance,
    earnings_events,
    event_returns,
    market_events,
    market_schedule,
)
from volengine.datasets.synthetic.model import (
    as_date_list,
    bars_from_path,
    draw_episodes,
    regimes,
    rng_for,
    sessions,
    short_rate,
    simulate_latent,
)
from volengine.datasets.synthetic.params import EPISODE_KINDS, REGIMES, Profile, SyntheticParams
from volengine.datasets.synthetic.surface import (
    jump_variances,
    model_free_variance,
    solve_theta,
    total_variance,
    variance_paths,
)

TENORS_DAYS: tuple[int, ...] = (7, 30, 60, 90)
RATE_TENORS_DAYS: tuple[int, ...] = (7, 30, 91, 182, 365)
Progress = Callable[[str, float], None]
RegimeDtype = pl.Enum(list(REGIMES))


@dataclass(frozen=True)
class Underlying:
    """Every frame generated for one underlying (canonical tables and truth)."""

    bars: pl.DataFrame
    quotes: pl.DataFrame
    vol_index: pl.DataFrame
    dividends: pl.DataFrame
    truth: pl.DataFrame
    truth_events: pl.DataFrame
    truth_surface: pl.DataFrame
    truth_episodes: pl.DataFrame


def _ssvi_params(prof: Profile, y_f: np.ndarray, steep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Daily ρ (mildly state dependent) and η; steep-skew episodes push ρ down and keep η(1 + |ρ|) ≤ 2."""
    rho = prof.ssvi_rho - 0.05 * np.tanh(y_f)
    rho_steep = max(prof.ssvi_rho - 0.18, -0.93)
    eta_steep = min(prof.ssvi_eta, 1.97 / (1.0 + abs(rho_steep)))
    rho = np.where(steep, rho_steep, rho)
    eta = np.where(steep, eta_steep, prof.ssvi_eta)
    return rho, eta


def _tenor_truth(ctx: dict[str, Any], p: SyntheticParams, ev: EventSet) -> dict[str, np.ndarray]:
    """True V_Q and P-expected variance per tenor (annualised), and the 30-day SSVI θ.

    V_Q is the model-free variance of the priced constant-maturity slice: θ solved from the diffusive and
    jump target, plus the implied event variance on θ (spec §3.5), as in the chain builder.
    """
    ext, dates, n = ctx["ext"], ctx["dates"], ctx["n"]
    d = np.arange(n)
    rho, eta, gamma, etas = ctx["rho"], ctx["eta"], ctx["gamma"], tuple(np.unique(ctx["eta"]))
    out: dict[str, np.ndarray] = {}
    for tau in TENORS_DAYS:
        last = np.searchsorted(ext, dates + np.timedelta64(tau, "D"), side="right") - 1
        t = tau / 365.0
        cal = np.full(n, float(tau))
        dq = p.delta(tau) + ctx["episodes"].delta_level + ctx["episodes"].delta_short * np.exp(-tau / 45.0)
        wq = total_variance(ctx["cum_q"], d, cal, ctx["m"] + dq, ctx["jump_q"])
        theta = solve_theta(wq, rho, eta, gamma, etas) + covered_variance(ev, d, last, am=False)
        wp = total_variance(ctx["cum_p"], d, cal, np.full(n, ctx["m"]), ctx["jump_p"])
        wp += covered_variance(ev, d, last, am=False, use_true=True)
        out[f"vq_{tau}d"] = model_free_variance(theta, rho, eta, gamma, etas) / t
        out[f"vp_{tau}d"] = wp / t
        if tau == 30:
            out["ssvi_theta_30d"] = theta
    return out


def _fwd_rv(log_ret: np.ndarray, window: int = 21) -> np.ndarray:
    """Realized variance of the next ``window`` close-to-close returns, annualised (NaN at the end)."""
    c = np.concatenate(([0.0], np.cumsum(log_ret**2)))
    out = np.full(log_ret.size, np.nan)
    k = log_ret.size - window
    if k > 0:
        out[:k] = (c[window + 1 : window + 1 + k] - c[1 : 1 + k]) * 252.0 / window
    return out


def chains(ctx: dict[str, Any], p: SyntheticParams, u: str,
           progress: Progress | None = None) -> tuple[pl.DataFrame, np.ndarray, np.ndarray, pl.DataFrame]:  # fmt: skip
    """Quote frames, Cboe index, dealer gamma and surface truth of sessions ``[0, ctx["n"])``, block by block.

    ``ctx`` is a :func:`latent_context`; the listing carries across blocks (strikes persist until expiry).
    """
    prof, ev = ctx["prof"], ctx["ev"]
    st = ch.DayState(
        ctx["ext"], ctx["close"], ctx["rate"], ctx["vol30"], ctx["rho"], ctx["eta"],
        ctx["episodes"].delta_level, ctx["episodes"].delta_short, ctx["cum_q"], ctx["m"], ctx["jump_q"], ev,
    )  # fmt: skip
    lst = ch.expiries(ctx["ext"])
    g = rng_for(ctx["seed"], u, "chain")
    carry = ch.OIState()
    listed = ch.ListState()
    day_dates = pl.Series("date", as_date_list(ctx["dates"]), dtype=pl.Date)
    quote_times = session_close_time(day_dates).cast(ch.OPTION_QUOTES["quote_time"])
    exp_dates = pl.Series("expiration", as_date_list(ctx["ext"][lst.idx]), dtype=pl.Date)
    n = ctx["n"]
    frames, surf = [], []
    vix = np.full(n, np.nan)
    gex = np.full(n, np.nan)
    for d0 in range(0, n, p.block_days):
        d1 = min(d0 + p.block_days, n)
        b = ch.build_block(st, lst, p, prof, d0, d1, g, carry, listed)
        frames.append(ch.quotes_frame(b, u, prof, day_dates, quote_times, exp_dates, g))
        vix[d0:d1] = b["vix"]
        gex[d0:d1] = b["gex"]
        surf.append(_surface_frame(b, u, ctx, day_dates, exp_dates))
        if progress is not None:
            progress("chains", d1 / n)
    return pl.concat(frames), vix, gex, pl.concat(surf)


def _surface_frame(b: dict[str, np.ndarray], u: str, ctx: dict[str, Any], day_dates: pl.Series,
                   exp_dates: pl.Series) -> pl.DataFrame:  # fmt: skip
    day = b["s_day"]
    return pl.DataFrame(
        {
            "date": day_dates.gather(day),
            "underlying": pl.Series([u] * day.size, dtype=pl.Categorical),
            "expiration": exp_dates.gather(b["s_exp"]),
            "tte_years": b["s_t"],
            "forward": b["s_fwd"],
            "theta": b["s_theta"],
            "rho": ctx["rho"][day],
            "eta": ctx["eta"][day],
            "gamma": np.full(day.size, ctx["gamma"]),
            "model_total_var": b["s_mfv"],
        }
    )


def latent_context(seed: int, underlying: str, dates: np.ndarray, ext: np.ndarray, p: SyntheticParams, *,
                   with_chains: bool = True) -> dict[str, Any]:  # fmt: skip
    """Latent path, events, tenor truth and SSVI parameters of one underlying: what the chains are built from.

    The dict carries the per-day arrays (``close``, ``rate``, ``vol30``, ``rho``, ``eta``, ``cum_q``, ...),
    ``n`` (sessions to build chains for), the profile ``prof``, the events ``ev``, the latent path ``lat``
    and the per-tenor truth ``tenor``.
    """
    prof = p.profile(underlying)
    n = dates.size
    episodes = draw_episodes(seed, underlying, n, p)
    if prof.is_index:
        ev = market_events(seed, ext, p, prof, episodes.event_premium)
    else:
        ev = earnings_events(seed, underlying, ext, p, prof, episodes.event_premium)
    lat = simulate_latent(seed, underlying, n, p, prof, event_returns(ev, n))
    close = prof.spot0 * np.exp(np.cumsum(lat.log_ret))
    rate_eff = p.jump_rate * (1.0 + max(1.0 - prof.beta**2, 0.0))
    smax = 265 if with_chains else 70
    jq, jp = jump_variances(p, rate_eff)
    rho, eta = _ssvi_params(prof, lat.y_fast, episodes.steep)
    ctx: dict[str, Any] = {
        "seed": seed, "ext": ext, "dates": dates, "n": n, "episodes": episodes, "m": lat.m, "jump_q": jq,
        "jump_p": jp, "rho": rho, "eta": eta, "gamma": prof.ssvi_gamma, "close": close,
        "rate": short_rate(ext[:n]),
        "cum_q": variance_paths(lat.y_slow, lat.y_fast, p, smax, q_measure=True, jump_rate=rate_eff),
        "cum_p": variance_paths(lat.y_slow, lat.y_fast, p, smax, q_measure=False, jump_rate=rate_eff),
        "prof": prof, "ev": ev, "lat": lat,
    }  # fmt: skip
    ctx["tenor"] = _tenor_truth(ctx, p, ev)
    ctx["vol30"] = 100.0 * np.sqrt(ctx["tenor"]["vq_30d"])
    return ctx


def generate_underlying(
    seed: int, underlying: str, dates: np.ndarray, ext: np.ndarray, p: SyntheticParams, *,
    with_chains: bool = True, progress: Progress | None = None,
) -> Underlying:  # fmt: skip
    """Generate every table and the truth of one underlying over the sessions ``dates``.

    ``ext`` extends ``dates`` by about 14 months so that long-dated expiries and upcoming events are known.
    ``progress(stage, fraction)`` is called after each stage (and each block of chains).
    """
    ctx = latent_context(seed, underlying, dates, ext, p, with_chains=with_chains)
    prof, ev, lat, n = ctx["prof"], ctx["ev"], ctx["lat"], ctx["n"]
    if progress is not None:
        progress("latent", 1.0)
    if with_chains:
        quotes, vix, gex, surface = chains(ctx, p, underlying, progress)
    else:
        quotes, vix, gex = pl.DataFrame(schema=ch.OPTION_QUOTES), ctx["vol30"].copy(), np.full(n, np.nan)
        surface = pl.DataFrame()
    bars = _bars(seed, underlying, dates, ctx["close"], lat.sigma, prof)
    divs = _dividends(underlying, dates, ctx["close"], prof)
    bars = _adjust(bars, divs)
    truth = _truth(underlying, dates, ctx["close"], lat, ctx["tenor"], ctx, gex, ctx["episodes"], ev, p)
    return Underlying(
        bars=bars,
        quotes=quotes,
        vol_index=_vol_index(dates, prof.vol_symbol or f"VX{underlying}", vix),
        dividends=divs,
        truth=truth,
        truth_events=_event_truth(underlying, ev, ext, n),
        truth_surface=surface,
        truth_episodes=_episode_truth(underlying, ctx["episodes"], dates),
    )


def _bars(seed: int, u: str, dates: np.ndarray, close: np.ndarray, sigma: np.ndarray, prof: Profile) -> pl.DataFrame:
    ohl = bars_from_path(seed, u, close, sigma, prof)
    frame = pl.DataFrame(
        {
            "date": pl.Series(as_date_list(dates), dtype=pl.Date),
            "underlying": pl.Series([u] * dates.size, dtype=pl.Categorical),
            "open": ohl["open"],
            "high": ohl["high"],
            "low": ohl["low"],
            "close": close,
            "volume": ohl["volume"],
            "adj_close": close,
        }
    )
    return frame.select([pl.col(k).cast(v) for k, v in BARS.items()])


def _dividends(u: str, dates: np.ndarray, close: np.ndarray, prof: Profile) -> pl.DataFrame:
    """Quarterly cash dividends of q/4 of the previous close, ex on the third Friday of quarter months."""
    if not prof.pays_dividends or dates.size < 2:
        return pl.DataFrame(schema=DIVIDENDS)
    lst = ch.expiries(dates)
    ex = lst.idx[(lst.kind == ch.QUARTERLY) & (lst.idx > 0)]
    amount = np.round(prof.div_yield / 4.0 * close[ex - 1], 4)
    frame = pl.DataFrame(
        {"ex_date": pl.Series(as_date_list(dates[ex]), dtype=pl.Date), "underlying": [u] * ex.size, "amount": amount}
    )
    return frame.select([pl.col(k).cast(v) for k, v in DIVIDENDS.items()])


def _adjust(bars: pl.DataFrame, divs: pl.DataFrame) -> pl.DataFrame:
    """``adj_close``: close times the product of (1 − D/C_prev) over later ex-dates (Yahoo convention)."""
    if divs.height == 0:
        return bars
    close = bars["close"].to_numpy()
    dates = bars["date"].to_numpy()
    ex = np.searchsorted(dates, divs["ex_date"].to_numpy())
    factor = np.ones(close.size)
    factor[ex - 1] = 1.0 - divs["amount"].to_numpy() / close[ex - 1]
    cum = np.cumprod(factor[::-1])[::-1]
    cum = np.concatenate((cum[1:], [1.0]))
    return bars.with_columns(adj_close=pl.Series(close * cum))


def _vol_index(dates: np.ndarray, symbol: str, vix: np.ndarray) -> pl.DataFrame:
    ok = np.isfinite(vix)
    frame = pl.DataFrame(
        {
            "date": pl.Series(as_date_list(dates[ok]), dtype=pl.Date),
            "symbol": [symbol] * int(ok.sum()),
            "close": np.round(vix[ok], 4),
        }
    )
    return frame.select(
        [(pl.col(k) if k in frame.columns else pl.lit(None)).cast(v).alias(k) for k, v in VOL_INDEX.items()]
    )


def _truth(u: str, dates: np.ndarray, close: np.ndarray, lat: Any, tenor: dict[str, np.ndarray], ctx: dict[str, Any],
           gex: np.ndarray, episodes: Any, ev: EventSet, p: SyntheticParams) -> pl.DataFrame:  # fmt: skip
    """Per-day truth: latent state, regime, jumps, V_Q / V_P per tenor, SSVI, event variance, GEX, episodes."""
    n = dates.size
    reg = regimes(ctx["vol30"], close)
    ev_var = np.zeros(n)
    ok = ev.eff_idx < n
    np.add.at(ev_var, ev.eff_idx[ok], ev.implied_var[ok])
    ep = [""] * n
    for k, a, b in zip(episodes.kind, episodes.start, episodes.stop, strict=True):
        for i in range(a, b):
            ep[i] = f"{ep[i]},{EPISODE_KINDS[k]}" if ep[i] else EPISODE_KINDS[k]
    cols: dict[str, Any] = {
        "date": pl.Series(as_date_list(dates), dtype=pl.Date),
        "underlying": pl.Series([u] * n, dtype=pl.Categorical),
        "spot": close, "sigma": lat.sigma, "y_slow": lat.y_slow, "y_fast": lat.y_fast,
        "regime": pl.Series([REGIMES[i] for i in reg], dtype=RegimeDtype),
        "is_jump": lat.jump_ret != 0.0, "jump_return": lat.jump_ret, "jump_vol": lat.jump_vol,
        "log_return": lat.log_ret, "rv_fwd_21d": _fwd_rv(lat.log_ret),
    }  # fmt: skip
    cols.update(tenor)
    cols.update(
        {
            "ssvi_rho": ctx["rho"],
            "ssvi_eta": ctx["eta"],
            "ssvi_gamma": np.full(n, ctx["gamma"]),
            "event_var": ev_var,
            "rate": ctx["rate"],
            "dealer_gex": gex,
            "dealer_gamma_sign": np.where(np.isfinite(gex), np.sign(np.nan_to_num(gex)), np.nan),
            "dealer_position_sign": np.full(n, p.dealer_gamma_sign, dtype=np.int8),
            "episode": pl.Series([e or None for e in ep], dtype=pl.String),
        }
    )
    return pl.DataFrame(cols)


def _event_truth(u: str, ev: EventSet, ext: np.ndarray, n: int) -> pl.DataFrame:
    keep = ev.date_idx < n
    return pl.DataFrame(
        {
            "date": pl.Series(as_date_list(ext[ev.date_idx[keep]]), dtype=pl.Date),
            "effective_date": pl.Series(as_date_list(ext[ev.eff_idx[keep]]), dtype=pl.Date),
            "underlying": pl.Series([u] * int(keep.sum()), dtype=pl.Categorical),
            "kind": ev.kind[keep].tolist(),
            "timing": ev.timing[keep].tolist(),
            "implied_var": ev.implied_var[keep],
            "true_var": ev.true_var[keep],
            "shock": ev.shock[keep],
            "realized_scale": np.sqrt(ev.true_var[keep] / ev.implied_var[keep]),
            "in_premium_episode": ev.premium[keep],
        }
    )


def _episode_truth(u: str, e: Any, dates: np.ndarray) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "underlying": pl.Series([u] * e.kind.size, dtype=pl.Categorical),
            "kind": [EPISODE_KINDS[k] for k in e.kind],
            "start_date": pl.Series(as_date_list(dates[e.start]), dtype=pl.Date),
            "end_date": pl.Series(as_date_list(dates[e.stop - 1]), dtype=pl.Date),
        }
    )


def events_table(ext: np.ndarray, n: int, earnings: list[pl.DataFrame]) -> pl.DataFrame:
    """Canonical ``events``: market-wide FOMC and CPI, plus each single name's earnings."""
    idx, kinds = market_schedule(ext)
    keep = idx < n
    rows = {
        "date": as_date_list(ext[idx[keep]]),
        "underlying": [MARKET_WIDE] * int(keep.sum()),
        "kind": kinds[keep].tolist(),
        "timing": ["during" if k == KIND_FOMC else "before_open" for k in kinds[keep]],
        "description": ["FOMC rate decision (synthetic)" if k == KIND_FOMC else "CPI release (synthetic)"
                        for k in kinds[keep]],
    }  # fmt: skip
    frame = pl.DataFrame(rows).with_columns(pl.col("date").cast(pl.Date))
    frames = [frame]
    for ev in earnings:
        frames.append(
            ev.select(
                "date",
                pl.col("underlying").cast(pl.String),
                "kind",
                "timing",
                pl.format("{} quarterly earnings (synthetic)", pl.col("underlying")).alias("description"),
            )
        )
    frame = pl.concat(frames).select([pl.col(k).cast(v) for k, v in EVENTS.items()])
    return frame.sort("date", "underlying", "kind", maintain_order=True)


def rates_table(dates: np.ndarray) -> pl.DataFrame:
    """Canonical ``rates``: the flat deterministic curve at a few tenors per day."""
    r = short_rate(dates)
    nt = len(RATE_TENORS_DAYS)
    frame = pl.DataFrame(
        {
            "date": pl.Series(as_date_list(np.repeat(dates, nt)), dtype=pl.Date),
            "tenor_days": np.tile(np.array(RATE_TENORS_DAYS, dtype=np.int32), dates.size),
            "rate": np.round(np.repeat(r, nt), 6),
        }
    )
    return frame.select([pl.col(k).cast(v) for k, v in RATES.items()])


def calendar(start: str, end: str) -> tuple[np.ndarray, np.ndarray]:
    """(sessions in [start, end], the same extended by 430 days) as ``datetime64[D]``."""
    stop = np.datetime64(str(end), "D") + np.timedelta64(430, "D")
    ext = sessions(str(start), str(stop))
    n = int(np.searchsorted(ext, np.datetime64(str(end), "D"), side="right"))
    return ext[:n], ext


def replace_profile(p: SyntheticParams, underlying: str, **changes: Any) -> SyntheticParams:
    """``p`` with the profile of ``underlying`` changed (helper for tests and sweeps)."""
    profiles = dict(p.profiles)
    profiles[underlying] = dataclasses.replace(p.profile(underlying), **changes)
    return dataclasses.replace(p, profiles=profiles)
