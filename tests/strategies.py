"""Hypothesis strategies in the financial domain (spot, strike, expiry, rates, vol)."""

from __future__ import annotations

from hypothesis import strategies as st

spots = st.floats(min_value=1.0, max_value=5_000.0)
log_moneyness = st.floats(min_value=-0.7, max_value=0.7)
expiries = st.floats(min_value=1 / 365, max_value=5.0)
rates = st.floats(min_value=-0.02, max_value=0.10)
yields = st.floats(min_value=0.0, max_value=0.06)
vols = st.floats(min_value=0.01, max_value=3.0)
rights = st.booleans()


@st.composite
def options(draw: st.DrawFn) -> dict[str, float | bool]:
    """One European option on the issue's domain (strike within a factor 2 of spot)."""
    spot = draw(spots)
    return {
        "spot": spot,
        "strike": spot * float(2.718281828459045 ** draw(log_moneyness)),
        "t": draw(expiries),
        "rate": draw(rates),
        "div": draw(yields),
        "vol": draw(vols),
        "is_call": draw(rights),
    }
