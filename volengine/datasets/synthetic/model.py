"""Latent P-measure dynamics of the synthetic market (spec §3.1-§3.2): calendar, rates, vol factors, returns.

σ_t = vol_scale · exp(m + y^s_t + y^f_t); each factor is a Gaussian AR(1) in trading days with leverage
(ε = ρ z + √(1 − ρ²) u) and the fast factor takes the vol part of co-jumps. Both recursions are linear,
so they run as :func:`scipy.signal.lfilter` over the whole path: no per-day Python loop.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from volengine.datasets.synthetic.params import EPISODE_KINDS, REGIMES, Profile, SyntheticParams

DT = 1.0 / 252.0
#: (date, short rate) knots of the deterministic rate path, loosely following US policy rates
_RATE_KNOTS = (
    ("2000-01-01", 0.055), ("2001-12-31", 0.018), ("2004-06-30", 0.012), ("2006-07-01", 0.052),
    ("2007-09-01", 0.048), ("2008-03-31", 0.022), ("2008-12-31", 0.0015), ("2015-11-30", 0.0012),
    ("2016-01-15", 0.0035), ("2017-01-15", 0.0065), ("2017-12-31", 0.0135), ("2018-12-31", 0.024),
    ("2019-07-15", 0.023), ("2019-11-15", 0.0155), ("2020-03-31", 0.0008), ("2022-02-28", 0.001),
    ("2022-07-31", 0.0235), ("2022-12-31", 0.043), ("2023-08-01", 0.053), ("2024-08-31", 0.053),
    ("2024-12-31", 0.044),
)  # fmt: skip


def rng_for(seed: int, *tags: int | str) -> np.random.Generator:
    """Independent PCG64 stream for ``(seed, tags...)``; strings are hashed with CRC32 (stable across runs)."""
    words = [int(seed)] + [zlib.crc32(t.encode()) if isinstance(t, str) else int(t) for t in tags]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(words)))


def sessions(start: str, end: str) -> np.ndarray:
    """XNYS sessions in ``[start, end]`` as ``datetime64[D]`` (from :mod:`volengine.data.calendar`)."""
    from volengine.data.calendar import sessions as xnys_sessions

    return xnys_sessions(str(start), str(end)).to_numpy().astype("datetime64[D]")


def short_rate(dates: np.ndarray) -> np.ndarray:
    """Deterministic short rate (continuously compounded, decimal) for each date."""
    kd = np.array([np.datetime64(d, "D") for d, _ in _RATE_KNOTS]).astype(np.int64)
    kr = np.array([r for _, r in _RATE_KNOTS])
    return np.interp(dates.astype("datetime64[D]").astype(np.int64), kd, kr)


@dataclass(frozen=True)
class LatentPath:
    """The simulated P-measure path of one underlying (arrays of shape (n_days,))."""

    y_slow: np.ndarray
    y_fast: np.ndarray
    sigma: np.ndarray  # annualised latent vol at the close of each day (drives the next day's return)
    log_ret: np.ndarray  # close-to-close log return of each day (0 on the first day)
    jump_ret: np.ndarray
    jump_vol: np.ndarray
    m: float  # log base vol including the profile's vol scale


def _mixed(mkt: np.ndarray, idio: np.ndarray, beta: float) -> np.ndarray:
    return beta * mkt + np.sqrt(max(1.0 - beta * beta, 0.0)) * idio


def _shocks(seed: int, underlying: str, n: int, beta: float) -> dict[str, np.ndarray]:
    """Standard normal shocks (z, u_slow, u_fast, init) mixing the market stream and the name's own stream."""
    mkt = rng_for(seed, "market", "latent").standard_normal((5, n))
    idio = rng_for(seed, underlying, "latent").standard_normal((5, n))
    return {k: _mixed(mkt[i], idio[i], beta) for i, k in enumerate(("z", "us", "uf", "a", "b"))}


