"""VolEngine: a vectorized, backtesting-first options-volatility research engine.

Sub-packages are imported lazily so that ``import volengine`` (and ``volengine --help``) stays cheap:
``volengine.kernels`` loads Numba, and the backtest/report layers load vectorbt and quantstats only when used.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("volengine")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
