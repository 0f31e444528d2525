"""Stress grid: every leg repriced with Black-76 at its own IV plus a shift, under spot moves and gaps.

:func:`scenario_grid` crosses the spot moves of ``stress.spot_moves_frac`` (both ways, and 0) with IV shifts of
``0`` and ``± stress.iv_shift_vol_points``, then adds seed-spec §2.9's named cases (crash and rally gaps with
their IV shifts, the extreme vol-up shock, the panic case). :func:`stress_pnl` gives per row (a leg on a day)
the value change per share of ``qty`` contracts in each scenario, so a structure's scenario P&L is the sum over
its legs and the book's the sum over positions. A spot move moves the forward by the same fraction.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from volengine.config import Settings
from volengine.kernels import black_price


def scenario_grid(settings: Settings | None = None) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """(spot_move_frac, iv_shift_decimal) arrays of equal length, one entry per scenario."""
    st = (settings or Settings()).stress
    moves = [0.0, *st.spot_moves_frac, *(-m for m in st.spot_moves_frac)]
    shifts = [0.0, st.iv_shift_vol_points / 100, -st.iv_shift_vol_points / 100]
    grid = [(m, v) for m in moves for v in shifts]
    for g in st.gap_scenarios_frac:
        grid += [(-g, st.crash_iv_shift_vol_points / 100), (g, st.rally_iv_shift_vol_points / 100)]
    grid += [(0.0, st.iv_extreme_shift_vol_points / 100), (st.panic_spot_move_frac, st.panic_iv_shift_vol_points / 100)]
    arr = np.asarray(sorted(set(grid)))
    return arr[:, 0].copy(), arr[:, 1].copy()


def stress_pnl(
    forward: Any, strike: Any, t: Any, disc: Any, iv: Any, is_call: Any, qty: Any,
    moves: np.ndarray[Any, Any], shifts: np.ndarray[Any, Any],
) -> np.ndarray[Any, Any]:  # fmt: skip
    """Value change per share, shape (n_rows, n_scenarios): ``qty × (price(shocked) − price(now))``.

    Rows with a NaN input (no IV) give NaN. IV after a shift is floored at 1e-4 (seed-spec §2.6).
    """
    f = np.asarray(forward, dtype=np.float64)[:, None]
    k = np.asarray(strike, dtype=np.float64)[:, None]
    tt = np.asarray(t, dtype=np.float64)[:, None]
    d = np.asarray(disc, dtype=np.float64)[:, None]
    v = np.asarray(iv, dtype=np.float64)[:, None]
    c = np.asarray(is_call, dtype=bool)[:, None]
    q = np.asarray(qty, dtype=np.float64)[:, None]
    now = black_price(f, k, tt, d, v, c)
    shocked = black_price(f * (1.0 + moves[None, :]), k, tt, d, np.maximum(v + shifts[None, :], 1e-4), c)
    return q * (shocked - now)
