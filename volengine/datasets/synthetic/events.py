"""Scheduled events of the synthetic market (spec §3.5): FOMC, CPI and single-name earnings.

Each event has an *effective* session (the first close that reflects it: the same day for before-open and
intraday releases, the next session for after-close ones), an implied variance σ_E² that the Q surface
adds to the ATM total variance θ of every expiry after it, a true variance and a realized shock drawn from a
unit-variance Student-t.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from volengine.datasets.synthetic.model import rng_for
from volengine.datasets.synthetic.params import Profile, SyntheticParams

#: (month, day) anchors of the eight FOMC announcements of a year (the Wednesday of that week is used)
_FOMC_ANCHORS = ((1, 29), (3, 19), (5, 1), (6, 18), (7, 30), (9, 17), (11, 5), (12, 17))
KIND_FOMC, KIND_CPI, KIND_EARNINGS = "FOMC", "CPI", "earnings"


@dataclass(frozen=True)
class EventSet:
    """Events of one underlying (or the market), one entry per event."""

    date_idx: np.ndarray  # session index of the announcement (into the extended session array)
    eff_idx: np.ndarray  # session index of the first close reflecting it
    kind: np.ndarray  # str
    timing: np.ndarray  # str: before_open / during / after_close
    implied_var: np.ndarray  # σ_E², variance the surface prices in
    true_var: np.ndarray  # variance of the realized shock
    shock: np.ndarray  # realized log-return shock on the effective day
    premium: np.ndarray  # bool: inside an event-premium episode

    def __len__(self) -> int:
        return int(self.date_idx.size)


def _next_session(ext: np.ndarray, dates: np.ndarray) -> np.ndarray:
    return np.searchsorted(ext, dates.astype("datetime64[D]"), side="left")


def _years(ext: np.ndarray) -> range:
    y0 = int(ext[0].astype("datetime64[Y]").astype(int)) + 1970
    y1 = int(ext[-1].astype("datetime64[Y]").astype(int)) + 1970
    return range(y0, y1 + 1)


def market_schedule(ext: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Session indices and kinds of the market-wide events (FOMC Wednesdays, CPI near the 12th)."""
    days: list[np.datetime64] = []
    kinds: list[str] = []
    for y in _years(ext):
        for mo, d in _FOMC_ANCHORS:
            anchor = np.datetime64(f"{y}-{mo:02d}-{d:02d}")
            wd = (anchor.astype(np.int64) + 3) % 7  # Monday = 0
            days.append(anchor + (2 - wd))
            kinds.append(KIND_FOMC)
        for mo in range(1, 13):
            days.append(np.datetime64(f"{y}-{mo:02d}-12"))
            kinds.append(KIND_CPI)
    arr = np.array(days, dtype="datetime64[D]")
    idx = _next_session(ext, arr)
    keep = idx < ext.size
    order = np.argsort(idx[keep], kind="stable")
    return idx[keep][order], np.array(kinds)[keep][order]


def _shocks(g: np.random.Generator, n: int, true_sd: np.ndarray, dof: float) -> np.ndarray:
    t = g.standard_t(dof, n) * np.sqrt((dof - 2.0) / dof)
    return true_sd * t


def _scale(g: np.random.Generator, n: int, p: SyntheticParams, prem: np.ndarray) -> np.ndarray:
    """Realized / implied s.d. ratio: lognormal around 1, below 1/1.2 in event-premium episodes."""
    normal = np.exp(p.event_scale_sd * g.standard_normal(n) - 0.5 * p.event_scale_sd**2)
    rich = 1.0 / g.uniform(1.25, 1.5, n)
    return np.where(prem, rich, normal)


def market_events(seed: int, ext: np.ndarray, p: SyntheticParams, prof: Profile, prem_day: np.ndarray) -> EventSet:
    """FOMC and CPI events with the index variance law (same draws for every index: market stream)."""
    idx, kinds = market_schedule(ext)
    g = rng_for(seed, "market", "events")
    n = idx.size
    lo = np.where(kinds == KIND_FOMC, p.fomc_sd[0], p.cpi_sd[0])
    hi = np.where(kinds == KIND_FOMC, p.fomc_sd[1], p.cpi_sd[1])
    sd = g.uniform(lo, hi) * prof.vol_scale
    timing = np.where(kinds == KIND_FOMC, "during", "before_open")
    prem = _prem_at(prem_day, idx)
    scale = _scale(g, n, p, prem)
    # Gaussian macro shocks: a Student-t here would add index tail days beyond the 4-sigma band of spec §6 #6
    shock = sd * scale * g.standard_normal(n)
    return EventSet(idx, idx.copy(), kinds, timing, sd * sd, (sd * scale) ** 2, shock, prem)


def _prem_at(prem_day: np.ndarray, idx: np.ndarray) -> np.ndarray:
    ok = idx < prem_day.size
    out = np.zeros(idx.size, dtype=bool)
    out[ok] = prem_day[idx[ok]]
    return out


def earnings_events(
    seed: int, underlying: str, ext: np.ndarray, p: SyntheticParams, prof: Profile, prem_day: np.ndarray
) -> EventSet:
    """Quarterly earnings (anchor + name offset, jittered ±3 days), a fixed BMO/AMC habit per name."""
    g = rng_for(seed, underlying, "earnings")
    offset = int(g.integers(0, 21))
    is_amc = bool(g.random() < 0.7)
    days = []
    for y in _years(ext):
        for mo in (1, 4, 7, 10):
            days.append(np.datetime64(f"{y}-{mo:02d}-18") + offset + int(g.integers(-3, 4)))
    idx = _next_session(ext, np.array(days, dtype="datetime64[D]"))
    idx = idx[idx < ext.size - 1]
    n = idx.size
    eff = idx + 1 if is_amc else idx.copy()
    sd = prof.earnings_sd * np.exp(p.earnings_log_sd * g.standard_normal(n))
    prem = _prem_at(prem_day, idx)
    scale = _scale(g, n, p, prem)
    shock = _shocks(g, n, sd * scale, p.event_t_dof)
    kinds = np.full(n, KIND_EARNINGS)
    timing = np.full(n, "after_close" if is_amc else "before_open")
    return EventSet(idx, eff, kinds, timing, sd * sd, (sd * scale) ** 2, shock, prem)


def event_returns(ev: EventSet, n_days: int) -> np.ndarray:
    """Sum of realized event shocks per session of the simulated range (shape (n_days,))."""
    out = np.zeros(n_days)
    ok = ev.eff_idx < n_days
    np.add.at(out, ev.eff_idx[ok], ev.shock[ok])
    return out


def covered_variance(
    ev: EventSet, day_idx: np.ndarray, expiry_idx: np.ndarray, *, am: np.ndarray | bool, use_true: bool = False
) -> np.ndarray:
    """Implied (or, with ``use_true``, true) event variance in ``(day, expiry]`` for each pair.

    AM expiries exclude their own day. Uses a cumulative sum over sessions, so the cost is
    O(pairs + sessions) with no event loop.
    """
    n = int(max(expiry_idx.max(initial=0), ev.eff_idx.max(initial=0))) + 2
    per = np.zeros(n)
    np.add.at(per, ev.eff_idx, ev.true_var if use_true else ev.implied_var)
    cum = np.concatenate(([0.0], np.cumsum(per)))  # cum[i] = variance of sessions < i
    last = np.where(am, expiry_idx, expiry_idx + 1)
    return cum[last] - cum[day_idx + 1]
