"""Status codes written by kernels into int8 ``status`` arrays.

A kernel never raises for a data condition: it writes NaN into ``out`` and one of these codes into
``status``. ``OK`` is 0 so that ``status == 0`` selects the solved rows.
"""

from __future__ import annotations

from enum import IntEnum


class IVStatus(IntEnum):
    """Outcome of an implied-volatility solve, one code per row."""

    OK = 0
    #: a non-finite input, or a non-positive price, spot, strike, forward or discount factor
    BAD_INPUT = 1
    #: time to expiry is zero or negative: the price is intrinsic and carries no volatility
    EXPIRED = 2
    #: price at or below the discounted intrinsic value (no time value left in float64)
    BELOW_INTRINSIC = 3
    #: price at or above the no-arbitrage upper bound (call >= discounted forward, put >= discounted strike)
    ABOVE_MAX = 4
    #: the solution lies above the search range (total volatility sigma*sqrt(t) > MAX_TOTAL_VOL)
    VOL_TOO_HIGH = 5
    #: the safeguarded iteration did not meet its tolerance (never observed on well-posed input; kept honest)
    NOT_CONVERGED = 6


# plain ints for use inside kernels (numba reads module globals as compile-time constants)
IV_OK = int(IVStatus.OK)
IV_BAD_INPUT = int(IVStatus.BAD_INPUT)
IV_EXPIRED = int(IVStatus.EXPIRED)
IV_BELOW_INTRINSIC = int(IVStatus.BELOW_INTRINSIC)
IV_ABOVE_MAX = int(IVStatus.ABOVE_MAX)
IV_VOL_TOO_HIGH = int(IVStatus.VOL_TOO_HIGH)
IV_NOT_CONVERGED = int(IVStatus.NOT_CONVERGED)


class RVMethod(IntEnum):
    """Realized-volatility estimators understood by ``realized_vol``."""

    CLOSE_TO_CLOSE = 0
    PARKINSON = 1
    GARMAN_KLASS = 2
    ROGERS_SATCHELL = 3
    YANG_ZHANG = 4
