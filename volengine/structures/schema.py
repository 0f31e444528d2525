"""Column schemas of the structure builders' inputs and outputs (units in the comments).

Points are option prices per share (dollars = points x ``multiplier``). Cashflows are signed: + credit
received, − debit paid. Greeks are per share in canonical units (vega per 1.00 vol, theta per year) and
summed as ``Σ qty x leg Greek``.
"""

from __future__ import annotations

from typing import Any

import polars as pl

#: required request columns (one row per wanted structure)
REQUEST_SCHEMA: dict[str, Any] = {
    "request_id": pl.Int64,  # unique, the key of both outputs
    "underlying": pl.String,
    "date": pl.Date,  # the as-of date d: the chain of this day is used
    "choice": pl.String,  # a StructureChoice value; "none" gives UNSUPPORTED_EDGE rows
}
#: optional per-request overrides; null (or a missing column) means the settings' default
OVERRIDE_SCHEMA: dict[str, Any] = {
    "strike_mode": pl.String,  # "offset" or "delta"
    "offset_widths": pl.Float64,  # k: the body leg at ATM ± k·w (offset mode)
    "width_points": pl.Float64,  # preferred width w: the width search starts here
    "short_delta_abs": pl.Float64,  # delta mode: target abs(delta) of the short legs (a debit vertical's long)
    "target_dte_days": pl.Int64,
    "min_dte_days": pl.Int64,
    "max_dte_days": pl.Int64,
    "center_strike": pl.Float64,  # butterflies, iron butterflies, calendars, diagonals: the body strike (e.g. a pin K*)
    "right": pl.String,  # calendars and diagonals: "C" (default) or "P"
    "front_min_dte_days": pl.Int64,  # calendars, diagonals: the front is the first expiry with DTE >= this
    "back_gap_days": pl.Int64,  # calendars, diagonals: the back is the first expiry with DTE >= front DTE + this
}

#: one row per request, valid or not
STRUCTURE_SCHEMA: dict[str, Any] = {
    "request_id": pl.Int64,
    "underlying": pl.String,
    "date": pl.Date,
    "choice": pl.String,
    "structure_type": pl.String,  # a StructureType value
    "strike_mode": pl.String,
    "is_valid": pl.Boolean,  # never null
    "reason": pl.String,  # a BuildStatus name when invalid (the preferred width's failure), else null
    "message": pl.String,  # every width attempt and why it failed; null for a first-attempt success
    "n_legs": pl.Int8,
    "expiration": pl.Date,  # the (front) expiry; also set on invalid rows when one was found
    "back_expiration": pl.Date,  # calendars and diagonals only
    "root": pl.String,
    "dte": pl.Int32,  # calendar days to the (front) expiry
    "multiplier": pl.Int32,  # shares per contract
    "width_points": pl.Float64,  # the wider wing (verticals: the width)
    "wing_low_points": pl.Float64,  # width of the wing below the body (put side), null if none
    "wing_high_points": pl.Float64,  # width of the wing above the body (call side), null if none
    "search_width_points": pl.Float64,  # the width w of the attempt that built
    "entry_cashflow_points": pl.Float64,  # signed, conservative: sell at bid, buy at ask
    "mid_cashflow_points": pl.Float64,  # signed, at mids
    "max_loss_points": pl.Float64,  # > 0; exact from the expiry payoff (calendars, covered diagonals: the debit)
    "max_profit_points": pl.Float64,  # exact; null for calendars and diagonals (see model_max_profit_points)
    "model_max_profit_points": pl.Float64,  # calendars, diagonals: back leg at the front expiry, S = short K, Black
    "payoff_is_model": pl.Boolean,  # True when breakevens come from that model (calendars, diagonals)
    "breakeven_low": pl.Float64,  # lower bound of the profit region; null if it reaches S = 0
    "breakeven_high": pl.Float64,  # upper bound of the profit region; null if unbounded above
    "net_delta": pl.Float64,
    "net_gamma": pl.Float64,
    "net_vega": pl.Float64,
    "net_theta": pl.Float64,
    "substituted": pl.Boolean,  # some strike is not at its target (distance > strike tolerance)
    "substitution_points": pl.Float64,  # the largest such distance, 0 if none
    "min_leg_volume": pl.Float64,  # null when some leg's volume is unknown
    "min_leg_open_interest": pl.Float64,  # null when some leg's open interest is unknown
    "max_leg_spread_pct": pl.Float64,  # largest (ask − bid)/mid of a leg, a fraction like contracts.spread_pct
    "atm_strike": pl.Float64,  # listed strike nearest spot on the chosen (front) chain
    "strike_increment": pl.Float64,  # the chain's strike step (width-search step)
    "attempts": pl.Int16,  # width attempts made
}

#: one row per leg of every valid structure
LEG_SCHEMA: dict[str, Any] = {
    "request_id": pl.Int64,
    "leg": pl.Int8,  # 0-based, in the order of seed-spec §2.7 (e.g. condor: +P wing, −P, −C, +C wing)
    "underlying": pl.String,
    "root": pl.String,
    "expiration": pl.Date,
    "strike": pl.Float64,
    "right": pl.String,  # "C" or "P"
    "qty": pl.Int8,  # +1 long, −1 short, ±2 butterfly bodies (per structure)
    "multiplier": pl.Int32,
    "dte": pl.Int32,
    "bid": pl.Float64,
    "ask": pl.Float64,
    "mid": pl.Float64,
    "iv": pl.Float64,
    "delta": pl.Float64,
    "gamma": pl.Float64,
    "vega": pl.Float64,
    "theta": pl.Float64,
}

#: contract columns the builders read (volengine.analytics.contracts.contract_analytics output)
CONTRACT_COLUMNS = (
    "underlying", "date", "expiration", "root", "strike", "right", "multiplier", "bid", "ask", "mid", "spread_pct",
    "volume", "open_interest", "underlying_price", "dte", "t", "disc", "forward", "iv", "delta", "gamma", "vega",
    "theta",
)  # fmt: skip
