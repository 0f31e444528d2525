"""The event-time portfolio simulator: one pass over days for every parameter set at once (parameter axis).

Inputs are precomputed by :mod:`volengine.backtest` (pure array work, no look-ahead):

* **candidates** ``c`` (sorted by signal day, then priority): the structure chosen at the close of its signal
  day, its sizing estimate (max loss per share from that day's quotes), its legs' count, regime, credit flag;
* **paths**: for each candidate a dense run of days from its entry day (the next session) to its last day
  (expiry or the end of data), with the cashflow per share to close it at that day's quotes under the fill
  model (``close_cf``), the settlement cashflow on the expiry day, DTE, and the entry cashflow on the entry day.
  A path value is only read on or after its day: the entry fill when the order executes, a close value when
  the position is marked or closed on that day.

Per parameter set the day loop is the desk's day: fills of yesterday's decisions, expiry settlements, the
mark to market (equity = cash + liquidation value), limits and the kill switch on that equity, exit decisions
(TP > SL > regime change > time stop), then entry decisions sized on that day's equity. A decision at the
close of day t fills at day t+1: nothing uses information from after its decision time.

Parameter columns are named by the ``P_*`` constants; outputs are dense (n_params, n_days) and
(n_params, n_candidates) arrays.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit, prange

from volengine.kernels._flags import PARALLEL, SERIAL

# parameter columns
P_TP_PCT = 0  # credit structures: take profit at this % of max profit (inf: off)
P_SL_CREDIT_MULT = 1  # credit structures: stop at a loss of this x the entry credit (inf: off)
P_SL_DEBIT_PCT = 2  # debit structures: stop at a loss of this % of the debit (inf: off)
P_TIME_STOP_DTE = 3  # credit structures: exit when DTE <= this (-1: off)
P_PER_TRADE_PCT = 4
P_TOTAL_PCT = 5
P_MAX_CONTRACTS = 6
P_MAX_OPEN = 7
P_DAILY_LIMIT_PCT = 8
P_WEEKLY_LIMIT_PCT = 9
P_DD_LIMIT_PCT = 10
P_EXIT_ON_REGIME = 11  # 1: exit when the regime differs from the entry regime
P_KILL_CLOSE_ALL = 12  # 1: the kill switch also closes every open position
P_COST_PER_CONTRACT_LEG = 13  # $ per contract per leg per side (commission + fees)
P_RECOVERY_DAYS = 14  # kill switch resets after this many sessions; 0 = never (explicit reset only)
P_STRESS_LIMIT_PCT = 15  # the book's worst stress-scenario loss after an entry may not exceed this % of equity
P_TP_DEBIT_PCT = 16  # debit structures: take profit at this % of max profit (inf: off)
P_TIME_STOP_DEBIT_DTE = 17  # debit structures: exit when DTE <= this (-1: off)
P_SL_MAX_LOSS_PCT = 18  # credit structures: also stop at a loss of this % of max loss (inf: off)
P_SIZE_MULT = 19  # 5 columns: size multiplier per regime code 0..4
N_PARAMS = P_SIZE_MULT + 5

# packed columns of the simulator's inputs and outputs (see _simulate_nb)
C_SIGNAL, C_ENTRY, C_LEGS, C_CREDIT, C_REGIME = range(5)
N_CAND = 5
R_DAY, R_DTE, R_SETTLE_LEGS = range(3)
N_PATH_I = 3
R_CLOSE, R_EXIT, R_SETTLE, R_ENTRY, R_MAX_LOSS, R_MAX_PROFIT = range(6)
N_PATH_F = 6
D_EQUITY, D_OPEN_ML = 0, 1
D_N_OPEN, D_BLOCKED = 0, 1
O_CONTRACTS, O_STATUS, O_ENTRY_DAY, O_EXIT_DAY = range(4)
O_ENTRY_CF, O_EXIT_CF, O_PNL = range(3)

# exit / status codes of a candidate under one parameter set
NOT_TAKEN = 0
OPEN_AT_END = 1
EXIT_TP = 2
EXIT_SL = 3
EXIT_REGIME = 4
EXIT_TIME = 5
EXIT_EXPIRY = 6
EXIT_KILL = 7
REJ_BLOCKED = 10  # limits or kill switch block new entries
REJ_ONE_LOT = 11  # one contract already exceeds the per-trade budget (never forced to 1)
REJ_CAPACITY = 12  # total open max loss cap reached
REJ_MAX_OPEN = 13
REJ_UNEXECUTABLE = 14  # no valid fill on the entry day
REJ_REGIME_ZERO = 15  # the regime multiplier floors the size to 0
REJ_NO_PATH = 16
REJ_STRESS = 17  # the stress grid's worst case of book + candidate breaches the stress limit


@njit(**SERIAL)
def _exit_reason_nb(pr: Any, c: int, row: int, first: int, t: int, day_regime: Any, cand_i: Any, path_i: Any,
                    path_f: Any, killed: int) -> int:  # fmt: skip
    """Exit decided at day ``t``'s close for open candidate ``c`` (-1: hold). Order: TP, SL, regime, time.

    Credit and debit structures have their own take-profit and time-stop columns; a rule that is off holds
    +inf (TP, SL) or -1 (time stop).
    """
    entry = path_f[first, R_ENTRY]
    pnl_pts = entry + path_f[row, R_CLOSE]
    mp = path_f[first, R_MAX_PROFIT]
    credit = cand_i[c, C_CREDIT] == 1
    tp = pr[P_TP_PCT] if credit else pr[P_TP_DEBIT_PCT]
    if math.isfinite(mp) and mp > 0.0 and pnl_pts >= tp / 100.0 * mp:
        return EXIT_TP
    if credit and (pnl_pts <= -pr[P_SL_CREDIT_MULT] * entry
                   or pnl_pts <= -pr[P_SL_MAX_LOSS_PCT] / 100.0 * path_f[first, R_MAX_LOSS]):  # fmt: skip
        return EXIT_SL
    if not credit and pnl_pts <= pr[P_SL_DEBIT_PCT] / 100.0 * entry:
        return EXIT_SL  # entry < 0 for a debit: a loss of pct x the debit
    if pr[P_EXIT_ON_REGIME] > 0 and day_regime[t] != cand_i[c, C_REGIME]:
        return EXIT_REGIME
    if path_i[row, R_DTE] <= (pr[P_TIME_STOP_DTE] if credit else pr[P_TIME_STOP_DEBIT_DTE]):
        return EXIT_TIME
    if killed != 0 and pr[P_KILL_CLOSE_ALL] > 0:
        return EXIT_KILL
    return -1


@njit(**SERIAL)
def _stress_cap_nb(book: Any, cand: Any, c: int, limit_usd: float) -> int:
    """Most contracts of candidate ``c`` keeping every scenario's book P&L above ``-limit_usd`` (-1: no cap)."""
    cap = -1
    for j in range(book.size):
        room = book[j] + limit_usd
        if room < 0.0:
            return 0
        per = cand[c, j] * 100.0
        if per < 0.0:
            k = math.floor(room / -per)
            cap = k if cap < 0 else min(cap, k)
    return cap


