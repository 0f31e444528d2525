"""Generate ``bs_mpmath.parquet``: Black-Scholes-Merton prices and Greeks at 40 significant digits.

Run from the repository root: ``python tests/reference/make_bs_mpmath.py``. The Greeks are computed by
mpmath's numerical differentiation of the 40-digit price, independently of the analytic formulas in
``volengine.kernels.bsm``. The grid is seeded and covers deep OTM/ITM strikes, 1-day to 5-year expiries and
volatilities from 1 % to 300 %.
"""

from __future__ import annotations

import sys
from pathlib import Path

import mpmath as mp
import numpy as np
import polars as pl

mp.mp.dps = 40
OUT = Path(__file__).with_name("bs_mpmath.parquet")


def _price(spot, strike, t, rate, div, vol, is_call):  # type: ignore[no-untyped-def]
    sv = vol * mp.sqrt(t)
    d1 = (mp.log(spot / strike) + (rate - div) * t) / sv + sv / 2
    d2 = d1 - sv
    w = 1 if is_call else -1
    return w * (spot * mp.e ** (-div * t) * mp.ncdf(w * d1) - strike * mp.e ** (-rate * t) * mp.ncdf(w * d2))


def _row(spot: float, strike: float, t: float, rate: float, div: float, vol: float, is_call: bool) -> dict:
    args = [mp.mpf(v) for v in (spot, strike, t, rate, div, vol)]

    def price(s, k, tt, r, q, v):  # type: ignore[no-untyped-def]
        return _price(s, k, tt, r, q, v, is_call)

    def d(order: tuple[int, ...]):  # type: ignore[no-untyped-def]
        return mp.diff(price, args, order)

    return {
        "spot": spot,
        "strike": strike,
        "t": t,
        "rate": rate,
        "div": div,
        "vol": vol,
        "is_call": is_call,
        "price": float(price(*args)),
        "delta": float(d((1, 0, 0, 0, 0, 0))),
        "gamma": float(d((2, 0, 0, 0, 0, 0))),
        "vega": float(d((0, 0, 0, 0, 0, 1))),
        # theta: value change as calendar time passes = -dV/dT
        "theta": float(-d((0, 0, 1, 0, 0, 0))),
        "rho": float(d((0, 0, 0, 1, 0, 0))),
        "vanna": float(d((1, 0, 0, 0, 0, 1))),
        "volga": float(d((0, 0, 0, 0, 0, 2))),
        "charm": float(-d((1, 0, 1, 0, 0, 0))),
    }


def grid(n: int, seed: int = 20261201) -> list[tuple]:
    """Seeded hard book: log-uniform moneyness and expiry, uniform vol, mixed calls/puts, edge points."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        t = float(np.exp(rng.uniform(np.log(1 / 365), np.log(5.0))))
        vol = float(rng.uniform(0.01, 3.0)) if rng.random() < 0.8 else float(rng.choice([0.01, 0.05, 3.0]))
        sd = vol * np.sqrt(t)
        z = float(rng.uniform(-6.0, 6.0))  # standard deviations from the money
        strike = float(100.0 * np.exp(z * sd))
        strike = min(max(strike, 1e-2), 1e5)
        rows.append(
            (
                100.0,
                strike,
                t,
                float(rng.uniform(-0.01, 0.08)),
                float(rng.uniform(0.0, 0.04)),
                vol,
                bool(rng.random() < 0.5),
            )
        )
    for t in (1 / 365, 5.0):
        for vol in (0.01, 3.0):
            for strike in (50.0, 100.0, 200.0):
                for is_call in (True, False):
                    rows.append((100.0, strike, t, 0.03, 0.01, vol, is_call))
    return rows


def main(n: int = 1200) -> None:
    frame = pl.DataFrame([_row(*r) for r in grid(n)])
    tmp = OUT.with_suffix(".tmp")
    frame.write_parquet(tmp, compression="zstd")
    tmp.replace(OUT)
    print(f"wrote {frame.height} rows to {OUT}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1200)
