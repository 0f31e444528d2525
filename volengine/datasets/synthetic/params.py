"""Parameters of the synthetic market: model constants (spec §4.1) and per-underlying listing profiles.

Every number that shapes the generated market lives here, so a run is reproducible from ``(seed, params)``
alone and :func:`params_hash` identifies the parameter set in caches and audit records.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from volengine.errors import ConfigError

#: version of the generator's algorithm: bump it whenever the same (seed, params) produce different numbers, so
#: caches keyed on it (:func:`volengine.datasets.cache.cache_key`) are rebuilt. History: 1, first release;
#: 2, scheduled-event variance added to the SSVI θ instead of the model-free target (spec §3.5); 3, listed strikes
#: persist until expiry (each day quotes the union of the daily grids since the expiry was first listed).
GENERATOR_VERSION: int = 3
#: the five regime names of the regime engine, in the order of :func:`volengine.datasets.synthetic.model.regimes`
REGIMES: tuple[str, ...] = ("LOW_VOL_GRIND", "HIGH_VOL_PANIC", "TREND_UP", "TREND_DOWN", "CHOP")
#: kinds of injected edge episodes (windows where one edge is deliberately strong)
EPISODE_KINDS: tuple[str, ...] = ("vrp_rich", "vrp_cheap", "backwardation", "steep_skew", "event_premium")


@dataclass(frozen=True)
class Profile:
    """Listing, surface and microstructure profile of one underlying.

    Attributes are in canonical units: vols and yields decimal, prices in dollars, spreads in vol points.
    """

    spot0: float
    vol_scale: float = 1.0  # multiplies the latent vol exp(m + y_s + y_f)
    beta: float = 1.0  # loading of the return and vol shocks on the market shocks
    div_yield: float = 0.016
    is_index: bool = True
    vol_symbol: str = "VIX"
    roots: tuple[str, str] = ("SPY", "SPY")  # (monthly root, weekly root)
    styles: tuple[str, str] = ("american", "american")
    settlements: tuple[str, str] = ("PM", "PM")
    fine_step: float = 1.0
    coarse_step: float = 5.0
    ssvi_rho: float = -0.75
    ssvi_eta: float = 1.10
    ssvi_gamma: float = 0.45
    h0: float = 0.025  # half-spread at the money, 30 days, VIX 16, in vol points
    spread_a: float = 0.35
    spread_p: float = 1.5
    spread_b: float = 0.9  # tuned up from 0.7: tick rounding damps the VIX elasticity of quoted spreads
    spread_c: float = 0.25
    tick_small: float = 0.01  # tick below tick_switch
    tick_large: float = 0.01
    tick_switch: float = 3.0
    pc_oi: float = 1.8  # put/call open-interest scale
    oi_scale: float = 20000.0  # contracts at the peak of a monthly's strike bump
    earnings_sd: float = 0.0  # median earnings-move s.d. (0 = no earnings)
    volume0: float = 8.0e7  # shares per day at vol 16 %
    pays_dividends: bool = True  # cash dividends table rows (the yield is priced either way)


SPY = Profile(spot0=127.5)
SPX = Profile(
    spot0=1275.0,
    div_yield=0.016,
    roots=("SPX", "SPXW"),
    styles=("european", "european"),
    settlements=("AM", "PM"),
    fine_step=5.0,
    coarse_step=25.0,
    h0=0.06,
    spread_a=0.8,  # at 0.3 the 10Δ-put median sat on the 3 % floor of §6 #10 (one 0.10 tick on ~$3.3)
    tick_small=0.05,
    tick_large=0.10,
    oi_scale=12000.0,
    volume0=0.0,
    pays_dividends=False,
)
QQQ = Profile(
    spot0=56.0, vol_scale=1.18, beta=0.92, div_yield=0.008, vol_symbol="VXN", roots=("QQQ", "QQQ"),
    ssvi_rho=-0.70, ssvi_eta=1.10, h0=0.04, oi_scale=9000.0, volume0=4.5e7, pc_oi=1.6,
)  # fmt: skip
IWM = Profile(
    spot0=74.0, vol_scale=1.3, beta=0.88, div_yield=0.013, vol_symbol="RVX", roots=("IWM", "IWM"),
    ssvi_rho=-0.65, ssvi_eta=1.15, h0=0.05, oi_scale=9000.0, volume0=3.5e7, pc_oi=1.7,
)  # fmt: skip
STOCK = Profile(
    spot0=100.0, vol_scale=1.75, beta=0.6, div_yield=0.01, is_index=False, vol_symbol="", ssvi_rho=-0.42,
    ssvi_eta=0.75, h0=0.25, tick_large=0.05, pc_oi=0.7, oi_scale=4000.0, earnings_sd=0.045, volume0=2.0e7,
)  # fmt: skip
PROFILES: dict[str, Profile] = {"SPY": SPY, "SPX": SPX, "QQQ": QQQ, "IWM": IWM}


@dataclass(frozen=True)
class SyntheticParams:
    """Model constants of spec §4.1 plus listing, event and episode settings.

    Log-vol factors are exp-OU in trading days; jumps are per year; ``delta_*`` is the Q long-run shift of
    log-vol, ``delta(tau) = delta_30 + delta_slope (tau - 30) / 61`` capped at ``delta_cap``.
    """

    m: float = math.log(0.125)
    slow_sd: float = 0.36
    slow_half_life: float = 250.0
    fast_sd: float = 0.32
    fast_half_life: float = 20.0
    rho: float = -0.80
    jump_rate: float = 0.8
    jump_mean: float = -0.03
    jump_sd: float = 0.02
    vol_jump: float = 0.20
    vol_cap: float = 1.5
    drift: float = 0.07  # P drift of log price (equity premium), per year
    delta_30: float = 0.11
    delta_slope: float = 0.045
    delta_cap: float = 0.20
    q_jump_mult: float = 2.0
    q_jump_mean: float = -0.05
    q_jump_sd: float = 0.03
    q_vol_jump: float = 0.20
    fomc_sd: tuple[float, float] = (0.009, 0.012)
    cpi_sd: tuple[float, float] = (0.005, 0.008)
    event_t_dof: float = 5.0
    event_scale_sd: float = 0.10  # log s.d. of realized/implied event scale outside episodes
    earnings_log_sd: float = 0.30
    episodes_per_year: float = 0.4  # per kind and underlying
    episode_days: tuple[int, int] = (8, 20)
    weekly_horizon_days: int = 45
    monthly_horizon_days: int = 370
    strike_sd: tuple[float, float] = (4.5, 3.5)  # listed range below / above the forward, in s.d.
    fine_half_count: int = 30  # fine-grid strikes each side of the money (at most)
    coarse_side_count: int = 12  # coarse-grid strikes per wing (at most)
    fine_band_sd: float = 1.5
    oi_persistence: float = 0.97
    oi_noise_sd: float = 0.5
    volume_shape: float = 1.2
    volume_mean: float = 0.08
    dealer_gamma_sign: int = 1  # +1: dealers long calls / short puts (customers buy puts, overwrite calls)
    block_days: int = 126
    profiles: Mapping[str, Profile] = field(default_factory=lambda: dict(PROFILES))

    def profile(self, underlying: str) -> Profile:
        """Profile of ``underlying``: a named preset, else a single-stock profile."""
        if underlying in self.profiles:
            return self.profiles[underlying]
        return dataclasses.replace(STOCK, roots=(underlying, underlying), vol_symbol=f"VX{underlying}")

    def delta(self, tau_days: Any) -> Any:
        """Q long-run shift of log-vol for a horizon of ``tau_days`` calendar days."""
        import numpy as np

        d = self.delta_30 + self.delta_slope * (np.asarray(tau_days, dtype=np.float64) - 30.0) / 61.0
        return np.clip(d, 0.0, self.delta_cap)


def resolve_params(params: SyntheticParams | Mapping[str, Any] | None) -> SyntheticParams:
    """``None`` gives the defaults, a mapping overrides named fields, a :class:`SyntheticParams` passes.

    Raises
    ------
    ConfigError
        A mapping names an unknown field.
    """
    if params is None:
        return SyntheticParams()
    if isinstance(params, SyntheticParams):
        return params
    names = {f.name for f in dataclasses.fields(SyntheticParams)}
    unknown = sorted(set(params) - names)
    if unknown:
        msg = f"synthetic_market: params: unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(names))}"
        raise ConfigError(msg)
    return SyntheticParams(**dict(params))


def params_dict(params: SyntheticParams) -> dict[str, Any]:
    """JSON-ready dict of ``params`` (profiles included)."""
    out = dataclasses.asdict(params)
    out["profiles"] = {k: dataclasses.asdict(v) for k, v in sorted(params.profiles.items())}
    return out


def params_hash(params: SyntheticParams) -> str:
    """Short sha256 of the canonical JSON of ``params``: identifies a parameter set in caches."""
    text = json.dumps(params_dict(params), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]
