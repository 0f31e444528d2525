"""Structure builders on hand-built chains: every structure's legs, entry, max loss/profit and breakevens
computed by hand (to the cent), then each failure code, substitution, delta mode, expiry choice and the
width search."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import polars as pl
import pytest
from numpy.testing import assert_allclose
from structure_chains import (
    D0,
    FRONT_CALLS,
    FRONT_PUTS,
    chain,
    frame,
    main_deltas,
    main_quotes,
    quotes,
    requests,
)

from volengine.config import LiquiditySettings, Settings, with_overrides
from volengine.errors import DataError, SchemaError
from volengine.structures import LEG_SCHEMA, STRUCTURE_SCHEMA, build_structures

TOL = {"rtol": 0, "atol": 1e-9}


def _without(q: dict[Any, Any], *keys: tuple[float, str]) -> dict[Any, Any]:
    return {k: v for k, v in q.items() if k not in keys}


def _with(q: dict[Any, Any], **changes: tuple[float, float]) -> dict[Any, Any]:
    """Replace quotes, keys spelled like ``P90`` or ``C105``."""
    out = dict(q)
    for key, value in changes.items():
        out[(float(key[1:]), key[0])] = value
    return out


@pytest.fixture(scope="module")
def contracts() -> pl.DataFrame:
    main = main_quotes()
    ws_puts = {94: (0.0, 0.05), 95: (0.10, 0.12), 96: (0.15, 0.17), 97: (0.25, 0.27), 98: (0.40, 0.42),
               99: (0.60, 0.62), 100: (0.90, 0.92), 101: (1.30, 1.32), 102: (1.80, 1.82)}  # fmt: skip
    ws_calls = {k: (max(bid + 100.2 - k, 0.01), max(ask + 100.2 - k, 0.02)) for k, (bid, ask) in ws_puts.items()}
    return frame(
        chain("AAA", 10, quotes(FRONT_CALLS, FRONT_PUTS)),
        chain("AAA", 31, main, delta=main_deltas()),
        chain("AAA", 80, main),
        chain("UNQ", 31, _without(main, (110.0, "C"))),
        chain("UBF", 31, _without(main, (105.0, "C"))),
        chain("NEG", 31, _with(main, C95=(5.90, 6.00), C100=(3.60, 3.70), C105=(0.90, 1.00))),
        chain("CGW", 31, _with(main, P95=(5.10, 5.20), P90=(0.01, 0.05))),
        chain("MQ", 31, _with(main, P90=(0.0, 0.35))),
        chain("ILQ", 31, main, volume={(90.0, "P"): 3}, open_interest={(95.0, "P"): None}),
        chain("SUB", 31, _without(main, (95.0, "C"), (95.0, "P"))),
        chain("WSB", 31, {**_without(main, (90.0, "C"), (90.0, "P")), (80.0, "P"): (0.02, 0.05)}),
        chain("EXP", 10, main),
        chain("EXP", 24, main),
        chain("EXP", 38, main),
        chain("EXP", 70, main),
        chain("WS", 31, quotes(ws_calls, ws_puts), spot=100.2),
    )


def _one(contracts: pl.DataFrame, settings: Settings | None = None, liquidity: Any = None,
         **request: Any) -> tuple[dict[str, Any], pl.DataFrame]:  # fmt: skip
    request.setdefault("underlying", "AAA")
    s, legs = build_structures(contracts, requests(request), settings, liquidity=liquidity)
    assert s.height == 1
    return s.row(0, named=True), legs.sort("leg")


def _legs(legs: pl.DataFrame) -> list[tuple[float, str, int]]:
    return list(zip(legs["strike"].to_list(), legs["right"].to_list(), legs["qty"].to_list(), strict=True))


def _check(row: dict[str, Any], **expected: float | None) -> None:
    for name, value in expected.items():
        if value is None:
            assert row[name] is None, (name, row[name])
        else:
            assert_allclose(row[name], value, **TOL, err_msg=name)


# --------------------------------------------------------------------------------------- every structure by hand
def test_put_credit_spread_by_hand(contracts: pl.DataFrame) -> None:
    row, legs = _one(contracts, choice="put_credit_spread")
    assert row["is_valid"]
    assert row["reason"] is None
    assert row["message"] is None
    assert _legs(legs) == [(95.0, "P", -1), (90.0, "P", 1)]
    # sell the 95 put at its bid 0.80, buy the 90 put at its ask 0.35
    _check(row, entry_cashflow_points=0.45, mid_cashflow_points=0.85 - 0.325, max_loss_points=4.55,
           max_profit_points=0.45, breakeven_low=94.55, breakeven_high=None, width_points=5.0)  # fmt: skip
    assert row["expiration"] == D0 + timedelta(days=31)
    assert row["dte"] == 31
    assert row["atm_strike"] == 100.0
    assert row["n_legs"] == 2
    assert row["multiplier"] == 100
    assert row["substituted"] is False
    assert row["structure_type"] == "credit_spread"


def test_call_credit_spread_by_hand(contracts: pl.DataFrame) -> None:
    row, legs = _one(contracts, choice="call_credit_spread")
    assert _legs(legs) == [(105.0, "C", -1), (110.0, "C", 1)]
    _check(row, entry_cashflow_points=0.65, max_loss_points=4.35, max_profit_points=0.65, breakeven_low=None,
           breakeven_high=105.65, wing_high_points=5.0, wing_low_points=None)  # fmt: skip


def test_debit_verticals_by_hand(contracts: pl.DataFrame) -> None:
    row, legs = _one(contracts, choice="put_debit_spread")
    assert _legs(legs) == [(100.0, "P", 1), (95.0, "P", -1)]
    _check(row, entry_cashflow_points=-1.70, max_loss_points=1.70, max_profit_points=3.30, breakeven_low=None,
           breakeven_high=98.30)  # fmt: skip
    row, legs = _one(contracts, choice="call_debit_spread")
    assert _legs(legs) == [(100.0, "C", 1), (105.0, "C", -1)]
    _check(row, entry_cashflow_points=-2.00, max_loss_points=2.00, max_profit_points=3.00, breakeven_low=102.0,
           breakeven_high=None)  # fmt: skip


def test_iron_condor_by_hand(contracts: pl.DataFrame) -> None:
    row, legs = _one(contracts, choice="iron_condor", width_points=5.0)
    assert _legs(legs) == [(90.0, "P", 1), (95.0, "P", -1), (105.0, "C", -1), (110.0, "C", 1)]
    credit = 0.80 + 1.00 - 0.35 - 0.35
    _check(row, entry_cashflow_points=credit, max_loss_points=5 - credit, max_profit_points=credit,
           breakeven_low=95 - credit, breakeven_high=105 + credit)  # fmt: skip


def test_default_condor_substitutes_its_wings(contracts: pl.DataFrame) -> None:
    # default wings 10: shorts at ATM ± 10 = 90 / 110, wings at 80 / 120 are not listed: 85 / 115, 5 away
    row, legs = _one(contracts, choice="iron_condor")
    assert _legs(legs) == [(85.0, "P", 1), (90.0, "P", -1), (110.0, "C", -1), (115.0, "C", 1)]
    credit = 0.30 + 0.30 - 0.15 - 0.10
    _check(row, entry_cashflow_points=credit, max_loss_points=5 - credit, search_width_points=10.0,
           width_points=5.0, substitution_points=5.0)  # fmt: skip
    assert row["substituted"] is True


def test_iron_butterfly_by_hand(contracts: pl.DataFrame) -> None:
    row, legs = _one(contracts, choice="iron_butterfly")
    assert _legs(legs) == [(95.0, "P", 1), (100.0, "P", -1), (100.0, "C", -1), (105.0, "C", 1)]
    credit = 2.40 + 2.90 - 0.90 - 1.10
    _check(row, entry_cashflow_points=credit, max_loss_points=5 - credit, max_profit_points=credit,
           breakeven_low=100 - credit, breakeven_high=100 + credit)  # fmt: skip


@pytest.mark.parametrize(("choice", "right", "debit"), [("call_butterfly", "C", 6.40 + 1.10 - 2 * 2.90),
                                                          ("put_butterfly", "P", 0.90 + 5.50 - 2 * 2.40)])  # fmt: skip
def test_butterflies_by_hand(contracts: pl.DataFrame, choice: str, right: str, debit: float) -> None:
    row, legs = _one(contracts, choice=choice)
    assert _legs(legs) == [(95.0, right, 1), (100.0, right, -2), (105.0, right, 1)]
    _check(row, entry_cashflow_points=-debit, max_loss_points=debit, max_profit_points=5 - debit,
           breakeven_low=95 + debit, breakeven_high=105 - debit)  # fmt: skip


def test_butterfly_at_a_pin_strike(contracts: pl.DataFrame) -> None:
    row, legs = _one(contracts, choice="call_butterfly", center_strike=105.0)
    assert _legs(legs) == [(100.0, "C", 1), (105.0, "C", -2), (110.0, "C", 1)]
    debit = 3.00 + 0.35 - 2 * 1.00
    _check(row, max_loss_points=debit, max_profit_points=5 - debit)


def test_calendar_by_hand(contracts: pl.DataFrame) -> None:
    row, legs = _one(contracts, choice="calendar")
    assert _legs(legs) == [(100.0, "C", -1), (100.0, "C", 1)]
    assert legs["expiration"].to_list() == [D0 + timedelta(days=10), D0 + timedelta(days=31)]
    assert row["expiration"] == D0 + timedelta(days=10)
    assert row["back_expiration"] == D0 + timedelta(days=31)
    # sell the front 100 call at 1.80, buy the back one at 3.00; a long calendar loses at most its debit
    _check(row, entry_cashflow_points=-1.20, max_loss_points=1.20, max_profit_points=None)
    assert row["payoff_is_model"] is True
    assert row["model_max_profit_points"] > 0
    assert row["breakeven_low"] < 100.0 < row["breakeven_high"]
    put_row, put_legs = _one(contracts, choice="calendar", right="P")
    assert _legs(put_legs) == [(100.0, "P", -1), (100.0, "P", 1)]
    _check(put_row, entry_cashflow_points=-(2.50 - 1.40))


def test_diagonal_by_hand(contracts: pl.DataFrame) -> None:
    # sell the front (10 d) 100 call at its bid 1.80, buy the back (31 d) 95 call, 5 in the money, at 6.40
    row, legs = _one(contracts, choice="diagonal")
    assert _legs(legs) == [(100.0, "C", -1), (95.0, "C", 1)]
    assert legs["expiration"].to_list() == [D0 + timedelta(days=10), D0 + timedelta(days=31)]
    assert (row["expiration"], row["back_expiration"]) == (D0 + timedelta(days=10), D0 + timedelta(days=31))
    # the back call is worth at least its intrinsic value, which covers the short call's: max loss = the debit
    _check(row, entry_cashflow_points=-(6.40 - 1.80), max_loss_points=4.60, max_profit_points=None,
           width_points=5.0, wing_low_points=5.0, wing_high_points=None)  # fmt: skip
    assert row["structure_type"] == "diagonal"
    assert row["payoff_is_model"] is True
    assert row["model_max_profit_points"] > 0
    # puts mirror it: short front 100 put at 1.40, long back 105 put at 5.50
    put_row, put_legs = _one(contracts, choice="diagonal", right="P")
    assert _legs(put_legs) == [(100.0, "P", -1), (105.0, "P", 1)]
    _check(put_row, entry_cashflow_points=-(5.50 - 1.40), max_loss_points=4.10, wing_high_points=5.0)
    # offset mode moves the short strike out of the money by k·w, the long one follows it
    out_row, out_legs = _one(contracts, choice="diagonal", offset_widths=1.0)
    assert _legs(out_legs) == [(105.0, "C", -1), (100.0, "C", 1)]
    _check(out_row, entry_cashflow_points=-(3.00 - 0.30), max_loss_points=2.70)


def test_net_greeks_are_quantity_weighted_leg_sums(contracts: pl.DataFrame) -> None:
    row, legs = _one(contracts, choice="call_butterfly")
    for greek in ("delta", "gamma", "vega", "theta"):
        by_hand = sum(q * g for q, g in zip(legs["qty"], legs[greek], strict=True))
        assert_allclose(row[f"net_{greek}"], by_hand, rtol=1e-12)
    # the main chain's call deltas: 95 -> 0.79, 100 -> 0.55, 105 -> 0.30
    assert_allclose(row["net_delta"], 0.79 - 2 * 0.55 + 0.30, atol=1e-12)


# --------------------------------------------------------------------------------------- unequal wings
def test_unequal_wing_condor_max_loss_is_the_wider_wing(contracts: pl.DataFrame) -> None:
    row, legs = _one(contracts, choice="iron_condor", underlying="UNQ", width_points=5.0)
    assert _legs(legs) == [(90.0, "P", 1), (95.0, "P", -1), (105.0, "C", -1), (115.0, "C", 1)]
    credit = 0.80 + 1.00 - 0.35 - 0.10
    _check(row, entry_cashflow_points=credit, max_loss_points=10 - credit, max_profit_points=credit,
           wing_low_points=5.0, wing_high_points=10.0, width_points=10.0, breakeven_low=95 - credit,
           breakeven_high=105 + credit, substitution_points=5.0)  # fmt: skip


def test_unequal_wing_butterfly_max_loss_is_exact(contracts: pl.DataFrame) -> None:
    row, legs = _one(contracts, choice="call_butterfly", underlying="UBF")
    assert _legs(legs) == [(95.0, "C", 1), (100.0, "C", -2), (110.0, "C", 1)]
    debit = 6.40 + 0.35 - 2 * 2.90
    # payoff: -debit below 95, peak 5 - debit at 100, then slope -1 to 110 and flat at -5 - debit above
    _check(row, entry_cashflow_points=-debit, max_loss_points=5 + debit, max_profit_points=5 - debit,
           breakeven_low=95 + debit, breakeven_high=100 + 5 - debit)  # fmt: skip


# --------------------------------------------------------------------------------------- failure codes
def test_negative_butterfly_debit_is_rejected(contracts: pl.DataFrame) -> None:
    row, legs = _one(contracts, choice="call_butterfly", underlying="NEG")
    assert not row["is_valid"]
    assert row["reason"] == "DEBIT_NONPOSITIVE"
    assert legs.height == 0
    assert "debit -0.2 <= 0" in row["message"]
    assert row["max_loss_points"] is None
    assert row["entry_cashflow_points"] is None


def test_credit_at_or_above_width_is_rejected(contracts: pl.DataFrame) -> None:
    row, _ = _one(contracts, choice="put_credit_spread", underlying="CGW")
    assert not row["is_valid"]
    assert row["reason"] == "VALIDATION_FAIL"
    assert "max loss -0.05 <= 0 (credit >= width 5)" in row["message"]


def test_missing_quote_is_invalid_quote(contracts: pl.DataFrame) -> None:
    row, _ = _one(contracts, choice="put_credit_spread", underlying="MQ")
    assert row["reason"] == "INVALID_QUOTE"
    assert "at 90 P" in row["message"]


def test_illiquid_leg_fails_only_when_enforced(contracts: pl.DataFrame) -> None:
    strict = LiquiditySettings(min_volume=10, min_open_interest=0, max_bid_ask_pct=50.0, enforce_liquidity=True)
    row, _ = _one(contracts, choice="put_credit_spread", underlying="ILQ", liquidity=strict)
    assert row["reason"] == "LIQUIDITY_FAIL"
    assert "volume 3 below min_volume at 90 P" in row["message"]
    assert row["min_leg_volume"] is None  # leg metrics only on valid rows
    loose = strict.model_copy(update={"enforce_liquidity": False})
    row, _ = _one(contracts, choice="put_credit_spread", underlying="ILQ", liquidity=loose)
    assert row["is_valid"]
    assert row["min_leg_volume"] == 3.0
    assert row["min_leg_open_interest"] is None
    # unknown open interest fails an open-interest minimum
    oi = strict.model_copy(update={"min_volume": 0, "min_open_interest": 50})
    row, _ = _one(contracts, choice="put_credit_spread", underlying="ILQ", liquidity={"ilq": oi})
    assert row["reason"] == "LIQUIDITY_FAIL"
    assert "open interest unknown below min_open_interest at 95 P" in row["message"]
    # the bid-ask filter: the 90 put is 0.30/0.35, 15.4 % of its mid
    spread = strict.model_copy(update={"min_volume": 0, "max_bid_ask_pct": 15.0})
    row, _ = _one(contracts, choice="put_credit_spread", liquidity=spread)
    assert row["reason"] == "LIQUIDITY_FAIL"
    assert "bid-ask 15.38% above max_bid_ask_pct at 90 P" in row["message"]


def test_paper_mode_does_not_enforce_liquidity_by_default(contracts: pl.DataFrame) -> None:
    row, _ = _one(contracts, choice="put_credit_spread", underlying="ILQ")
    assert row["is_valid"]
    live = with_overrides(Settings(), {"account": {"mode": "live"}})
    row, _ = _one(contracts, live, choice="put_credit_spread", underlying="ILQ")
    assert row["reason"] == "LIQUIDITY_FAIL"


def test_validation_gate_options(contracts: pl.DataFrame) -> None:
    cases = [({"max_loss_cap_usd": 400.0}, "max loss $455 above max_loss_cap_usd 400"),
             ({"min_credit_width_ratio": 0.2}, "credit/width 0.09 below min_credit_width_ratio 0.2"),
             ({"min_reward_risk_ratio": 0.5}, "reward/risk 0.0989 below min_reward_risk_ratio 0.5")]  # fmt: skip
    for patch, text in cases:
        s = with_overrides(Settings(), {"structures": {"validation": patch}})
        row, _ = _one(contracts, s, choice="put_credit_spread")
        assert row["reason"] == "VALIDATION_FAIL", patch
        assert text in row["message"], (patch, row["message"])
    small = with_overrides(Settings(), {"account": {"equity_usd": 800.0}})
    row, _ = _one(contracts, small, choice="put_credit_spread")
    assert "margin $455 above max_margin_equity_pct of equity ($400)" in row["message"]


def test_unsupported_and_missing_chains_are_rows_not_errors(contracts: pl.DataFrame) -> None:
    reqs = requests({"underlying": "AAA", "choice": "none"}, {"underlying": "EXP", "choice": "diagonal",
                                                              "back_gap_days": 70},
                    {"underlying": "ZZZ", "choice": "iron_condor"},
                    {"underlying": "AAA", "choice": "iron_condor", "width_points": 25.0})  # fmt: skip
    s, legs = build_structures(contracts, reqs)
    assert s["reason"].to_list() == ["UNSUPPORTED_EDGE", "NO_EXPIRY", "NO_EXPIRY", "VALIDATION_FAIL"]
    assert s["message"].to_list() == [
        "choice 'none' is not traded",
        "no front expiry with DTE in [7, 60] followed by a back expiry with DTE >= front + 70",
        "no chain for ZZZ on 2024-01-02", "width 25 above max_width_points 20",
    ]  # fmt: skip
    assert not s["is_valid"].any()
    assert legs.height == 0


# --------------------------------------------------------------------------------------- strike selection
def test_short_strike_substitution_is_recorded_and_capped(contracts: pl.DataFrame) -> None:
    row, legs = _one(contracts, choice="put_credit_spread", underlying="SUB")
    # no 95: 90 and 100 are equally near, the further out-of-the-money one wins
    assert _legs(legs) == [(90.0, "P", -1), (85.0, "P", 1)]
    assert row["substituted"] is True
    assert row["substitution_points"] == 5.0
    capped = with_overrides(Settings(), {"structures": {"strikes": {"max_substitution_points": 4.0}}})
    row, _ = _one(contracts, capped, choice="put_credit_spread", underlying="SUB")
    assert row["reason"] == "SHORT_STRIKE_NOT_FOUND"
    assert "target 95, nearest listed 90 is beyond max_substitution_points" in row["message"]


def test_wing_substitution_is_recorded_and_capped(contracts: pl.DataFrame) -> None:
    row, legs = _one(contracts, choice="put_credit_spread", underlying="WSB")
    assert _legs(legs) == [(95.0, "P", -1), (85.0, "P", 1)]
    _check(row, width_points=10.0, entry_cashflow_points=0.80 - 0.15, max_loss_points=10 - 0.65,
           substitution_points=5.0)  # fmt: skip
    capped = with_overrides(Settings(), {"structures": {"strikes": {"max_substitution_points": 4.0}}})
    row, _ = _one(contracts, capped, choice="put_credit_spread", underlying="WSB")
    assert row["reason"] == "LONG_STRIKE_NOT_FOUND"


def test_delta_mode_picks_the_listed_strike_nearest_the_target_delta(contracts: pl.DataFrame) -> None:
    row, legs = _one(contracts, choice="put_credit_spread", strike_mode="delta", short_delta_abs=0.10)
    assert _legs(legs) == [(90.0, "P", -1), (85.0, "P", 1)]  # 90 put: delta -0.08
    assert row["strike_mode"] == "delta"
    _check(row, entry_cashflow_points=0.30 - 0.15)
    # condor at the default 0.16: put 95 (-0.21) beats 90 (-0.08); call 110 (0.12) beats 105 (0.30)
    row, legs = _one(contracts, choice="iron_condor", strike_mode="delta", width_points=5.0)
    assert _legs(legs) == [(90.0, "P", 1), (95.0, "P", -1), (110.0, "C", -1), (115.0, "C", 1)]
    _check(row, entry_cashflow_points=0.80 + 0.30 - 0.35 - 0.10)
    # the settings' strike_mode applies when the request has none
    s = with_overrides(Settings(), {"structures": {"strikes": {"strike_mode": "delta"}}})
    row, legs = _one(contracts, s, choice="call_credit_spread", short_delta_abs=0.10)
    assert _legs(legs) == [(110.0, "C", -1), (115.0, "C", 1)]


@pytest.mark.parametrize(
    ("override", "dte"),
    [({}, 24), ({"target_dte_days": 31}, 24), ({"target_dte_days": 60}, 38), ({"target_dte_days": 45}, 38),
     ({"target_dte_days": 60, "max_dte_days": 80}, 70), ({"target_dte_days": 8, "min_dte_days": 9}, 10)],
)  # fmt: skip
def test_expiry_is_the_window_dte_closest_to_target_ties_earlier(contracts: pl.DataFrame, override: dict[str, Any],
                                                                 dte: int) -> None:  # fmt: skip
    row, _ = _one(contracts, choice="put_credit_spread", underlying="EXP", **override)
    assert row["dte"] == dte
    assert row["expiration"] == D0 + timedelta(days=dte)


def test_no_expiry_in_the_window(contracts: pl.DataFrame) -> None:
    row, _ = _one(contracts, choice="put_credit_spread", underlying="EXP", min_dte_days=50, target_dte_days=55)
    assert row["reason"] == "NO_EXPIRY"
    assert row["message"] == "no expiry with DTE in [50, 60] (target 55)"
    row, _ = _one(contracts, choice="calendar", underlying="EXP", back_gap_days=70)
    assert row["reason"] == "NO_EXPIRY"
    assert row["message"].startswith("no front expiry with DTE in [7, 60]")


def test_width_search_steps_down_by_the_chain_increment(contracts: pl.DataFrame) -> None:
    row, legs = _one(contracts, choice="put_credit_spread", underlying="WS", width_points=3.0)
    # w = 3: short 97, long 94 has no bid; w = 2: short 98, long 96
    assert _legs(legs) == [(98.0, "P", -1), (96.0, "P", 1)]
    assert row["message"] == "w=3: INVALID_QUOTE (no valid quote (bid > 0, ask > 0, bid <= ask) at 94 P); w=2: ok"
    _check(row, search_width_points=2.0, strike_increment=1.0, entry_cashflow_points=0.40 - 0.17)
    assert row["attempts"] == 2
    no_room = with_overrides(Settings(), {"structures": {"strikes": {"min_width_points": 3.0}}})
    row, _ = _one(contracts, no_room, choice="put_credit_spread", underlying="WS", width_points=3.0)
    assert row["reason"] == "INVALID_QUOTE"
    assert row["attempts"] == 1


# --------------------------------------------------------------------------------------- schema and inputs
def test_output_schemas_and_request_order(contracts: pl.DataFrame) -> None:
    choices = ["calendar", "iron_condor", "none", "put_credit_spread", "call_butterfly"]
    reqs = requests(*({"underlying": "AAA", "choice": c} for c in choices)).with_columns(
        (10 - pl.col("request_id")).alias("request_id")
    )
    s, legs = build_structures(contracts, reqs)
    assert s.schema == pl.Schema(STRUCTURE_SCHEMA)
    assert legs.schema == pl.Schema(LEG_SCHEMA)
    assert s["request_id"].to_list() == [10, 9, 8, 7, 6]
    assert s["choice"].to_list() == choices
    assert legs.group_by("request_id").len().sort("request_id")["len"].to_list() == [3, 2, 4, 2]
    assert s.filter(pl.col("is_valid"))["n_legs"].to_list() == [2, 4, 2, 3]


def test_unsorted_contracts_give_the_same_result(contracts: pl.DataFrame) -> None:
    reqs = requests(*({"underlying": u, "choice": "iron_condor", "width_points": 5.0} for u in ("AAA", "UNQ", "WS")))
    base = build_structures(contracts, reqs)
    shuffled = build_structures(contracts.sample(fraction=1.0, shuffle=True, seed=3), reqs)
    for a, b in zip(base, shuffled, strict=True):
        assert a.equals(b)


def test_bad_requests_raise_at_the_boundary(contracts: pl.DataFrame) -> None:
    with pytest.raises(SchemaError, match="missing required column"):
        build_structures(contracts, pl.DataFrame({"request_id": [1]}))
    with pytest.raises(DataError, match="'request_id' must be unique"):
        build_structures(contracts, requests({"underlying": "AAA", "choice": "calendar"}).vstack(
            requests({"underlying": "AAA", "choice": "calendar"})))  # fmt: skip
    with pytest.raises(DataError, match="'choice' must be one of") as info:
        build_structures(contracts, requests({"underlying": "AAA", "choice": "iron_condr"}))
    assert info.value.value == "iron_condr"
    assert info.value.row == 0
    with pytest.raises(DataError, match="'short_delta_abs' must lie in"):
        build_structures(contracts, requests({"underlying": "AAA", "choice": "iron_condor", "short_delta_abs": 1.5}))
    with pytest.raises(SchemaError, match="contracts are missing"):
        build_structures(contracts.drop("delta"), requests({"underlying": "AAA", "choice": "calendar"}))
    with pytest.raises(DataError, match="twice in chain"):
        build_structures(pl.concat([contracts, contracts.head(1)]), requests({"underlying": "AAA", "choice": "none"}))


def test_extra_request_columns_and_categorical_underlyings(contracts: pl.DataFrame) -> None:
    reqs = requests({"underlying": "AAA", "choice": "put_credit_spread", "edge": "vrp", "strength": 0.7})
    s, _ = build_structures(contracts, reqs.with_columns(pl.col("underlying").cast(pl.Categorical)))
    assert s["is_valid"].to_list() == [True]
    assert s["underlying"].dtype == pl.String
    none, legs = build_structures(contracts.clear(), reqs)
    assert none["reason"].to_list() == ["NO_EXPIRY"]
    assert legs.height == 0


def test_empty_requests_give_empty_frames(contracts: pl.DataFrame) -> None:
    empty = pl.DataFrame(schema={"request_id": pl.Int64, "underlying": pl.String, "date": pl.Date, "choice": pl.String})
    s, legs = build_structures(contracts, empty)
    assert s.height == 0
    assert legs.height == 0
    assert s.schema == pl.Schema(STRUCTURE_SCHEMA)


def test_hand_values_are_exact_to_the_cent_in_points(contracts: pl.DataFrame) -> None:
    # rounding: no float noise survives in the money columns
    row, _ = _one(contracts, choice="iron_butterfly")
    assert row["entry_cashflow_points"] == 3.3
    assert row["max_loss_points"] == 1.7
    assert row["breakeven_low"] == 96.7
    assert row["breakeven_high"] == 103.3