@njit(**SERIAL)
def _size_nb(pr: Any, ml_usd: float, equity: float, open_ml: float, n_open: int, regime: int) -> tuple[int, int]:
    """Contracts for one candidate (seed-spec §2.9 sizing) and the status code; never forced to 1 lot."""
    if n_open >= pr[P_MAX_OPEN]:
        return 0, REJ_MAX_OPEN
    if not (ml_usd > 0.0):
        return 0, REJ_UNEXECUTABLE
    k = math.floor(pr[P_PER_TRADE_PCT] / 100.0 * equity / ml_usd)
    if k < 1:
        return 0, REJ_ONE_LOT
    k = min(k, int(pr[P_MAX_CONTRACTS]))
    capacity = pr[P_TOTAL_PCT] / 100.0 * equity - open_ml
    k = min(k, math.floor(capacity / ml_usd)) if capacity > 0.0 else 0
    if k < 1:
        return 0, REJ_CAPACITY
    k = math.floor(k * pr[P_SIZE_MULT + regime])
    if k < 1:
        return 0, REJ_REGIME_ZERO
    return k, OPEN_AT_END


@njit(**SERIAL)
def _simulate_one_nb(
    p: int,
    n_days: int,
    day_regime: Any,
    day_week: Any,
    cand_i: Any,
    cand_ml_est: Any,
    cand_stress: Any,
    path_off: Any,
    path_i: Any,
    path_f: Any,
    path_stress: Any,
    params: Any,
    equity0: float,
    out_day_f: Any,
    out_day_i: Any,
    out_c_i: Any,
    out_c_f: Any,
) -> None:
    """One parameter set (row ``p`` of ``params``) of :func:`_simulate_nb`."""
    pr = params[p]
    n_c = cand_i.shape[0]
    for c in range(n_c):
        out_c_i[p, c, O_CONTRACTS] = 0
        out_c_i[p, c, O_STATUS] = NOT_TAKEN
        out_c_i[p, c, O_ENTRY_DAY] = -1
        out_c_i[p, c, O_EXIT_DAY] = -1
        out_c_f[p, c, O_ENTRY_CF] = np.nan
        out_c_f[p, c, O_EXIT_CF] = np.nan
        out_c_f[p, c, O_PNL] = 0.0
    cash = equity0
    hwm = equity0
    prev_eq = equity0
    week_start_eq = equity0
    killed = False
    killed_day = -1
    ptr = np.zeros(n_c, dtype=np.int64)
    pending_exit = np.full(n_c, -1, dtype=np.int64)
    open_ids = np.empty(n_c, dtype=np.int64)
    n_open = 0
    entries = np.empty(n_c, dtype=np.int64)
    n_entries = 0
    next_c = 0
    n_s = path_stress.shape[1]
    book = np.zeros(n_s)
    for t in range(n_days):
        if t > 0 and day_week[t] != day_week[t - 1]:
            week_start_eq = prev_eq
        # 1. yesterday's entry decisions fill at today's quotes
        for j in range(n_entries):
            c = entries[j]
            row = path_off[c]
            if not math.isfinite(path_f[row, R_ENTRY]):
                out_c_i[p, c, O_STATUS] = REJ_UNEXECUTABLE  # the order found no valid quote today: unfilled
                out_c_i[p, c, O_CONTRACTS] = 0
                continue
            k = out_c_i[p, c, O_CONTRACTS]
            cf = path_f[row, R_ENTRY] * k * 100.0 - pr[P_COST_PER_CONTRACT_LEG] * cand_i[c, C_LEGS] * k
            cash += cf
            out_c_f[p, c, O_ENTRY_CF] = path_f[row, R_ENTRY]
            out_c_i[p, c, O_ENTRY_DAY] = t
            out_c_f[p, c, O_PNL] = cf
            ptr[c] = row
            open_ids[n_open] = c
            n_open += 1
        n_entries = 0
        # 2. yesterday's exit decisions fill today; expiries settle at intrinsic
        j = 0
        while j < n_open:
            c = open_ids[j]
            while ptr[c] + 1 < path_off[c + 1] and path_i[ptr[c] + 1, R_DAY] <= t:
                ptr[c] += 1
            row = ptr[c]
            k = out_c_i[p, c, O_CONTRACTS]
            done = False
            if path_i[row, R_DAY] == t and math.isfinite(path_f[row, R_SETTLE]):
                # expiring legs settle at intrinsic for free; legs of later expiries (calendars, diagonals) are
                # traded out at their closing fills and pay the per-leg cost
                cf, reason, done = path_f[row, R_SETTLE], EXIT_EXPIRY, True
                cost = pr[P_COST_PER_CONTRACT_LEG] * path_i[row, R_SETTLE_LEGS] * k
            elif pending_exit[c] >= 0 and path_i[row, R_DAY] == t:
                cf, reason = path_f[row, R_EXIT], pending_exit[c]
                cost, done = pr[P_COST_PER_CONTRACT_LEG] * cand_i[c, C_LEGS] * k, True
            if done:
                cash += cf * k * 100.0 - cost
                out_c_f[p, c, O_EXIT_CF] = cf
                out_c_i[p, c, O_EXIT_DAY] = t
                out_c_i[p, c, O_STATUS] = reason
                out_c_f[p, c, O_PNL] += cf * k * 100.0 - cost
                pending_exit[c] = -1
                n_open -= 1
                open_ids[j] = open_ids[n_open]  # order of the open list does not matter
            else:
                j += 1
        # 3. mark to market at today's closing fills
        liq = 0.0
        open_ml = 0.0
        book[:] = 0.0
        for j in range(n_open):
            c = open_ids[j]
            k = out_c_i[p, c, O_CONTRACTS]
            liq += path_f[ptr[c], R_CLOSE] * k * 100.0
            open_ml += path_f[path_off[c], R_MAX_LOSS] * k * 100.0
            for q in range(n_s):
                book[q] += path_stress[ptr[c], q] * k * 100.0
        eq = cash + liq
        out_day_f[p, t, D_EQUITY] = eq
        out_day_f[p, t, D_OPEN_ML] = open_ml
        out_day_i[p, t, D_N_OPEN] = n_open
        # 4. limits on that equity; the kill switch holds until reset
        hwm = max(hwm, eq)
        if not killed and hwm > 0.0 and (hwm - eq) / hwm * 100.0 >= pr[P_DD_LIMIT_PCT]:
            killed = True
            killed_day = t
        elif killed and pr[P_RECOVERY_DAYS] > 0 and t - killed_day >= pr[P_RECOVERY_DAYS]:
            killed = False
            hwm = eq  # a documented recovery rule starts a new high-water mark
        daily = (prev_eq - eq) / prev_eq * 100.0 if prev_eq > 0.0 else 0.0
        weekly = (week_start_eq - eq) / week_start_eq * 100.0 if week_start_eq > 0.0 else 0.0
        blocked = killed or daily >= pr[P_DAILY_LIMIT_PCT] or weekly >= pr[P_WEEKLY_LIMIT_PCT]
        out_day_i[p, t, D_BLOCKED] = 1 if blocked else 0
        prev_eq = eq
        while next_c < n_c and cand_i[next_c, C_SIGNAL] < t:
            next_c += 1
        if t + 1 >= n_days:
            continue
        # 5. exit decisions at today's close, filled tomorrow
        for j in range(n_open):
            c = open_ids[j]
            row = ptr[c]
            if pending_exit[c] >= 0 or row + 1 >= path_off[c + 1]:
                continue
            pending_exit[c] = _exit_reason_nb(pr, c, row, path_off[c], t, day_regime, cand_i, path_i, path_f,
                                              1 if killed else 0)  # fmt: skip
        # 6. entry decisions at today's close, sized on today's equity, filled tomorrow
        pending_ml = 0.0
        while next_c < n_c and cand_i[next_c, C_SIGNAL] == t:
            c = next_c
            next_c += 1
            if path_off[c + 1] == path_off[c] or cand_i[c, C_ENTRY] != t + 1:
                out_c_i[p, c, O_STATUS] = REJ_NO_PATH
            elif blocked:
                out_c_i[p, c, O_STATUS] = REJ_BLOCKED
            else:
                k, status = _size_nb(pr, cand_ml_est[c] * 100.0, eq, open_ml + pending_ml, n_open + n_entries,
                                     cand_i[c, C_REGIME])  # fmt: skip
                if k > 0:
                    cap = _stress_cap_nb(book, cand_stress, c, pr[P_STRESS_LIMIT_PCT] / 100.0 * eq)
                    if 0 <= cap < k:
                        k = cap
                        if k < 1:
                            status = REJ_STRESS
                out_c_i[p, c, O_STATUS] = status
                if k > 0:
                    out_c_i[p, c, O_CONTRACTS] = k
                    entries[n_entries] = c
                    n_entries += 1
                    pending_ml += cand_ml_est[c] * k * 100.0  # today's estimate: tomorrow's fill is unknown
                    for q in range(n_s):
                        book[q] += cand_stress[c, q] * k * 100.0
    # still open at the end: marked at the last day's closing fills
    for j in range(n_open):
        c = open_ids[j]
        cf = path_f[ptr[c], R_CLOSE]
        out_c_f[p, c, O_EXIT_CF] = cf
        out_c_f[p, c, O_PNL] += cf * out_c_i[p, c, O_CONTRACTS] * 100.0
        out_c_i[p, c, O_STATUS] = OPEN_AT_END


