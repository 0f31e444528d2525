"""Risk engine pieces outside the simulator kernel: the stress grid (sizing, limits and the kill switch are
rules of the simulator, :mod:`volengine.kernels.backtest`, shared with the daily run)."""

from volengine.risk.stress import scenario_grid, stress_pnl

__all__ = ["scenario_grid", "stress_pnl"]
