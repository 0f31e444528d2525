"""Compile every kernel once, in one process (``python -m volengine.kernels``).

CI and benchmarks call this before anything runs kernels in parallel processes: concurrent first-time
cache writes from several processes can corrupt Numba's cache (numba issue #4807).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np


def all_kernels() -> list[Any]:
    """Every compiled array kernel of ``volengine.kernels`` (for warm-up and meta-tests)."""
    from volengine.kernels import backtest, bsm, garch, iv, payoff, realized, regime, rolling, structures, surface

    return [
        *bsm.KERNELS,
        *iv.KERNELS,
        *realized.KERNELS,
        *rolling.KERNELS,
        *surface.KERNELS,
        *garch.KERNELS,
        *regime.KERNELS,
        *backtest.KERNELS,
        *payoff.KERNELS,
        *structures.KERNELS,
    ]


def warmup() -> float:
    """Call each public kernel once on tiny inputs; returns the seconds it took."""
    from volengine.kernels.bsm import black_price, bs_greeks, bs_price
    from volengine.kernels.iv import black_implied_vol, implied_vol
    from volengine.kernels.realized import realized_vol
    from volengine.kernels.rolling import trailing_percentile, trailing_rank

    t0 = time.perf_counter()
    one = np.ones(4)
    price = bs_price(one * 100.0, one * 100.0, one, one * 0.01, one * 0.0, one * 0.2, np.ones(4, bool))
    bs_greeks(one * 100.0, one * 100.0, one, one * 0.01, one * 0.0, one * 0.2, np.ones(4, bool))
    implied_vol(price, one * 100.0, one * 100.0, one, one * 0.01, one * 0.0, np.ones(4, bool))
    fwd = black_price(one * 100.0, one * 100.0, one, one, one * 0.2, np.ones(4, bool))
    black_implied_vol(fwd, one * 100.0, one * 100.0, one, one, np.ones(4, bool))
    # scalar arguments take the generic broadcasting kernels, full-length arrays the vectorised ones
    bs_price(100.0, one * 100.0, 1.0, 0.01, 0.0, 0.2, True)
    bs_greeks(100.0, one * 100.0, 1.0, 0.01, 0.0, 0.2, True)
    black_price(100.0, one * 100.0, 1.0, 1.0, 0.2, True)
    bars = np.linspace(100.0, 101.0, 8)
    for method in ("close_to_close", "parkinson", "garman_klass", "rogers_satchell", "yang_zhang"):
        realized_vol(bars, bars * 1.01, bars * 0.99, bars, 3, method=method)
    trailing_percentile(bars, 3)
    trailing_rank(bars, 3)
    from volengine.kernels.regime import hysteresis, trailing_high, trailing_log_vol

    trailing_log_vol(bars, 3)
    trailing_high(bars, 3)
    hysteresis(np.zeros((8, 5)), np.ones(8, np.int8), np.arange(5))
    from volengine.kernels.surface import chain_summary, parity_forwards, term_interp

    k = np.array([95.0, 95.0, 100.0, 100.0, 105.0, 105.0])
    c = np.array([1, 0, 1, 0, 1, 0], dtype=np.int8)
    off = np.array([0, 6], dtype=np.int64)
    ones = np.ones(6)
    parity_forwards(off, k, c, ones, ones * 100.0, ones, ones)
    chain_summary(off, k, c, ones, ones, ones * 0.2, ones * 0.5, ones * 100.0, ones * 100.0, ones, ones)
    term_interp(off, ones, ones * 0.04, np.array([0.5]))
    from volengine.kernels.garch import garch_forecast

    garch_forecast(bars - 100.5, [3], [0.1], [0.05], [0.9], 5)
    from volengine.kernels._wrap import readonly
    from volengine.kernels.backtest import N_CAND, N_PARAMS, N_PATH_F, N_PATH_I, _simulate_nb

    # inputs read-only, outputs writable: the one signature volengine.backtest.simulate compiles
    i1, f1 = readonly(np.zeros(1, dtype=np.int64)), readonly(np.ones(1))
    off, f2in = readonly(np.array([0, 1], dtype=np.int64)), readonly(np.zeros((1, 1)))
    cand_i, path_i = readonly(np.zeros((1, N_CAND), dtype=np.int64)), readonly(np.zeros((1, N_PATH_I), dtype=np.int64))
    path_f, prm = readonly(np.ones((1, N_PATH_F))), readonly(np.ones((1, N_PARAMS)))
    _simulate_nb(
        1,
        i1,
        i1,
        cand_i,
        f1,
        f2in,
        off,
        path_i,
        path_f,
        f2in,
        prm,
        1.0,
        np.ones((1, 1, 2)),
        np.zeros((1, 1, 2), dtype=np.int64),
        np.zeros((1, 1, 4), dtype=np.int64),
        np.ones((1, 1, 3)),
    )
    from volengine.kernels import payoff, structures

    payoff.warm()
    structures.warm()
    return time.perf_counter() - t0
