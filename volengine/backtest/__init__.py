"""The vectorized backtester: candidates and their quote paths in, equity, exposure and trades out.

:func:`~volengine.backtest.simulate.simulate` runs the Numba simulator for a whole parameter grid at once
(:func:`~volengine.backtest.simulate.param_matrix`), the parameter axis the sweep layer builds on.
"""

from volengine.backtest.simulate import PARAM_COLUMNS, STATUS_NAMES, SimResult, param_matrix, simulate

__all__ = ["PARAM_COLUMNS", "STATUS_NAMES", "SimResult", "param_matrix", "simulate"]
