"""Branch-free exp, log and erfc in plain arithmetic, so that LLVM vectorises the loops that use them.

``math.exp`` / ``math.erfc`` compile to scalar libm calls, which keep a loop scalar (stock llvmlite has no
SVML). These versions use only multiply-adds, a division, ``floor``, ``sqrt`` and bit casts, all of which
LLVM turns into SIMD instructions; accuracy is within a few ulps of libm over the ranges the pricing
kernels use. Inputs outside those ranges (non-positive or non-finite log arguments, exp arguments that
overflow) are the callers' business: the pricing kernels send such rows to the scalar slow path.

* ``_exp2_nb(hi, lo)``: ``exp(hi + lo)`` with Cody-Waite reduction by ln 2 and a degree-13 Taylor
  polynomial on ``|r| <= ln2 / 2`` (truncation < 2e-17); ``lo`` is a small correction carried into ``r``.
* ``_log_nb(x)``: exponent from the bits, mantissa in [sqrt(1/2), sqrt(2)), ``2 atanh(s)`` series.
* ``_erfc_nb(x)``: for ``z = |x|``, ``erfc(z) = t exp(-z^2 + g(2 t - 1))`` with ``t = 2 / (2 + z)`` and a
  28-term Chebyshev series for g (coefficients from ``tests/reference/make_erfc_chebyshev.py``, mpmath);
  ``-z^2`` is formed exactly from a 26-bit split of z; ``erfc(-z) = 2 - erfc(z)``.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from volengine.kernels._flags import EXACT


@intrinsic
def _i64_as_f64(typingctx, x):  # type: ignore[no-untyped-def]
    sig = types.float64(types.int64)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.bitcast(args[0], ir.DoubleType())

    return sig, codegen


@intrinsic
def _f64_as_i64(typingctx, x):  # type: ignore[no-untyped-def]
    sig = types.int64(types.float64)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.bitcast(args[0], ir.IntType(64))

    return sig, codegen


_LN2_HI = 6.93147180369123816490e-01  # 0x3fe62e42fee00000: k * _LN2_HI is exact for |k| < 2^20
_LN2_LO = 1.90821492927058770002e-10
_INV_LN2 = 1.4426950408889634
_SQRT2 = 1.4142135623730951
_SHIFTER = 6755399441055744.0  # 1.5 * 2^52
_SHIFTER_BITS = np.int64(0x4338000000000000)
_TWO52 = 4503599627370496.0
_TWO52_BITS = np.int64(0x4330000000000000)
_SPLIT_MASK = np.int64(-(1 << 27))  # clears the low 27 mantissa bits: the high part squares exactly

_ERFC_CHEB = (
    -0.65132685989085471710,
    0.64196979235649026030,
    0.019476473204185836312,
    -0.0095615147868086316419,
    -0.00094659534448203686630,
    0.00036683949785276145187,
    0.000042523324806907771645,
    -0.000020278578112534243154,
    -1.6242900046470255135e-6,
    1.3036558355805232018e-6,
    1.5626441722066143178e-8,
    -8.5238095914926542525e-8,
    6.5290544390988514964e-9,
    5.0593434955514689418e-9,
    -9.9136415649303308674e-10,
    -2.2736512229318358557e-10,
    9.6467911020155268020e-11,
    2.3940380830391147447e-12,
    -6.8860275264975533984e-12,
    8.9448792730907257167e-13,
    3.1309213993429580783e-13,
    -1.1270822361367252366e-13,
    3.8109052551892320552e-16,
    7.1060976136092369878e-15,
    -1.5230282014571043043e-15,
    -9.4574945712912340005e-17,
    1.2102371892242789923e-16,
    -2.8166630877471769718e-17,
)


@njit(**EXACT)
def _exp2_nb(hi: float, lo: float) -> float:
    """``exp(hi + lo)`` for ``-708 < hi + lo < 709``, ``lo`` carried into the reduced argument unrounded."""
    # round to nearest through the 1.5 * 2^52 shifter: k lands in the low mantissa bits, so both the float
    # and the integer k come without a float-int conversion (AVX2 has none for 64-bit lanes)
    kd = (hi + lo) * _INV_LN2 + _SHIFTER
    k = kd - _SHIFTER
    ki = _f64_as_i64(kd) - _SHIFTER_BITS
    r = ((hi - k * _LN2_HI) + lo) - k * _LN2_LO
    p = 1.0 / 6227020800.0
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    # 2^k in two factors so that k down to -1074 (gradual underflow) stays representable
    k1 = ki >> 1
    k2 = ki - k1
    return p * _i64_as_f64((k1 + 1023) << 52) * _i64_as_f64((k2 + 1023) << 52)


@njit(**EXACT)
def _exp_nb(x: float) -> float:
    """``exp(x)`` for ``-708 < x < 709``; vectorisable."""
    return _exp2_nb(x, 0.0)


@njit(**EXACT)
def _log_nb(x: float) -> float:
    """Natural log of a positive, finite, normal ``x``; vectorisable."""
    bits = _f64_as_i64(x)
    # the biased exponent as a float, through the 2^52 bit pattern (no int-float conversion)
    fe = _i64_as_f64(((bits >> 52) & 0x7FF) | _TWO52_BITS) - (_TWO52 + 1023.0)
    m = _i64_as_f64((bits & 0x000FFFFFFFFFFFFF) | 0x3FF0000000000000)  # mantissa in [1, 2)
    big = m > _SQRT2
    m = m * 0.5 if big else m
    fe = fe + 1.0 if big else fe
    s = (m - 1.0) / (m + 1.0)
    s2 = s * s
    p = 1.0 / 23.0
    p = p * s2 + 1.0 / 21.0
    p = p * s2 + 1.0 / 19.0
    p = p * s2 + 1.0 / 17.0
    p = p * s2 + 1.0 / 15.0
    p = p * s2 + 1.0 / 13.0
    p = p * s2 + 1.0 / 11.0
    p = p * s2 + 1.0 / 9.0
    p = p * s2 + 1.0 / 7.0
    p = p * s2 + 1.0 / 5.0
    p = p * s2 + 1.0 / 3.0
    return fe * _LN2_HI + (2.0 * s + (2.0 * s * s2 * p + fe * _LN2_LO))


@njit(**EXACT)
def _erfc_series_nb(y: float) -> float:
    """Clenshaw sum of ``c_k T_k(y)`` over :data:`_ERFC_CHEB`, unrolled so that LLVM vectorises it."""
    y2 = 2.0 * y
    b1 = _ERFC_CHEB[27]
    b2 = 0.0
    b1, b2 = y2 * b1 - b2 + _ERFC_CHEB[26], b1
    b1, b2 = y2 * b1 - b2 + _ERFC_CHEB[25], b1
    b1, b2 = y2 * b1 - b2 + _ERFC_CHEB[24], b1
    b1, b2 = y2 * b1 - b2 + _ERFC_CHEB[23], b1
    b1, b2 = y2 * b1 - b2 + _ERFC_CHEB[22], b1
    b1, b2 = y2 * b1 - b2 + _ERFC_CHEB[21], b1
    b1, b2 = y2 * b1 - b2 + _ERFC_CHEB[20], b1
    b1, b2 = y2 * b1 - b2 + _ERFC_CHEB[19], b1
    b1, b2 = y2 * b1 - b2 + _ERFC_CHEB[18], b1
    b1, b2 = y2 * b1 - b2 + _ERFC_CHEB[17], b1
    b1, b2 = y2 * b1 - b2 + _ERFC_CHEB[16], b1
    b1, b2 = y2 * b1 - b2 + _ERFC_CHEB[15], b1
    b1, b2 = y2 * b1 - b2 + _ERFC_CHEB[14], b1
    b1, b2 = y2 * b1 - b2 + _ERFC_CHEB[13], b1
    b1, b2 = y2 * b1 - b2 + _ERFC_CHEB[12], b1
    b1, b2 = y2 * b1 - b2 + _ERFC_CHEB[11], b1
    b1, b2 = y2 * b1 - b2 + _ERFC_CHEB[10], b1
    b1, b2 = y2 * b1 - b2 + _ERFC_CHEB[9], b1
    b1, b2 = y2 * b1 - b2 + _ERFC_CHEB[8], b1
    b1, b2 = y2 * b1 - b2 + _ERFC_CHEB[7], b1
    b1, b2 = y2 * b1 - b2 + _ERFC_CHEB[6], b1
    b1, b2 = y2 * b1 - b2 + _ERFC_CHEB[5], b1
    b1, b2 = y2 * b1 - b2 + _ERFC_CHEB[4], b1
    b1, b2 = y2 * b1 - b2 + _ERFC_CHEB[3], b1
    b1, b2 = y2 * b1 - b2 + _ERFC_CHEB[2], b1
    b1, b2 = y2 * b1 - b2 + _ERFC_CHEB[1], b1
    return y * b1 - b2 + _ERFC_CHEB[0]


@njit(**EXACT)
def _erfc_nb(x: float) -> float:
    """Complementary error function (NaN propagates); relative accuracy within 6 ulps; vectorisable."""
    z = min(abs(x), 40.0)  # erfc(40) ~ 1e-697 underflows anyway; keeps every intermediate finite
    t = 2.0 / (2.0 + z)
    y = 2.0 * t - 1.0
    g = _erfc_series_nb(y)
    zh = _i64_as_f64(_f64_as_i64(z) & _SPLIT_MASK)
    # -z^2 = -zh^2 - (z - zh)(z + zh): the first term is exact, the second small and accurate
    hi = -zh * zh
    lo = g - (z - zh) * (z + zh)
    hi = max(hi, -745.0)  # far tail: underflow to 0 instead of wrapping the exponent bits
    v = t * _exp2_nb(hi, lo)
    return 2.0 - v if x < 0.0 else v


@njit(**EXACT)
def _ncdf_fast_nb(x: float) -> float:
    """Standard normal CDF ``erfc(-x / sqrt 2) / 2`` through :func:`_erfc_nb`; vectorisable."""
    return 0.5 * _erfc_nb(-x * 0.7071067811865476)