def _jumps(seed: int, underlying: str, n: int, p: SyntheticParams, beta: float) -> tuple[np.ndarray, np.ndarray]:
    """Co-jumps: market jumps for every name, own jumps for the idiosyncratic share (1 - β²) of the intensity."""
    out_r = np.zeros(n)
    out_v = np.zeros(n)
    for tag, rate in (("market", p.jump_rate), (underlying, p.jump_rate * max(1.0 - beta * beta, 0.0))):
        g = rng_for(seed, tag, "jumps")
        hit = g.random(n) < rate * DT
        size = g.normal(p.jump_mean, p.jump_sd, n)
        vol = p.vol_jump * g.standard_exponential(n)
        out_r += np.where(hit, size, 0.0)
        out_v += np.where(hit, vol, 0.0)
    return out_r, out_v


def ar_coeffs(p: SyntheticParams) -> tuple[float, float, float, float]:
    """(φ_slow, ξ_slow, φ_fast, ξ_fast) of the two log-vol factors."""
    phs = 0.5 ** (1.0 / p.slow_half_life)
    phf = 0.5 ** (1.0 / p.fast_half_life)
    return phs, p.slow_sd * np.sqrt(1 - phs * phs), phf, p.fast_sd * np.sqrt(1 - phf * phf)


def simulate_latent(
    seed: int, underlying: str, n: int, p: SyntheticParams, prof: Profile, event_ret: np.ndarray
) -> LatentPath:
    """Simulate factors, vol and returns for ``n`` trading days; ``event_ret`` adds event shocks to returns.

    Notes
    -----
    ``y_{t+1} = φ y_t + ξ ε_{t+1}`` with ``ε = ρ z + √(1 − ρ²) u``, the fast factor also takes ``jx·Exp(1)``
    on co-jump days, and ``r_{t+1} = μΔt − ½σ_t²Δt + σ_t √Δt z_{t+1} + J_{t+1}``.
    """
    sh = _shocks(seed, underlying, n, prof.beta)
    jr, jv = _jumps(seed, underlying, n, p, prof.beta)
    phs, xis, phf, xif = ar_coeffs(p)
    rho = p.rho
    es = rho * sh["z"] + np.sqrt(1 - rho * rho) * sh["us"]
    ef = rho * sh["z"] + np.sqrt(1 - rho * rho) * sh["uf"]
    drive_s = xis * es
    drive_f = xif * ef + jv
    drive_s[0] = p.slow_sd * sh["a"][0]
    drive_f[0] = p.fast_sd * sh["b"][0]  # the first day's state is a stationary draw
    from scipy.signal import lfilter  # scipy.signal costs seconds to import: only when generating

    y_s = lfilter([1.0], [1.0, -phs], drive_s)
    y_f = lfilter([1.0], [1.0, -phf], drive_f)
    m = p.m + np.log(prof.vol_scale)
    sigma = np.minimum(np.exp(m + y_s + y_f), p.vol_cap)
    prev = np.concatenate(([sigma[0]], sigma[:-1]))
    ret = (p.drift - 0.5 * prev * prev) * DT + prev * np.sqrt(DT) * sh["z"] + jr + event_ret
    ret[0] = 0.0
    jr = jr.copy()
    jr[0] = 0.0
    return LatentPath(y_s, y_f, sigma, ret, jr, jv, float(m))


def bars_from_path(
    seed: int, underlying: str, close: np.ndarray, sigma: np.ndarray, prof: Profile
) -> dict[str, np.ndarray]:
    """Open/high/low/volume around the simulated closes (low <= open, close <= high by construction)."""
    g = rng_for(seed, underlying, "bars")
    n = close.size
    prev = np.concatenate(([close[0]], close[:-1]))
    sd = sigma * np.sqrt(DT)
    gap = np.exp(0.25 * sd * g.standard_normal(n))
    open_ = np.where(np.arange(n) == 0, close, prev * gap)
    hi = np.maximum(open_, close) * np.exp(np.abs(0.6 * sd * g.standard_normal(n)))
    lo = np.minimum(open_, close) * np.exp(-np.abs(0.6 * sd * g.standard_normal(n)))
    vol0 = prof.volume0 if prof.volume0 > 0 else 0.0
    volume = np.round(vol0 * (sigma / 0.16) ** 1.2 * np.exp(0.3 * g.standard_normal(n)))
    return {"open": open_, "high": hi, "low": lo, "volume": volume}


