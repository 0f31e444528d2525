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

#: public pipeline entry points, resolved on first use (``volengine.analyze(...)``) so the import stays cheap
_LAZY = {"analyze": "volengine.pipeline", "run_pipeline": "volengine.pipeline", "signal": "volengine.pipeline"}
__all__ += list(_LAZY)


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    msg = f"module 'volengine' has no attribute {name!r}"
    raise AttributeError(msg)
