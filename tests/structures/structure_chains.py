"""Hand-built per-contract frames (the columns of ``contract_analytics``) with chosen bids and asks.

Every chain is one underlying, one expiry on :data:`D0`. Quotes are given per (strike, right) as (bid, ask);
the mid follows the quote-validity rule (bid > 0, ask > 0, bid <= ask). Deltas default to a smooth proxy
so delta mode has something to aim at; ``delta`` overrides them per (strike, right).
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any

import polars as pl

D0 = date(2024, 1, 2)
SPOT = 100.4
RATE = 0.04

#: the main chain (31 days): calls and puts on 85..115 step 5
MAIN_CALLS = {85: (15.40, 15.60), 90: (10.60, 10.80), 95: (6.20, 6.40), 100: (2.90, 3.00), 105: (1.00, 1.10),
              110: (0.30, 0.35), 115: (0.05, 0.10)}  # fmt: skip
MAIN_PUTS = {85: (0.10, 0.15), 90: (0.30, 0.35), 95: (0.80, 0.90), 100: (2.40, 2.50), 105: (5.30, 5.50),
             110: (9.60, 9.80), 115: (14.50, 14.70)}  # fmt: skip
MAIN_PUT_DELTA = {85: -0.03, 90: -0.08, 95: -0.21, 100: -0.45, 105: -0.70, 110: -0.88, 115: -0.96}
#: the front chain (10 days) of the calendar
FRONT_CALLS = {95: (5.60, 5.70), 100: (1.80, 1.90), 105: (0.30, 0.35)}
FRONT_PUTS = {95: (0.20, 0.25), 100: (1.40, 1.50), 105: (4.70, 4.80)}


def quotes(calls: dict[float, tuple[float, float]], puts: dict[float, tuple[float, float]]) -> dict[Any, Any]:
    """One (strike, right) → (bid, ask) mapping."""
    return {**{(k, "C"): v for k, v in calls.items()}, **{(k, "P"): v for k, v in puts.items()}}


def main_quotes() -> dict[Any, Any]:
    return quotes(MAIN_CALLS, MAIN_PUTS)


def main_deltas() -> dict[Any, float]:
    return {
        **{(k, "P"): d for k, d in MAIN_PUT_DELTA.items()},
        **{(k, "C"): 1.0 + d for k, d in MAIN_PUT_DELTA.items()},
    }


def chain(underlying: str, dte: int, quotes_: dict[Any, Any], *, spot: float = SPOT, iv: float = 0.2,
          delta: dict[Any, float] | None = None, volume: dict[Any, int | None] | None = None,
          open_interest: dict[Any, int | None] | None = None, multiplier: int = 100,
          day: date = D0) -> list[dict[str, Any]]:  # fmt: skip
    """Rows of one chain; volume 500 and open interest 1000 unless given per (strike, right)."""
    t = dte / 365.0
    rows = []
    for (k, right), (bid, ask) in quotes_.items():
        valid = bid > 0 and ask > 0 and bid <= ask
        mid = 0.5 * (bid + ask) if valid else None
        proxy = min(max(0.5 - (k - spot) / 20.0, 0.01), 0.99)
        d = (delta or {}).get((k, right), proxy if right == "C" else proxy - 1.0)
        rows.append(
            {
                "underlying": underlying, "date": day, "expiration": day + timedelta(days=dte), "root": underlying,
                "strike": float(k), "right": right, "multiplier": multiplier, "bid": float(bid), "ask": float(ask),
                "mid": mid, "spread_pct": (ask - bid) / mid if mid else None,
                "volume": (volume or {}).get((k, right), 500),
                "open_interest": (open_interest or {}).get((k, right), 1000),
                "underlying_price": spot, "dte": dte, "t": t, "disc": math.exp(-RATE * t),
                "forward": spot * math.exp(RATE * t), "iv": iv, "delta": d, "gamma": 0.01 + k / 10_000,
                "vega": 0.1 + k / 1_000, "theta": -(1.0 + k / 100),
            }
        )  # fmt: skip
    return rows


def frame(*chains: list[dict[str, Any]]) -> pl.DataFrame:
    """The contracts frame of some chains, in contract_analytics' dtypes and row order."""
    rows = [r for c in chains for r in c]
    df = pl.DataFrame(rows, infer_schema_length=None).with_columns(
        pl.col("underlying", "root").cast(pl.Categorical),
        pl.col("right").cast(pl.Enum(["C", "P"])),
        pl.col("multiplier", "dte").cast(pl.Int32),
        pl.col("volume", "open_interest").cast(pl.Int64),
        pl.col("mid", "spread_pct").cast(pl.Float64),
    )
    return df.sort("underlying", "date", "expiration", "root", "strike", "right")


def requests(*rows: dict[str, Any]) -> pl.DataFrame:
    """Requests with ids 0.. and date D0 unless given; extra keys are override columns."""
    full = [{"request_id": i, "date": D0, **r} for i, r in enumerate(rows)]
    return pl.DataFrame(full, infer_schema_length=None)
