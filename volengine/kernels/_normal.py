"""Scalar normal-distribution helpers shared by the pricing and implied-volatility kernels.

The CDF is evaluated through ``erfc`` so that deep out-of-the-money tails keep full relative accuracy;
``0.5 * (1 + erf(x / sqrt 2))`` cancels in the lower tail (about 4e-9 relative error on deep OTM prices).
"""

from __future__ import annotations

import math

from numba import njit

from volengine.kernels._flags import SCALAR

INV_SQRT2 = 0.7071067811865476
INV_SQRT_2PI = 0.3989422804014327


@njit(**SCALAR)
def _ncdf_nb(x: float) -> float:
    """Standard normal CDF, Phi(x) = erfc(-x / sqrt 2) / 2."""
    return 0.5 * math.erfc(-x * INV_SQRT2)


@njit(**SCALAR)
def _npdf_nb(x: float) -> float:
    """Standard normal density."""
    return INV_SQRT_2PI * math.exp(-0.5 * x * x)


@njit(**SCALAR)
def _ninv_guess_nb(p: float) -> float:
    """Approximate inverse normal CDF for 0 < p <= 0.5 (absolute error below 4.5e-4).

    Abramowitz & Stegun 26.2.23 (Hastings' rational approximation). Only used to seed iterations.
    """
    t = math.sqrt(-2.0 * math.log(p))
    num = 2.515517 + t * (0.802853 + t * 0.010328)
    den = 1.0 + t * (1.432788 + t * (0.189269 + t * 0.001308))
    return num / den - t
