"""Inputs and references of the kernel benchmark: the seeded hard book, a 40-digit mpmath reference and a
plain numpy + scipy baseline (price, Greeks, vectorised bracketed implied-vol solver)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from volengine._typing import FloatArray, Int8Array

GREEKS: tuple[str, ...] = ("price", "delta", "gamma", "vega", "theta", "rho", "vanna", "volga", "charm")


# ------------------------------------------------------------------------------------------------ the book
@dataclass(frozen=True)
class Book:
    """A book of European options as flat arrays (``is_call`` int8: 1 call, 0 put)."""

    spot: FloatArray
    strike: FloatArray
    t: FloatArray
    rate: FloatArray
    div: FloatArray
    vol: FloatArray
    is_call: Int8Array

    @property
    def n(self) -> int:
        """Number of options."""
        return int(self.spot.shape[0])


def make_book(n: int, seed: int) -> Book:
    """Draw the seeded hard benchmark book of ``n`` options.

    Parameters
    ----------
    n : int
        Number of options.
    seed : int
        Seed of ``numpy.random.default_rng``.

    Returns
    -------
    Book
        Spot 100, K ~ U(50, 150), T log-uniform on [1 day, 2 years], vol ~ U(0.05, 1.5), r ~ U(0, 0.05),
        q ~ U(0, 0.03), calls and puts 50/50 at random.
    """
    rng = np.random.default_rng(seed)
    return Book(
        spot=np.full(n, 100.0),
        strike=rng.uniform(50.0, 150.0, n),
        t=np.exp(rng.uniform(math.log(1.0 / 365.0), math.log(2.0), n)),
        rate=rng.uniform(0.0, 0.05, n),
        div=rng.uniform(0.0, 0.03, n),
        vol=rng.uniform(0.05, 1.5, n),
        is_call=rng.integers(0, 2, n).astype(np.int8),
    )


def _mp_row(mp: Any, s: float, k: float, t: float, r: float, q: float, vol: float, call: int) -> list[Any]:
    """Closed-form price and eight Greeks at the working precision of ``mp`` (canonical units)."""
    s, k, t, r, q, vol = (mp.mpf(float(x)) for x in (s, k, t, r, q, vol))
    w = 1 if call else -1
    sq = vol * mp.sqrt(t)
    d1 = (mp.log(s / k) + (r - q + vol * vol / 2) * t) / sq
    d2 = d1 - sq
    dq, dr = mp.exp(-q * t), mp.exp(-r * t)
    n1, n2, pdf = mp.ncdf(w * d1), mp.ncdf(w * d2), mp.npdf(d1)
    vega = s * dq * pdf * mp.sqrt(t)
    return [
        w * (s * dq * n1 - k * dr * n2),
        w * dq * n1,
        dq * pdf / (s * sq),
        vega,
        -s * dq * pdf * vol / (2 * mp.sqrt(t)) - w * r * k * dr * n2 + w * q * s * dq * n1,
        w * k * t * dr * n2,
        -dq * pdf * d2 / vol,
        vega * d1 * d2 / vol,
        w * q * dq * n1 - dq * pdf * (2 * (r - q) * t - d2 * sq) / (2 * t * sq),
    ]


def mpmath_reference(book: Book, dps: int = 40) -> dict[str, FloatArray]:
    """Price and Greeks of ``book`` from closed forms evaluated with ``dps`` decimal digits (mpmath).

    Parameters
    ----------
    book : Book
        Options to evaluate (a few thousand at most: about 0.5 ms per option).
    dps : int, default 40
        Working precision in decimal digits.

    Returns
    -------
    dict of str to ndarray
        One float64 array per name in :data:`GREEKS`, correctly rounded from the high-precision value.
    """
    import mpmath

    out = {name: np.empty(book.n) for name in GREEKS}
    with mpmath.workdps(dps):
        for i in range(book.n):
            args = (float(a[i]) for a in (book.spot, book.strike, book.t, book.rate, book.div, book.vol))
            row = _mp_row(mpmath, *args, int(book.is_call[i]))
            for name, value in zip(GREEKS, row, strict=True):
                out[name][i] = float(value)
    return out


# --------------------------------------------------------------------------- plain numpy + scipy baseline
def _np_d1_d2(b: Book) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    sq = b.vol * np.sqrt(b.t)
    d1 = (np.log(b.spot / b.strike) + (b.rate - b.div + 0.5 * b.vol * b.vol) * b.t) / sq
    return np.where(b.is_call != 0, 1.0, -1.0), d1, d1 - sq, sq


def numpy_price(b: Book) -> FloatArray:
    """Textbook Black-Scholes-Merton price with ``scipy.special.ndtr`` (one thread)."""
    from scipy.special import ndtr

    w, d1, d2, _ = _np_d1_d2(b)
    return w * (b.spot * np.exp(-b.div * b.t) * ndtr(w * d1) - b.strike * np.exp(-b.rate * b.t) * ndtr(w * d2))


def numpy_greeks(b: Book) -> dict[str, FloatArray]:
    """Textbook analytic price and eight Greeks in canonical units (numpy + ``scipy.special.ndtr``)."""
    from scipy.special import ndtr

    w, d1, d2, sq = _np_d1_d2(b)
    dq, dr = np.exp(-b.div * b.t), np.exp(-b.rate * b.t)
    n1, n2 = ndtr(w * d1), ndtr(w * d2)
    pdf = np.exp(-0.5 * d1 * d1) * (1.0 / math.sqrt(2.0 * math.pi))
    sdq, kdr, rt = b.spot * dq, b.strike * dr, np.sqrt(b.t)
    vega = sdq * pdf * rt
    return {
        "price": w * (sdq * n1 - kdr * n2),
        "delta": w * dq * n1,
        "gamma": dq * pdf / (b.spot * sq),
        "vega": vega,
        "theta": -sdq * pdf * b.vol / (2.0 * rt) - w * b.rate * kdr * n2 + w * b.div * sdq * n1,
        "rho": w * b.t * kdr * n2,
        "vanna": -dq * pdf * d2 / b.vol,
        "volga": vega * d1 * d2 / b.vol,
        "charm": w * b.div * dq * n1 - dq * pdf * (2.0 * (b.rate - b.div) * b.t - d2 * sq) / (2.0 * b.t * sq),
    }


def _otm_black(f: FloatArray, k: FloatArray, s: FloatArray, w: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Undiscounted Black price and its derivative in total vol ``s``."""
    from scipy.special import ndtr

    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        d1 = np.log(f / k) / s + 0.5 * s
        price = w * (f * ndtr(w * d1) - k * ndtr(w * (d1 - s)))
        return price, f * np.exp(-0.5 * d1 * d1) * (1.0 / math.sqrt(2.0 * math.pi))


