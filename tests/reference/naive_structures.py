"""Slow, obvious twins of the structure builders: one request at a time, plain Python over row dicts.

* :func:`grid_payoff_extremes`: max loss / profit and breakevens from the expiry payoff on a dense grid that
  contains every strike (the payoff is linear between grid points, so crossings interpolate exactly);
* :func:`reference_build`: expiry, strikes, entry, payoff and validation of one request, written from the
  rules of seed-spec §2.7/§2.8 without any of the kernel's search helpers.

Only the resolved request parameters are shared with the library (``prepare_requests``), so defaults are not
re-derived here; everything after that is independent.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from typing import Any

import numpy as np

EPS = 1e-9
GRID_MAX = 4000.0
CREDIT = {"put_credit_spread", "call_credit_spread", "iron_condor", "iron_butterfly"}


def grid_payoff_extremes(strikes: list[float], calls: list[bool], qty: list[float], entry: float) -> dict[str, Any]:
    """Extremes of ``entry + Σ q·intrinsic(S)`` over a dense grid on [0, GRID_MAX] plus the tail slope."""
    grid = np.union1d(np.linspace(0.0, GRID_MAX, 8001), np.asarray(strikes, dtype=float))
    pay = np.full(grid.size, float(entry))
    for k, c, q in zip(strikes, calls, qty, strict=True):
        pay += q * (np.maximum(grid - k, 0.0) if c else np.maximum(k - grid, 0.0))
    slope = sum(q for c, q in zip(calls, qty, strict=True) if c)
    out: dict[str, Any] = {"unbounded_loss": slope < 0}
    out["max_loss"] = math.inf if slope < 0 else float(-pay.min())
    out["max_profit"] = math.inf if slope > 0 else float(pay.max())
    positive = pay > EPS
    low = high = math.nan
    if not positive[0]:
        up = np.flatnonzero(~positive[:-1] & positive[1:])
        if up.size:
            i = up[0]
            low = grid[i] + (0 - pay[i]) * (grid[i + 1] - grid[i]) / (pay[i + 1] - pay[i])
    if not positive[-1]:
        down = np.flatnonzero(positive[:-1] & ~positive[1:])
        if down.size:
            i = down[-1]
            high = grid[i] + (0 - pay[i]) * (grid[i + 1] - grid[i]) / (pay[i + 1] - pay[i])
    out["breakeven_low"], out["breakeven_high"] = float(low), float(high)
    return out


def _increment(strikes: list[float], spot: float, frac: float, sizes: tuple[float, ...]) -> float:
    ks = sorted(set(strikes))
    steps = [b - a for a, b in itertools.pairwise(ks) if abs(a - spot) <= frac * spot
             and abs(b - spot) <= frac * spot]  # fmt: skip
    if steps:
        counts = Counter(round(s, 9) for s in steps)
        step = min(counts, key=lambda s: (-counts[s], s))
    elif len(ks) > 1:
        step = min(b - a for a, b in itertools.pairwise(ks))
    else:
        return math.nan
    return min(sizes, key=lambda s: (abs(s - step), s))


def _nearest(side: list[dict[str, Any]], target: float, prefer: int) -> dict[str, Any] | None:
    if not side:
        return None
    return min(side, key=lambda r: (abs(r["strike"] - target), -prefer * r["strike"]))


class _Fail(Exception):
    def __init__(self, code: str) -> None:
        self.code = code


def _capped(
    row: dict[str, Any] | None, target: float, p: dict[str, Any], code: str, sub: list[float]
) -> dict[str, Any]:
    if row is None or abs(row["strike"] - target) > p["max_substitution_points"] + EPS:
        raise _Fail(code)
    if abs(row["strike"] - target) > p["strike_tolerance_points"]:
        sub.append(abs(row["strike"] - target))
    return row


def _anchor(side: list[dict[str, Any]], target: float, delta_target: float, prefer: int, p: dict[str, Any],
            code: str, sub: list[float], *, by_delta: bool) -> dict[str, Any]:  # fmt: skip
    if by_delta:
        known = [r for r in side if r["delta"] is not None and math.isfinite(r["delta"])]
        if not known:
            raise _Fail(code)
        return min(known, key=lambda r: (abs(r["delta"] - delta_target), r["strike"]))
    return _capped(_nearest(side, target, prefer), target, p, code, sub)


def _wing(side: list[dict[str, Any]], bound: float, direction: int, w: float, p: dict[str, Any], code: str,
          sub: list[float]) -> dict[str, Any]:  # fmt: skip
    tol = p["strike_tolerance_points"]
    beyond = [r for r in side if (r["strike"] < bound - tol if direction < 0 else r["strike"] > bound + tol)]
    target = bound + direction * w
    return _capped(_nearest(beyond, target, -direction), target, p, code, sub)


def _place(choice: str, chain: list[dict[str, Any]], back: list[dict[str, Any]] | None, w: float, atm: float,
           p: dict[str, Any], sub: list[float]) -> list[tuple[dict[str, Any], int]]:  # fmt: skip
    calls = [r for r in chain if r["right"] == "C"]
    puts = [r for r in chain if r["right"] == "P"]
    by_delta = p["strike_mode"] == "delta"
    k = p["offset_widths"] * w
    center = p["center_strike"] if math.isfinite(p["center_strike"]) else atm
    if choice.endswith("_spread"):
        is_put = choice.startswith("put")
        side, out = (puts, -1) if is_put else (calls, 1)
        credit = "credit" in choice
        a_code, b_code = ("SHORT", "LONG") if credit else ("LONG", "SHORT")
        a = _anchor(side, atm + out * k, out * p["delta_abs"], out, p, f"{a_code}_STRIKE_NOT_FOUND", sub,
                    by_delta=by_delta)  # fmt: skip
        b = _wing(side, a["strike"], out, w, p, f"{b_code}_STRIKE_NOT_FOUND", sub)
        return [(a, -1), (b, 1)] if credit else [(a, 1), (b, -1)]
    if choice == "iron_condor":
        sp = _anchor(puts, atm - k, -p["delta_abs"], -1, p, "SHORT_STRIKE_NOT_FOUND", sub, by_delta=by_delta)
        sc = _anchor(calls, atm + k, p["delta_abs"], 1, p, "SHORT_STRIKE_NOT_FOUND", sub, by_delta=by_delta)
        if sp["strike"] > sc["strike"] + p["strike_tolerance_points"]:
            raise _Fail("SHORT_STRIKE_NOT_FOUND")
        lp = _wing(puts, sp["strike"], -1, w, p, "LONG_STRIKE_NOT_FOUND", sub)
        lc = _wing(calls, sc["strike"], 1, w, p, "LONG_STRIKE_NOT_FOUND", sub)
        return [(lp, 1), (sp, -1), (sc, -1), (lc, 1)]
    if choice == "iron_butterfly":
        sc = _capped(_nearest(calls, center, -1), center, p, "SHORT_STRIKE_NOT_FOUND", sub)
        same = [r for r in puts if abs(r["strike"] - sc["strike"]) <= p["strike_tolerance_points"]]
        if not same:
            raise _Fail("SHORT_STRIKE_NOT_FOUND")
        lp = _wing(puts, sc["strike"], -1, w, p, "LONG_STRIKE_NOT_FOUND", sub)
        lc = _wing(calls, sc["strike"], 1, w, p, "LONG_STRIKE_NOT_FOUND", sub)
        return [(lp, 1), (same[0], -1), (sc, -1), (lc, 1)]
    if choice in ("call_butterfly", "put_butterfly"):
        side = calls if choice == "call_butterfly" else puts
        m = _capped(_nearest(side, center, -1), center, p, "SHORT_STRIKE_NOT_FOUND", sub)
        a = _wing(side, m["strike"], -1, w, p, "LONG_STRIKE_NOT_FOUND", sub)
        b = _wing(side, m["strike"], 1, w, p, "LONG_STRIKE_NOT_FOUND", sub)
        return [(a, 1), (m, -2), (b, 1)]
    assert back is not None
    right = "P" if p["right"] == 1.0 else "C"
    if choice == "diagonal":
        out = -1 if right == "P" else 1
        front_side = [r for r in chain if r["right"] == right]
        back_side = sorted((r for r in back if r["right"] == right), key=lambda r: r["strike"])
        f = _anchor(front_side, center + out * k, out * p["delta_abs"], out, p, "SHORT_STRIKE_NOT_FOUND", sub,
                    by_delta=by_delta)  # fmt: skip
        b = _wing(back_side, f["strike"], -out, w, p, "LONG_STRIKE_NOT_FOUND", sub)
        return [(f, -1), (b, 1)]
    assert choice == "calendar"
    tol = p["strike_tolerance_points"]
    pairs = [(f, b) for f in chain if f["right"] == right for b in back
             if b["right"] == right and abs(b["strike"] - f["strike"]) <= tol]  # fmt: skip
    if not pairs:
        raise _Fail("SHORT_STRIKE_NOT_FOUND")
    f, b = min(pairs, key=lambda fb: (abs(fb[0]["strike"] - center), fb[0]["strike"]))
    _capped(f, center, p, "SHORT_STRIKE_NOT_FOUND", sub)
    return [(f, -1), (b, 1)]


def _evaluate(choice: str, legs: list[tuple[dict[str, Any], int]], w: float, p: dict[str, Any]) -> dict[str, Any]:
    rows = [r for r, _ in legs]
    if any(r["mid"] is None or not math.isfinite(r["mid"]) for r in rows):
        raise _Fail("INVALID_QUOTE")
    if len({r["multiplier"] for r in rows}) > 1:
        raise _Fail("VALIDATION_FAIL")
    entry = sum(-q * (r["bid"] if q < 0 else r["ask"]) for r, q in legs)
    credit = choice in CREDIT
    if (credit and entry <= EPS) or (not credit and -entry <= EPS):
        raise _Fail("CREDIT_NONPOSITIVE" if credit else "DEBIT_NONPOSITIVE")
    if p["enforce_liquidity"]:
        for r in rows:
            vol, oi = r["volume"], r["open_interest"]
            if vol is None or vol < p["min_volume"]:
                raise _Fail("LIQUIDITY_FAIL")
            if p["min_open_interest"] > 0 and (oi is None or oi < p["min_open_interest"]):
                raise _Fail("LIQUIDITY_FAIL")
            if not r["spread_pct"] <= p["max_spread_frac"] + EPS:
                raise _Fail("LIQUIDITY_FAIL")
    out: dict[str, Any] = {"entry": entry}
    ks = [r["strike"] for r in rows]
    if choice == "calendar":
        out["width"] = math.nan
    elif len(ks) == 2:
        out["width"] = abs(ks[1] - ks[0])
    else:  # the two wings around the body
        out["width"] = max(ks[1] - ks[0], ks[-1] - ks[-2])
    if choice == "calendar":
        out.update(max_loss=-entry, max_profit=math.nan, breakeven_low=math.nan, breakeven_high=math.nan)
    elif choice == "diagonal":
        # the back leg is worth at least intrinsic at the front expiry: the grid payoff with both legs at
        # intrinsic is the worst case (the debit for the covered placement)
        ext = grid_payoff_extremes(ks, [r["right"] == "C" for r in rows], [float(q) for _, q in legs], entry)
        out.update(max_loss=ext["max_loss"], max_profit=math.nan, breakeven_low=math.nan, breakeven_high=math.nan)
    else:
        ext = grid_payoff_extremes([r["strike"] for r in rows], [r["right"] == "C" for r in rows],
                                   [float(q) for _, q in legs], entry)  # fmt: skip
        if ext["unbounded_loss"] or not ext["max_loss"] > EPS or not ext["max_profit"] > EPS:
            raise _Fail("VALIDATION_FAIL")
        out.update({k: ext[k] for k in ("max_loss", "max_profit", "breakeven_low", "breakeven_high")})
        if p["min_reward_risk_ratio"] > 0 and out["max_profit"] / out["max_loss"] < p["min_reward_risk_ratio"]:
            raise _Fail("VALIDATION_FAIL")
    if credit and p["min_credit_width_ratio"] > 0 and entry / out["width"] < p["min_credit_width_ratio"]:
        raise _Fail("VALIDATION_FAIL")
    usd = out["max_loss"] * rows[0]["multiplier"]
    for cap in (p["max_loss_cap_usd"], p["max_margin_usd"]):
        if math.isfinite(cap) and usd > cap + EPS:
            raise _Fail("VALIDATION_FAIL")
    return out


def reference_build(day_rows: list[dict[str, Any]], p: dict[str, Any], frac: float,
                    sizes: tuple[float, ...]) -> dict[str, Any]:  # fmt: skip
    """Build one request from its day's contract rows (dicts) and resolved parameters ``p``.

    Returns ``status`` (a BuildStatus name or "OK") and, when built, ``legs`` [(expiration, strike, right, qty)],
    ``entry``, ``max_loss``, ``max_profit``, ``breakeven_low``, ``breakeven_high``, ``width``.
    """
    choice = p["choice"]
    if choice == "none":
        return {"status": "UNSUPPORTED_EDGE"}
    chains: dict[Any, list[dict[str, Any]]] = {}
    for r in day_rows:
        chains.setdefault((r["expiration"], str(r["root"])), []).append(r)
    keys = sorted(chains)
    dte = {key: chains[key][0]["dte"] for key in keys}
    back = None
    if choice in ("calendar", "diagonal"):
        fronts = [k for k in keys if p["front_min_dte_days"] <= dte[k] <= p["max_dte_days"]]
        front = min(fronts, key=lambda k: dte[k]) if fronts else None
        backs = (
            [] if front is None else [k for k in keys if dte[front] + p["back_gap_days"] <= dte[k] <= p["max_dte_days"]]
        )
        if not backs:
            return {"status": "NO_EXPIRY"}
        back = chains[min(backs, key=lambda k: dte[k])]
    else:
        inside = [k for k in keys if p["min_dte_days"] <= dte[k] <= p["max_dte_days"]]
        if not inside:
            return {"status": "NO_EXPIRY"}
        front = min(inside, key=lambda k: (abs(dte[k] - p["target_dte_days"]), dte[k]))
    chain = sorted(chains[front], key=lambda r: (r["strike"], r["right"]))
    spot = chain[0]["underlying_price"]
    atm = min((r["strike"] for r in chain), key=lambda k: (abs(k - spot), k))
    inc = _increment([r["strike"] for r in chain], spot, frac, sizes)
    widths = [p["width_points"]]
    if choice != "calendar" and math.isfinite(inc):
        n = max(math.floor((p["width_points"] - p["min_width_points"]) / inc + 1e-9) + 1, 1)
        widths = [round((p["width_points"] - a * inc) * 1e6) / 1e6 for a in range(n)]
    codes = []
    for w in widths:
        sub: list[float] = []
        try:
            legs = _place(choice, chain, back, w, atm, p, sub)
            out = _evaluate(choice, legs, w, p)
        except _Fail as fail:
            codes.append(fail.code)
            continue
        out["status"] = "OK"
        out["legs"] = [(r["expiration"], r["strike"], r["right"], q) for r, q in legs]
        out["substitution"] = max(sub, default=0.0)
        return out
    return {"status": codes[0]}