def regimes(vol30_pts: np.ndarray, close: np.ndarray, *, low: float = 15.0, high: float = 25.0) -> np.ndarray:
    """Regime label index into :data:`REGIMES` from the true 30-day vol and the trailing 63-day trend.

    Rule, first match wins: ``HIGH_VOL_PANIC`` if vol ≥ ``high``; ``LOW_VOL_GRIND`` if vol < ``low`` and the
    trailing 63-day log return is ≥ 0; ``TREND_UP`` if that return > +4 %; ``TREND_DOWN`` if < −4 %; else
    ``CHOP``. Only data up to the day itself is used (no look-ahead). Vol is ``100·√V_Q(30d)``, the
    VIX-equivalent of the latent state, with the regime engine's VIX thresholds.
    """
    lc = np.log(close)
    trend = np.full(close.size, 0.0)
    trend[63:] = lc[63:] - lc[:-63]
    trend[:63] = lc[:63] - lc[0]
    out = np.full(close.size, REGIMES.index("CHOP"), dtype=np.int8)
    out[trend < -0.04] = REGIMES.index("TREND_DOWN")
    out[trend > 0.04] = REGIMES.index("TREND_UP")
    out[(vol30_pts < low) & (trend >= 0)] = REGIMES.index("LOW_VOL_GRIND")
    out[vol30_pts >= high] = REGIMES.index("HIGH_VOL_PANIC")
    return out


@dataclass(frozen=True)
class Episodes:
    """Injected edge episodes: one row per episode plus per-day Q-layer modifiers."""

    kind: np.ndarray  # int8 index into EPISODE_KINDS
    start: np.ndarray  # int64 day index
    stop: np.ndarray  # int64, exclusive
    delta_level: np.ndarray  # per day, added to the Q shift at every tenor
    delta_short: np.ndarray  # per day, added with weight exp(-tau / 45)
    steep: np.ndarray  # bool per day: steep-skew SSVI parameters
    event_premium: np.ndarray  # bool per day: implied event variance above the true one


def draw_episodes(seed: int, underlying: str, n: int, p: SyntheticParams) -> Episodes:
    """Draw episode windows (Poisson count per kind, uniform starts, uniform lengths)."""
    g = rng_for(seed, underlying, "episodes")
    kinds, starts, stops = [], [], []
    years = n / 252.0
    for k in range(len(EPISODE_KINDS)):
        count = int(g.poisson(p.episodes_per_year * years))
        length = g.integers(p.episode_days[0], p.episode_days[1] + 1, count)
        start = np.sort(g.integers(0, max(n - 5, 1), count))
        kinds += [k] * count
        starts += list(start)
        stops += list(np.minimum(start + length, n))
    kind = np.array(kinds, dtype=np.int8)
    start = np.array(starts, dtype=np.int64)
    stop = np.array(stops, dtype=np.int64)
    level = np.zeros(n)
    short = np.zeros(n)
    steep = np.zeros(n, dtype=bool)
    prem = np.zeros(n, dtype=bool)
    for kk, a, b in zip(kind, start, stop, strict=True):
        name = EPISODE_KINDS[kk]
        # level shifts fade in and out over three days: a one-day jump would be a VIX move unrelated to returns
        ramp = np.minimum(np.minimum(np.arange(1, b - a + 1), np.arange(b - a, 0, -1)) / 3.0, 1.0)
        if name == "vrp_rich":
            level[a:b] += 0.18 * ramp
        elif name == "vrp_cheap":
            level[a:b] -= 0.22 * ramp
        elif name == "backwardation":
            short[a:b] += 0.50 * ramp
        elif name == "steep_skew":
            steep[a:b] = True
        else:
            prem[a:b] = True
    return Episodes(kind, start, stop, level, short, steep, prem)


def as_date_list(dates: np.ndarray) -> Any:
    """``datetime64[D]`` array to a list of :class:`datetime.date` (for polars)."""
    return dates.astype("datetime64[D]").tolist()
