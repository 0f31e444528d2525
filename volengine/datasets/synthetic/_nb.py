"""Numba kernels of the synthetic market: the per-slice loops that numpy cannot vectorise.

Flags come from :mod:`volengine.kernels._flags`. Inputs are flat C-contiguous float64/int64 arrays; ragged
groups (one chain slice per day and expiry) are sorted flat arrays plus int64 ``offsets``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from volengine.kernels._flags import PARALLEL, SERIAL


@njit(**PARALLEL)
def cboe_slice_variance_nb(strike, call_mid, put_mid, call_bid, put_bid, offsets, t, rate, out):  # type: ignore[no-untyped-def]
    """Cboe VIX-methodology variance σ² of each slice into ``out`` (shape (n_slices,)).

    Slice ``j`` is rows ``offsets[j]:offsets[j + 1]`` of the strike-sorted arrays (one row per strike with
    both the call and the put). ``t`` years and ``rate`` (continuous) per slice. NaN for slices with fewer
    than three strikes or no positive bid on either side.
    """
    for j in prange(out.shape[0]):
        a = offsets[j]
        b = offsets[j + 1]
        tt = t[j]
        if b - a < 3 or not (tt > 0.0):
            out[j] = np.nan
            continue
        growth = math.exp(rate[j] * tt)
        best = a
        for i in range(a, b):
            if abs(call_mid[i] - put_mid[i]) < abs(call_mid[best] - put_mid[best]):
                best = i
        fwd = strike[best] + growth * (call_mid[best] - put_mid[best])
        k0 = a
        for i in range(a, b):
            if strike[i] <= fwd:
                k0 = i
        lo = k0
        zeros = 0
        i = k0 - 1
        while i >= a:
            if put_bid[i] > 0.0:
                lo = i
                zeros = 0
            else:
                zeros += 1
                if zeros >= 2:
                    break
            i -= 1
        hi = k0
        zeros = 0
        i = k0 + 1
        while i < b:
            if call_bid[i] > 0.0:
                hi = i
                zeros = 0
            else:
                zeros += 1
                if zeros >= 2:
                    break
            i += 1
        total = 0.0
        for i in range(lo, hi + 1):
            if i < k0 and put_bid[i] <= 0.0:
                continue
            if i > k0 and call_bid[i] <= 0.0:
                continue
            if i == k0:
                q = 0.5 * (call_mid[i] + put_mid[i])
            elif i < k0:
                q = put_mid[i]
            else:
                q = call_mid[i]
            left = strike[i - 1] if i > lo else strike[i]
            right = strike[i + 1] if i < hi else strike[i]
            dk = 0.5 * (right - left) if (i > lo and i < hi) else (right - left)
            total += dk / (strike[i] * strike[i]) * q
        ratio = fwd / strike[k0] - 1.0
        out[j] = (2.0 * growth * total - ratio * ratio) / tt


@njit(**SERIAL)
def oi_ar1_nb(key, day, target, shock, phi, noise_sd, out):  # type: ignore[no-untyped-def]
    """Open interest with AR(1) log-noise per contract into ``out`` (rows sorted by (key, day)).

    ``e_t = φ e_{t−1} + √(1 − φ²) s ε_t`` while a contract (``key``) is quoted on consecutive days
    (``day`` increments by one), a stationary draw ``e = s ε`` when it (re)appears; ``out = target e^{e − s²/2}``.
    Returns nothing; the last ``e`` of each contract stays recoverable as ``log(out / target) + s²/2``.
    """
    n = out.shape[0]
    c = math.sqrt(1.0 - phi * phi) * noise_sd
    half = 0.5 * noise_sd * noise_sd
    e = 0.0
    for i in range(n):
        if i > 0 and key[i] == key[i - 1] and day[i] == day[i - 1] + 1:
            e = phi * e + c * shock[i]
        else:
            e = noise_sd * shock[i]
        out[i] = target[i] * math.exp(e - half)


KERNELS = (cboe_slice_variance_nb, oi_ar1_nb)
