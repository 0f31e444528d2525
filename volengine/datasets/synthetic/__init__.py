"""The embedded default market: a seeded synthetic US option market with ground truth.

:func:`synthetic_market` simulates a two-factor log-vol underlying with co-jumps (P measure), prices
daily option chains from an SSVI surface driven by the Q-expected variance, quotes them with a vol-point
spread model, recomputes a Cboe-formula 30-day index from the chain, and emits the truth (latent state,
regimes, jumps, events, true V_Q per tenor, SSVI parameters, dealer gamma, injected edge episodes).
Specification: ``research/market-model.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from volengine.datasets.synthetic.market import (
    Underlying,
    calendar,
    events_table,
    generate_underlying,
    rates_table,
)
from volengine.datasets.synthetic.params import (
    EPISODE_KINDS,
    GENERATOR_VERSION,
    REGIMES,
    Profile,
    SyntheticParams,
    params_dict,
    params_hash,
    resolve_params,
)
from volengine.errors import ConfigError

__all__ = [
    "EPISODE_KINDS",
    "GENERATOR_VERSION",
    "REGIMES",
    "Profile",
    "SyntheticMarket",
    "SyntheticParams",
    "params_dict",
    "params_hash",
    "synthetic_market",
]


@dataclass(frozen=True)
class SyntheticMarket:
    """A generated market: canonical tables, ground truth, and what reproduces it.

    Attributes
    ----------
    bars, quotes, vol_index, events, rates, dividends : polars.DataFrame
        Canonical tables (:mod:`volengine.data.schema`); ``quotes`` is empty without chains and
        ``vol_index`` is then the model value ``100·√V_Q(30d)`` instead of the chain's Cboe index.
    truth : polars.DataFrame
        Per underlying and day: ``sigma``, ``y_slow``, ``y_fast``, ``regime``, jumps, ``vq_{7,30,60,90}d`` and
        ``vp_*`` (Q model-free and P-expected variance, annualised; ``vq`` is the model-free variance of the
        priced slice, whose θ carries the implied event variance), ``rv_fwd_21d``, ``ssvi_theta_30d``,
        ``ssvi_rho/eta/gamma``, ``event_var``, ``dealer_gex`` and its sign, ``episode``.
    truth_events : polars.DataFrame
        Per event: implied and true variance, realized shock, realized/implied scale, premium flag.
    truth_surface : polars.DataFrame
        Per day and listed expiry: time, forward, SSVI θ (event variance included), ρ, η, γ and the slice's
        model-free total variance.
    truth_episodes : polars.DataFrame
        Injected edge episodes: underlying, kind (:data:`EPISODE_KINDS`), first and last day.
    params : SyntheticParams
    seed : int
    """

    bars: pl.DataFrame
    quotes: pl.DataFrame
    vol_index: pl.DataFrame
    events: pl.DataFrame
    rates: pl.DataFrame
    dividends: pl.DataFrame
    truth: pl.DataFrame
    truth_events: pl.DataFrame
    truth_surface: pl.DataFrame
    truth_episodes: pl.DataFrame
    params: SyntheticParams
    seed: int

    def tables(self) -> dict[str, pl.DataFrame]:
        """The canonical tables by Store dataset name."""
        return {
            "option_quotes": self.quotes,
            "bars": self.bars,
            "vol_index": self.vol_index,
            "events": self.events,
            "rates": self.rates,
            "dividends": self.dividends,
        }


def _check_args(seed: Any, underlyings: Sequence[str]) -> tuple[str, ...]:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        msg = f"synthetic_market: seed must be a non-negative int; got {seed!r}"
        raise ConfigError(msg)
    names = tuple(str(u).strip().upper() for u in underlyings)
    if not names or any(not u.isalnum() for u in names) or len(set(names)) != len(names):
        msg = f"synthetic_market: underlyings must be distinct alphanumeric symbols; got {underlyings!r}"
        raise ConfigError(msg)
    return names


def synthetic_market(
    seed: int = 0,
    start: str = "2012-01-03",
    end: str = "2024-12-31",
    underlyings: Sequence[str] = ("SPY",),
    *,
    params: SyntheticParams | Mapping[str, Any] | None = None,
    with_chains: bool = True,
) -> SyntheticMarket:
    """Generate the seeded synthetic market on the XNYS sessions of ``[start, end]``.

    Parameters
    ----------
    seed : int
        Seed of every random stream (same seed and params: byte-identical frames).
    start, end : str
        ISO dates (inclusive).
    underlyings : sequence of str
        Symbols; SPY, SPX, QQQ and IWM have index presets, any other symbol is a single stock with earnings.
    params : SyntheticParams or mapping, optional
        Model parameters, or field overrides of the defaults.
    with_chains : bool, keyword-only
        Build daily option chains (the slow part); without them ``quotes`` is empty.

    Returns
    -------
    SyntheticMarket

    Examples
    --------
    >>> m = synthetic_market(seed=1, start="2020-01-02", end="2020-03-31", with_chains=False)
    >>> m.truth.height == m.bars.height
    True
    """
    names = _check_args(seed, underlyings)
    p = resolve_params(params)
    dates, ext = calendar(start, end)
    if dates.size < 2:
        msg = f"synthetic_market: [{start}, {end}] holds fewer than two XNYS sessions"
        raise ConfigError(msg)
    parts = [generate_underlying(seed, u, dates, ext, p, with_chains=with_chains) for u in names]
    return assemble(parts, names, dates, ext, p, seed)


def assemble(
    parts: list[Underlying], names: tuple[str, ...], dates: Any, ext: Any, p: SyntheticParams, seed: int
) -> SyntheticMarket:
    """Combine per-underlying parts into one :class:`SyntheticMarket` (shared events and rates tables)."""
    vol_index = _unique_symbols(parts, names)
    earnings = [x.truth_events for u, x in zip(names, parts, strict=True) if not p.profile(u).is_index]
    with_chains = any(x.truth_surface.height for x in parts)
    return SyntheticMarket(
        bars=pl.concat([x.bars for x in parts]),
        quotes=pl.concat([x.quotes for x in parts]),
        vol_index=vol_index,
        events=events_table(ext, dates.size, earnings),
        rates=rates_table(dates),
        dividends=pl.concat([x.dividends for x in parts]),
        truth=pl.concat([x.truth for x in parts]),
        truth_events=pl.concat([x.truth_events for x in parts]),
        truth_surface=pl.concat([x.truth_surface for x in parts if x.truth_surface.height]) if with_chains
        else pl.DataFrame(),
        truth_episodes=pl.concat([x.truth_episodes for x in parts]),
        params=p,
        seed=seed,
    )  # fmt: skip


def _unique_symbols(parts: list[Underlying], names: tuple[str, ...]) -> pl.DataFrame:
    """Concatenate the per-underlying indices; a symbol taken twice (SPY and SPX: VIX) gets ``_<UNDERLYING>``."""
    seen: set[str] = set()
    frames = []
    for u, part in zip(names, parts, strict=True):
        sym = part.vol_index["symbol"].cast(pl.String).first() if part.vol_index.height else None
        frame = part.vol_index
        if sym is not None and sym in seen:
            frame = frame.with_columns(pl.lit(f"{sym}_{u}").cast(pl.Categorical).alias("symbol"))
        seen.add(str(sym))
        frames.append(frame)
    return pl.concat(frames)
