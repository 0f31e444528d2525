"""Numba kernels over flat arrays: pricing, Greeks, implied volatility, realized volatility.

Public API (stable names; code outside this repository calls them):

* :func:`bs_price`, :func:`bs_greeks` (:class:`Greeks`), :func:`implied_vol`: Black-Scholes-Merton with a
  continuous dividend yield;
* :func:`black_price`, :func:`black_implied_vol`: Black-76 on a forward and a discount factor;
* :func:`realized_vol`: rolling annualized realized volatility (five estimators, segment-aware);
* :func:`trailing_percentile`, :func:`trailing_rank`: the one percentile / rank definition over histories;
* :func:`warmup`: compile (or load from the on-disk cache) every kernel in this process.

All wrappers broadcast their arguments by numpy rules and return float64. Kernels never raise for data
conditions: ill-posed rows are NaN (with a reason code where the wrapper offers ``status=``).
"""

from __future__ import annotations

from volengine.kernels.bsm import GREEK_NAMES, Greeks, black_price, bs_greeks, bs_price
from volengine.kernels.enums import IVStatus, RVMethod
from volengine.kernels.iv import MAX_VOL, black_implied_vol, implied_vol
from volengine.kernels.realized import realized_vol
from volengine.kernels.rolling import trailing_percentile, trailing_rank
from volengine.kernels.warmup import all_kernels, warmup

__all__ = [
    "GREEK_NAMES",
    "MAX_VOL",
    "Greeks",
    "IVStatus",
    "RVMethod",
    "all_kernels",
    "black_implied_vol",
    "black_price",
    "bs_greeks",
    "bs_price",
    "implied_vol",
    "realized_vol",
    "trailing_percentile",
    "trailing_rank",
    "warmup",
]