@njit(**PARALLEL)
def _simulate_nb(
    n_days: int,
    day_regime: Any,
    day_week: Any,
    cand_i: Any,
    cand_ml_est: Any,
    cand_stress: Any,
    path_off: Any,
    path_i: Any,
    path_f: Any,
    path_stress: Any,
    params: Any,
    equity0: float,
    out_day_f: Any,
    out_day_i: Any,
    out_c_i: Any,
    out_c_f: Any,
) -> None:
    """Simulate every parameter set (rows of ``params``) over ``n_days``; see the module docstring.

    Inputs, packed by column (the ``C_*``, ``R_*`` constants):

    * ``cand_i`` (n_c, N_CAND) int64: signal day, entry day, legs, credit flag (1/0), regime code; candidates
      sorted by signal day (then priority: earlier rows are sized first); ``cand_ml_est`` (n_c,) the sizing
      estimate of max loss per share; ``cand_stress`` (n_c, n_scenarios) the per-share stress P&L at the
      signal day (0 where unknown);
    * ``path_off`` (n_c + 1,): candidate ``c`` owns path rows ``path_off[c]:path_off[c + 1]``, one per session
      from its entry day to its last day (dense, ascending); ``path_i`` (n_rows, N_PATH_I) int64: day, DTE,
      legs traded out on an expiry row; ``path_f`` (n_rows, N_PATH_F): close (the mark), exit (what an exit
      decided the session before fills at: the close, or the open), settle (finite only on an expiry day's
      row), entry, max loss and max profit cashflows; entry, max loss and max profit are read on a candidate's
      first row (a NaN entry cashflow is unexecutable); ``path_stress`` (n_rows, n_scenarios) each row's
      stress-scenario P&L.

    Outputs (every cell written): ``out_day_f`` (n_p, n_days, 2) equity and open max loss, ``out_day_i``
    (n_p, n_days, 2) open positions and the blocked flag, ``out_c_i`` (n_p, n_c, 4) contracts, status, entry
    and exit day, ``out_c_f`` (n_p, n_c, 3) entry and exit cashflow per share and P&L. Per-share values;
    money in dollars (x 100 per contract).
    """
    for p in prange(params.shape[0]):
        _simulate_one_nb(
            p,
            n_days,
            day_regime,
            day_week,
            cand_i,
            cand_ml_est,
            cand_stress,
            path_off,
            path_i,
            path_f,
            path_stress,
            params,
            equity0,
            out_day_f,
            out_day_i,
            out_c_i,
            out_c_f,
        )


KERNELS = [_simulate_nb]
