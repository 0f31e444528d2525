"""Q layer of the synthetic market (spec §3.3-§3.4): model-free implied variance, SSVI slices, Cboe VIX.

* :func:`variance_paths` gives, per day, the cumulative expected variance of the next ``s`` sessions under
  Q and under P in closed form (lognormal factors, compound-Poisson vol jumps).
* :func:`solve_theta` root-finds the SSVI ATM total variance θ whose model-free (VIX-formula) variance
  equals a target, through a tabulated ratio MFV(θ)/θ; :func:`model_free_variance` is its inverse (used
  after scheduled-event variance has been added to θ, spec §3.5).
* :func:`cboe_vix` runs the Cboe VIX methodology on quoted chains.

References: J. Gatheral, A. Jacquier, "Arbitrage-free SVI volatility surfaces", Quant. Finance 14(1), 2014,
https://arxiv.org/abs/1204.0646; Cboe VIX white paper, https://cdn.cboe.com/api/global/us_indices/governance/VIX_Methodology.pdf
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from volengine.datasets.synthetic._nb import cboe_slice_variance_nb
from volengine.datasets.synthetic.model import DT, ar_coeffs
from volengine.datasets.synthetic.params import SyntheticParams
from volengine.kernels import black_price

_THETA_GRID = np.exp(np.linspace(np.log(1e-6), np.log(6.0), 90))
_RHO_GRID = np.linspace(-0.95, -0.20, 31)
_N_K = 1601


def _jump_comp(rate: float, mean: float, sd: float) -> float:
    """Model-free variance added per year by jumps: 2λ(E e^J − 1 − E J)."""
    return 2.0 * rate * (np.exp(mean + 0.5 * sd * sd) - 1.0 - mean)


def variance_paths(
    y_s: np.ndarray, y_f: np.ndarray, p: SyntheticParams, smax: int, *, q_measure: bool, jump_rate: float
) -> np.ndarray:
    """Cumulative ``Σ_{s≤n} E[σ²_{t+s}] / exp(2 m)`` per day ``t`` and ``n = 0..smax`` (shape (days, smax+1)).

    Notes
    -----
    ``E[σ²_{t+s}] = exp(2μ_s + 2V_s) · exp(K_s)`` with ``μ_s = m + φ_s^s y^s_t + φ_f^s y^f_t``,
    ``V_s`` the conditional variance of both factors plus their covariance (innovation correlation ρ²) and
    ``K_s = λΔt Σ_{i<s} (1/(1 − 2 j_x φ_f^i) − 1)`` from exponential vol jumps. The Q shift ``exp(2δ)``
    multiplies the result later because δ depends on the option's horizon.
    """
    phs, xis, phf, xif = ar_coeffs(p)
    s = np.arange(1, smax + 1, dtype=np.float64)
    v = p.slow_sd**2 * (1 - phs ** (2 * s)) + p.fast_sd**2 * (1 - phf ** (2 * s))
    v += 2 * p.rho**2 * xis * xif * (1 - (phs * phf) ** s) / (1 - phs * phf)
    jx = p.q_vol_jump if q_measure else p.vol_jump
    lam = jump_rate * (p.q_jump_mult if q_measure else 1.0)
    per = 1.0 / (1.0 - 2.0 * jx * phf ** (s - 1.0)) - 1.0
    k = lam * DT * np.cumsum(per)
    c = np.exp(2.0 * v + k)
    expo = 2.0 * (np.outer(y_s, phs**s) + np.outer(y_f, phf**s))
    body = np.exp(expo) * c
    out = np.zeros((y_s.size, smax + 1))
    np.cumsum(body, axis=1, out=out[:, 1:])
    return out


def total_variance(
    cum: np.ndarray, day: np.ndarray, cal_days: np.ndarray, log_level: np.ndarray, jump_var_per_year: float
) -> np.ndarray:
    """Expected total variance to a horizon of ``cal_days`` calendar days.

    The horizon counts ``cal_days · 252/365`` (fractional) sessions of diffusive variance, with ``cum``
    interpolated linearly, so the answer is smooth in calendar time (no weekend or holiday steps):
    ``e^{2·log_level} Δt cum[day, n] + (cal_days/365) · jumps``.
    """
    n = np.clip(np.asarray(cal_days, dtype=np.float64) * 252.0 / 365.0, 0.0, cum.shape[1] - 1.0)
    i = np.minimum(np.floor(n).astype(np.int64), cum.shape[1] - 2)
    f = n - i
    c = cum[day, i] * (1.0 - f) + cum[day, i + 1] * f
    return np.exp(2.0 * log_level) * DT * c + np.asarray(cal_days) / 365.0 * jump_var_per_year


def jump_variances(p: SyntheticParams, jump_rate: float) -> tuple[float, float]:
    """(Q model-free jump variance per year, P expected quadratic variation of jumps per year)."""
    q = _jump_comp(jump_rate * p.q_jump_mult, p.q_jump_mean, p.q_jump_sd)
    pv = jump_rate * (p.jump_mean**2 + p.jump_sd**2)
    return q, pv


# --------------------------------------------------------------------------------------------- SSVI
def ssvi_phi(theta: np.ndarray, eta: np.ndarray | float, gamma: np.ndarray | float) -> np.ndarray:
    """Power-law SSVI curvature φ(θ) = η θ^−γ (1 + θ)^(γ − 1)."""
    return eta * theta ** (-gamma) * (1.0 + theta) ** (gamma - 1.0)


def ssvi_w(k: np.ndarray, theta: np.ndarray, rho: np.ndarray, eta: np.ndarray, gamma: np.ndarray) -> np.ndarray:
    """SSVI total implied variance ``w(k, θ) = θ/2 (1 + ρφk + √((φk + ρ)² + 1 − ρ²))``, ``k = ln(K/F)``."""
    phi = ssvi_phi(theta, eta, gamma)
    pk = phi * k
    return 0.5 * theta * (1.0 + rho * pk + np.sqrt((pk + rho) ** 2 + 1.0 - rho * rho))


@lru_cache(maxsize=16)
def mfv_ratio_table(eta: float, gamma: float) -> np.ndarray:
    """MFV(θ, ρ)/θ on (:data:`_THETA_GRID`, :data:`_RHO_GRID`): model-free variance of an SSVI slice over θ.

    MFV = 2 ∫ P(k) e^{−k} dk with ``P`` the undiscounted out-of-the-money price per unit forward. The k grid
    of each cell spans far enough into both wings that the integrand is below 1e-12 at its ends.
    """
    th, rh = np.meshgrid(_THETA_GRID, _RHO_GRID, indexing="ij")
    th = th.reshape(-1, 1)
    rh = rh.reshape(-1, 1)
    slope = th * ssvi_phi(th, eta, gamma)  # wing slope scale of w in k
    lo = -(28.0 * slope * (1 - rh) / 2 + 9.0 * np.sqrt(th)) - 0.01
    hi = 28.0 * slope * (1 + rh) / 2 + 9.0 * np.sqrt(th) + 0.01
    u = np.linspace(0.0, 1.0, _N_K).reshape(1, -1)
    k = lo + (hi - lo) * u
    w = ssvi_w(k, th, rh, eta, gamma)
    put = k < 0
    price = black_price(1.0, np.exp(k).ravel(), 1.0, 1.0, np.sqrt(w).ravel(), (~put).ravel()).reshape(k.shape)
    integrand = 2.0 * price * np.exp(-k)
    mfv = np.trapezoid(integrand, k, axis=1)
    return (mfv / th.ravel()).reshape(_THETA_GRID.size, _RHO_GRID.size)


def _ratio(theta: np.ndarray, rho: np.ndarray, table: np.ndarray) -> np.ndarray:
    lt = np.log(np.clip(theta, _THETA_GRID[0], _THETA_GRID[-1]))
    x = (lt - np.log(_THETA_GRID[0])) / (np.log(_THETA_GRID[-1]) - np.log(_THETA_GRID[0])) * (_THETA_GRID.size - 1)
    y = (np.clip(rho, _RHO_GRID[0], _RHO_GRID[-1]) - _RHO_GRID[0]) / (_RHO_GRID[1] - _RHO_GRID[0])
    i = np.clip(np.floor(x).astype(np.int64), 0, _THETA_GRID.size - 2)
    j = np.clip(np.floor(y).astype(np.int64), 0, _RHO_GRID.size - 2)
    fx = x - i
    fy = y - j
    top = table[i, j] * (1 - fy) + table[i, j + 1] * fy
    bot = table[i + 1, j] * (1 - fy) + table[i + 1, j + 1] * fy
    return top * (1 - fx) + bot * fx


def solve_theta(
    target: np.ndarray, rho: np.ndarray, eta: np.ndarray, gamma: float, eta_values: tuple[float, ...]
) -> np.ndarray:
    """ATM total variance θ whose SSVI slice has model-free total variance ``target`` (fixed point on the ratio).

    ``eta`` takes values in ``eta_values`` (one table each). MFV(θ)/θ varies slowly in θ, so six fixed-point
    steps ``θ ← target / ratio(θ)`` converge to ~1e-10 relative.
    """
    theta = target / 1.1
    for ev in eta_values:
        sel = eta == ev
        if not sel.any():
            continue
        table = mfv_ratio_table(float(ev), float(gamma))
        th = theta[sel]
        for _ in range(8):
            th = target[sel] / _ratio(th, rho[sel], table)
        theta[sel] = th
    return theta


def model_free_variance(
    theta: np.ndarray, rho: np.ndarray, eta: np.ndarray, gamma: float, eta_values: tuple[float, ...]
) -> np.ndarray:
    """Model-free (VIX-formula) total variance of the SSVI slices ``(θ, ρ, η, γ)``: θ · MFV(θ, ρ)/θ.

    The inverse of :func:`solve_theta` (same tables, so ``model_free_variance(solve_theta(v)) ≈ v``).
    ``eta`` takes values in ``eta_values``.
    """
    out = np.full(theta.size, np.nan)
    for ev in eta_values:
        sel = eta == ev
        if sel.any():
            out[sel] = theta[sel] * _ratio(theta[sel], rho[sel], mfv_ratio_table(float(ev), float(gamma)))
    return out


# --------------------------------------------------------------------------------------------- Cboe VIX
def cboe_vix(
    strike: np.ndarray,
    call_mid: np.ndarray,
    put_mid: np.ndarray,
    call_bid: np.ndarray,
    put_bid: np.ndarray,
    offsets: np.ndarray,
    slice_day: np.ndarray,
    slice_t: np.ndarray,
    slice_rate: np.ndarray,
    n_days: int,
) -> np.ndarray:
    """Cboe-methodology 30-day index (vol points) per day from strike-sorted slices (one per day and expiry).

    Slices are sorted by (day, time to expiry). Per slice: forward from put-call parity at the strike of
    least ``|C − P|``, ``K0`` the first strike at or below it, out-of-the-money mids with the two-zero-bid
    cut-off, ``σ² = 2/T Σ ΔK/K² e^{RT} Q − (F/K0 − 1)²/T``. Then the near (≤ 30 days) and next (> 30 days)
    terms are interpolated to 30 days. Days without a bracketing pair use the nearest term alone.
    """
    var = np.empty(slice_t.size)
    cboe_slice_variance_nb(strike, call_mid, put_mid, call_bid, put_bid, offsets, slice_t, slice_rate, var)
    t30 = 30.0 / 365.0
    key = slice_day + slice_t * 365.0 / 1000.0
    near = np.searchsorted(key, np.arange(n_days) + 30.0 / 1000.0, side="right") - 1
    nxt = near + 1
    out = np.full(n_days, np.nan)
    d = np.arange(n_days)
    ok_n = (near >= 0) & (slice_day[np.clip(near, 0, None)] == d)
    ok_x = (nxt < slice_t.size) & (slice_day[np.clip(nxt, None, slice_t.size - 1)] == d)
    both = ok_n & ok_x
    t1 = slice_t[near[both]]
    t2 = slice_t[nxt[both]]
    v1 = var[near[both]]
    v2 = var[nxt[both]]
    w1 = (t2 - t30) / (t2 - t1)
    out[both] = 100.0 * np.sqrt(np.maximum((t1 * v1 * w1 + t2 * v2 * (1 - w1)) / t30, 0.0))
    only = ~both & (ok_n | ok_x)
    pick = np.where(ok_x, np.clip(nxt, None, slice_t.size - 1), np.clip(near, 0, None))[only]
    out[only] = 100.0 * np.sqrt(np.maximum(var[pick], 0.0))
    return out