def _bracketed_newton(p: FloatArray, f: FloatArray, k: FloatArray, w: FloatArray) -> FloatArray:
    """Total vol ``s`` with ``Black(f, k, s) = p`` for out-of-the-money rows: Newton on ln(price), bisection
    whenever a step leaves the bracket, active rows compacted every iteration (at most 200 iterations)."""
    lo, hi = np.zeros_like(p), np.full_like(p, 4.0)
    for _ in range(10):  # grow the upper bracket until it prices above the target
        low = _otm_black(f, k, hi, w)[0] <= p
        if not low.any():
            break
        hi[low] *= 2.0
    s = np.clip(np.maximum(np.sqrt(2.0 * np.abs(np.log(f / k))), 2.5066 * p / np.sqrt(f * k)), 1e-3, 0.5 * hi)
    act = np.arange(p.shape[0])
    for _ in range(200):
        sa, pa = s[act], p[act]
        b, vega = _otm_black(f[act], k[act], sa, w[act])
        above = b > pa
        hi[act] = np.where(above, sa, hi[act])
        lo[act] = np.where(above, lo[act], sa)
        with np.errstate(divide="ignore", invalid="ignore"):
            new = sa - (np.log(b) - np.log(pa)) * b / vega
        inside = (new > lo[act]) & (new < hi[act])
        new = np.where(inside, new, 0.5 * (lo[act] + hi[act]))
        s[act] = new
        act = act[~(np.abs(new - sa) <= 1e-14 * new)]
        if act.size == 0:
            break
    return s


def numpy_implied_vol(price: FloatArray, b: Book) -> FloatArray:
    """Vectorised bracketed implied-vol solver (numpy + ``scipy.special.ndtr``, one thread).

    In-the-money prices are mapped to their out-of-the-money counterpart by put-call parity, then
    :func:`_bracketed_newton` solves for the total vol. NaN where the price is outside the no-arbitrage
    bounds or an input is not positive.
    """
    w = np.where(b.is_call != 0, 1.0, -1.0)
    fwd = b.spot * np.exp((b.rate - b.div) * b.t)
    undisc = price * np.exp(b.rate * b.t)
    itm = w * (fwd - b.strike) > 0.0
    p = np.where(itm, undisc - w * (fwd - b.strike), undisc)
    w = np.where(itm, -w, w)
    upper = np.where(w > 0, fwd, b.strike)
    ok = (p > 0.0) & (p < upper) & (b.t > 0.0) & (fwd > 0.0) & (b.strike > 0.0)
    out = np.full(price.shape, np.nan)
    out[ok] = _bracketed_newton(p[ok], fwd[ok], b.strike[ok], w[ok]) / np.sqrt(b.t[ok])
    return out
