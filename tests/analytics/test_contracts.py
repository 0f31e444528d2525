"""Tests of ``volengine.analytics.contracts``: parity forwards, rates, IV and Greeks on known chains."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest
from numpy.testing import assert_allclose

from volengine.analytics.contracts import chain_offsets, contract_analytics, rate_curve
from volengine.config import Settings
from volengine.data.calendar import tte_years
from volengine.data.schema import Right
from volengine.errors import SchemaError
from volengine.kernels import black_price, bs_greeks

DAY = dt.date(2024, 3, 1)
EXPIRIES = (dt.date(2024, 3, 15), dt.date(2024, 9, 20))
SPOT, R, Q = 500.0, 0.05, 0.013


def _quotes(*, bad: bool = False) -> tuple[pl.DataFrame, dict[dt.date, float]]:
    """Two expiries of Black-priced SPY-like quotes (spread 2 cents around the model price), true vols kept."""
    rows, vols = [], {}
    for exp in EXPIRIES:
        t = tte_years([DAY], [exp], "PM")[0]
        fwd = SPOT * math.exp((R - Q) * t)
        k = np.arange(440.0, 561.0, 5.0)
        vol = 0.18 - 0.15 * np.log(k / fwd)
        for right in ("C", "P"):
            price = black_price(fwd, k, t, math.exp(-R * t), vol, right == "C")
            rows.append(pl.DataFrame({
                "date": DAY, "underlying": "SPY", "root": "SPY", "expiration": exp, "strike": k, "right": right,
                "style": "american", "settlement": "PM", "bid": price - 0.01, "ask": price + 0.01,
                "underlying_price": SPOT, "open_interest": 1000, "_vol": vol,
            }))  # fmt: skip
        vols[exp] = fwd
    q = pl.concat(rows).with_columns(
        pl.col("right").cast(Right), pl.col("underlying").cast(pl.Categorical), pl.col("root").cast(pl.Categorical)
    )
    if bad:
        q = q.with_columns(
            pl.when((pl.col("strike") == 500.0) & (pl.col("right") == "P")).then(pl.col("ask") + 4.0)
            .otherwise(pl.col("ask")).alias("ask")
        )  # fmt: skip
    return q, vols


def _rates() -> pl.DataFrame:
    return pl.DataFrame({"date": [DAY] * 3, "tenor_days": [7, 30, 365], "rate": [R, R, R]}).with_columns(
        pl.col("tenor_days").cast(pl.Int32)
    )


def test_iv_forward_and_greeks_recover_the_pricing_inputs() -> None:
    q, fwds = _quotes()
    out = contract_analytics(q, _rates())
    assert out.height == q.height
    assert set(out["forward_source"].cast(pl.String)) == {"parity"}
    for exp, fwd in fwds.items():
        got = out.filter(pl.col("expiration") == exp)["forward"]
        assert_allclose(got.to_numpy(), fwd, rtol=1e-12)
    assert (out["iv"].is_nan() == out["mid"].is_null()).all()  # deep OTM quotes with a negative bid have no mid
    out = out.filter(pl.col("mid").is_not_null())
    assert_allclose(out["iv"].to_numpy(), out["_vol"].to_numpy(), rtol=1e-8)
    # Greeks are BSM on the spot with the parity-implied carry, i.e. Black-76 on the forward
    t = out["t"].to_numpy()
    div = R - np.log(out["forward"].to_numpy() / SPOT) / t
    ref = bs_greeks(SPOT, out["strike"].to_numpy(), t, R, div, out["_vol"].to_numpy(), (out["right"] == "C").to_numpy())
    assert_allclose(out["delta"].to_numpy(), ref.delta, rtol=1e-7, atol=1e-10)
    assert_allclose(out["vega"].to_numpy(), ref.vega, rtol=1e-7, atol=1e-10)
    assert_allclose(div, Q, rtol=1e-9)


def test_mid_exists_only_for_valid_quotes_and_rows_stay_sorted_by_chain() -> None:
    q, _ = _quotes()
    q = q.with_columns(pl.when(pl.col("strike") == 440.0).then(0.0).otherwise(pl.col("bid")).alias("bid")).sample(
        fraction=1.0, shuffle=True, seed=3
    )
    out = contract_analytics(q, _rates())
    assert out.filter(pl.col("strike") == 440.0)["mid"].is_null().all()
    assert out.filter(pl.col("strike") == 440.0)["iv"].is_nan().all()
    assert out.select(
        pl.col("expiration").is_sorted(),
    ).item()
    assert chain_offsets(out).tolist() == [0, 50, 100]


def test_a_bad_quote_near_the_money_leaves_the_forward_alone() -> None:
    q, fwds = _quotes(bad=True)
    out = contract_analytics(q, _rates())
    for exp, fwd in fwds.items():
        assert_allclose(out.filter(pl.col("expiration") == exp)["forward"][0], fwd, rtol=2e-5)


def test_without_rates_the_discount_is_fitted_from_parity_on_the_long_expiry() -> None:
    q, _ = _quotes()
    out = contract_analytics(q, None)
    by_exp = (
        out.group_by("expiration").agg(pl.col("rate").first(), pl.col("discount_source").first()).sort("expiration")
    )
    # the 6-month chain fits r itself; the 2-week chain takes that day's fitted rate
    assert by_exp["discount_source"].cast(pl.String).to_list() == ["parity_day", "parity"]
    assert_allclose(by_exp["rate"].to_numpy(), R, rtol=1e-6)
    out = out.filter(pl.col("mid").is_not_null())
    assert_allclose(out["iv"].to_numpy(), out["_vol"].to_numpy(), rtol=1e-6)


def test_without_pairs_the_forward_falls_back_to_carry() -> None:
    q, _ = _quotes()
    out = contract_analytics(q.filter(pl.col("right") == "C"), _rates())
    assert set(out["forward_source"].cast(pl.String)) == {"carry"}
    carry_q = Settings().market.dividend_yield("SPY")
    t = out["t"].to_numpy()
    assert_allclose(out["forward"].to_numpy(), SPOT * np.exp((R - carry_q) * t), rtol=1e-12)


def test_rate_curve_interpolates_in_tenor_and_carries_the_last_curve_forward() -> None:
    rates = pl.DataFrame({
        "date": [DAY, DAY, DAY + dt.timedelta(days=1), DAY + dt.timedelta(days=1)],
        "tenor_days": [30, 90, 30, 90], "rate": [0.01, 0.03, 0.02, 0.04],
    }).with_columns(pl.col("tenor_days").cast(pl.Int32))  # fmt: skip
    dates = pl.Series([DAY, DAY, DAY + dt.timedelta(days=1), DAY + dt.timedelta(days=5), DAY - dt.timedelta(days=1)])
    dte = pl.Series([60, 10, 200, 30, 30])
    assert_allclose(rate_curve(rates, dates, dte, 0.045), [0.02, 0.01, 0.04, 0.02, 0.045])


def test_missing_columns_name_themselves() -> None:
    q, _ = _quotes()
    with pytest.raises(SchemaError, match="underlying_price"):
        contract_analytics(q.drop("underlying_price"))
