"""The vectorised builders over a 3-month synthetic market: against the slow per-request reference on a
sample, structural properties on every valid row, and the registry contract (determinism, no look-ahead,
days without chains)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import polars as pl
import pytest
from naive_structures import reference_build
from numpy.testing import assert_allclose

from volengine.analytics.contracts import contract_analytics
from volengine.config import LiquiditySettings, Settings
from volengine.datasets import synthetic_market
from volengine.structures import BUILDERS, STRUCTURE_SCHEMA, build_structures, prepare_requests

CHOICES = [c.value for c in BUILDERS]
STRICT = LiquiditySettings(min_volume=10, min_open_interest=100, max_bid_ask_pct=10.0, enforce_liquidity=True)

TWO_EXPIRY = ["calendar", "diagonal"]


@pytest.fixture(scope="module")
def contracts() -> pl.DataFrame:
    m = synthetic_market(seed=1, start="2021-01-04", end="2021-03-31",
                         params={"fine_half_count": 12, "coarse_side_count": 5})  # fmt: skip
    return contract_analytics(m.quotes, m.rates)


@pytest.fixture(scope="module")
def requests(contracts: pl.DataFrame) -> pl.DataFrame:
    """Every day x every choice at the defaults, plus delta mode, width, centre and DTE overrides."""
    days = contracts.select(pl.col("underlying").cast(pl.String), "date").unique().sort("date")
    base = days.join(pl.DataFrame({"choice": [*CHOICES, "none"]}), how="cross")
    delta = days.join(pl.DataFrame({"choice": ["put_credit_spread", "call_credit_spread", "iron_condor",
                                               "call_debit_spread", "diagonal"]}), how="cross").with_columns(
        pl.lit("delta").alias("strike_mode"))  # fmt: skip
    wide = days.join(pl.DataFrame({"choice": ["iron_condor", "put_butterfly", "iron_butterfly"]}), how="cross")
    wide = wide.with_columns(pl.lit(12.0).alias("width_points"), pl.lit(45).alias("target_dte_days"),
                             pl.lit(2.0).alias("offset_widths"))  # fmt: skip
    pin = days.join(pl.DataFrame({"choice": ["call_butterfly", "calendar", "diagonal"]}), how="cross").with_columns(
        (pl.col("date").dt.day().cast(pl.Float64) + 115.0).alias("center_strike"))  # fmt: skip
    puts = days.join(pl.DataFrame({"choice": ["calendar", "diagonal"]}), how="cross").with_columns(
        pl.lit("P").alias("right"))  # fmt: skip
    out = pl.concat([base, delta, wide, pin, puts], how="diagonal_relaxed")
    return out.with_row_index("request_id").with_columns(pl.col("request_id").cast(pl.Int64))


@pytest.fixture(scope="module", params=["paper", "strict"])
def built(request: pytest.FixtureRequest, contracts: pl.DataFrame,
          requests: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, Any]:  # fmt: skip
    liquidity = STRICT if request.param == "strict" else None
    s, legs = build_structures(contracts, requests, liquidity=liquidity)
    return s, legs, liquidity


Built = tuple[pl.DataFrame, pl.DataFrame, Any]


def test_vectorised_run_equals_the_per_request_reference(contracts: pl.DataFrame, requests: pl.DataFrame,
                                                         built: Built) -> None:  # fmt: skip
    structures, legs, liquidity = built
    settings = Settings()
    resolved = prepare_requests(requests, settings, liquidity).frame
    sample = resolved.sample(n=160, seed=11)
    grid = settings.data.chain_grid
    by_day = {
        key: rows.to_dicts()
        for key, rows in contracts.with_columns(pl.col("underlying", "root").cast(pl.String)).partition_by(
            "underlying", "date", as_dict=True
        ).items()
    }  # fmt: skip
    got = structures.join(sample.select("request_id"), on="request_id")
    got_legs = legs.join(sample.select("request_id"), on="request_id")
    n_ok = 0
    for p in sample.iter_rows(named=True):
        ref = reference_build(by_day[(p["underlying"], p["date"])], p, grid.increment_window_frac,
                              grid.strike_increments_points)  # fmt: skip
        row = got.filter(pl.col("request_id") == p["request_id"]).row(0, named=True)
        assert (row["reason"] or "OK") == ref["status"], (p, row["message"])
        if ref["status"] != "OK":
            continue
        n_ok += 1
        mine = got_legs.filter(pl.col("request_id") == p["request_id"]).sort("leg")
        assert list(zip(mine["expiration"], mine["strike"], mine["right"], mine["qty"], strict=True)) == ref["legs"]
        assert_allclose(row["entry_cashflow_points"], ref["entry"], atol=1e-9)
        assert_allclose(row["max_loss_points"], ref["max_loss"], atol=1e-9)
        assert_allclose(row["substitution_points"], ref["substitution"], atol=1e-9)
        if p["choice"] != "calendar":
            assert_allclose(row["width_points"], ref["width"], atol=1e-9)
        if p["choice"] not in TWO_EXPIRY:
            assert_allclose(row["max_profit_points"], ref["max_profit"], atol=1e-9)
            for name in ("breakeven_low", "breakeven_high"):
                expect = ref[name]
                assert (row[name] is None) == math.isnan(expect), (name, row[name], expect)
                if row[name] is not None:
                    assert_allclose(row[name], expect, atol=1e-6)
    assert n_ok >= 60


def test_structural_properties_on_every_valid_row(contracts: pl.DataFrame, built: Built) -> None:
    structures, legs, liquidity = built
    valid = structures.filter(pl.col("is_valid"))
    assert valid.height > 0.5 * structures.filter(pl.col("choice") != "none").height
    assert (valid["max_loss_points"] > 0).all()
    assert valid.select(pl.sum_horizontal(pl.col("max_loss_points", "entry_cashflow_points", "n_legs").null_count())
                        ).item() == 0  # fmt: skip
    assert structures.filter(~pl.col("is_valid"))["reason"].null_count() == 0
    credit = valid.filter(pl.col("structure_type").is_in(["credit_spread", "iron_condor", "iron_butterfly"]))
    assert (credit["entry_cashflow_points"] > 0).all()
    assert (credit["entry_cashflow_points"] < credit["width_points"]).all()
    assert_allclose(credit["max_loss_points"], credit["width_points"] - credit["entry_cashflow_points"], atol=1e-9)
    assert_allclose(credit["max_profit_points"], credit["entry_cashflow_points"], atol=1e-9)
    debit = valid.filter(pl.col("structure_type") == "debit_spread")
    assert_allclose(debit["max_loss_points"], -debit["entry_cashflow_points"], atol=1e-9)
    assert_allclose(debit["max_profit_points"], debit["width_points"] + debit["entry_cashflow_points"], atol=1e-9)
    flies = valid.filter(pl.col("structure_type") == "butterfly")
    assert (flies["max_loss_points"] >= -flies["entry_cashflow_points"] - 1e-9).all()
    equal = flies.filter(pl.col("wing_low_points") == pl.col("wing_high_points"))
    assert_allclose(equal["max_loss_points"], -equal["entry_cashflow_points"], atol=1e-9)
    cal = valid.filter(pl.col("choice").is_in(TWO_EXPIRY))
    assert {"calendar", "diagonal"} <= set(cal["choice"])
    assert (cal["back_expiration"] > cal["expiration"]).all()
    assert cal["max_profit_points"].null_count() == cal.height
    assert cal["payoff_is_model"].all()
    single = valid.filter(~pl.col("choice").is_in(TWO_EXPIRY))
    assert single["back_expiration"].null_count() == single.height
    # covered diagonals: the long back leg sits in the money of the short front one, so the debit is the max loss
    diag = valid.filter(pl.col("choice") == "diagonal")
    assert_allclose(diag["max_loss_points"], -diag["entry_cashflow_points"], atol=1e-9)
    dl = legs.join(diag.select("request_id"), on="request_id").sort("request_id", "leg")
    short, long_ = dl.filter(pl.col("qty") < 0), dl.filter(pl.col("qty") > 0)
    assert short.height == long_.height == diag.height
    inside = pl.Series((long_["strike"] - short["strike"]) * pl.Series([1 if r == "P" else -1 for r in short["right"]]))
    assert (inside > 0).all()
    assert (long_["expiration"] > short["expiration"]).all()
    assert (valid["substitution_points"] <= Settings().structures.strikes.max_substitution_points + 1e-9).all()
    if liquidity is not None:
        assert (valid["min_leg_volume"] >= liquidity.min_volume).all()
        assert (valid["max_leg_spread_pct"] <= liquidity.max_bid_ask_pct / 100 + 1e-12).all()
    # legs: listed contracts of that day, quoted as in the chain; entry and Greeks add up from them
    chain = contracts.select(pl.col("underlying").cast(pl.String), "date", "expiration", "strike",
                             pl.col("right").cast(pl.String), pl.col("bid").alias("chain_bid"),
                             pl.col("ask").alias("chain_ask"))  # fmt: skip
    full = legs.join(valid.select("request_id", "date", "multiplier", "entry_cashflow_points", "net_delta", "n_legs",
                                  "expiration", pl.col("underlying").alias("u")),
                     on="request_id", suffix="_s")  # fmt: skip
    checked = full.join(chain, on=["underlying", "date", "expiration", "strike", "right"], how="left")
    assert checked["chain_bid"].null_count() == 0
    assert (checked["bid"] == checked["chain_bid"]).all()
    assert (checked["underlying"] == checked["u"]).all()
    assert (checked["multiplier"] == checked["multiplier_s"]).all()
    assert checked["mid"].null_count() == 0
    sums = full.group_by("request_id").agg(
        (-pl.col("qty") * pl.when(pl.col("qty") < 0).then(pl.col("bid")).otherwise(pl.col("ask"))).sum().alias("e"),
        # a leg without an IV (no delta) leaves the net delta unknown
        pl.when(pl.col("delta").null_count() == 0).then((pl.col("qty") * pl.col("delta")).sum()).alias("d"),
        pl.len().alias("n"), pl.first("entry_cashflow_points"),
        pl.first("net_delta"), pl.first("n_legs"), pl.col("expiration").n_unique().alias("n_exp"),
        pl.first("expiration_s"), pl.col("expiration").min().alias("front"),
    )  # fmt: skip
    assert_allclose(sums["e"], sums["entry_cashflow_points"], atol=1e-9)
    assert_allclose(sums["d"].fill_null(np.nan), sums["net_delta"].fill_null(np.nan), atol=1e-12)
    assert (sums["n"] == sums["n_legs"]).all()
    assert (sums["front"] == sums["expiration_s"]).all()
    one_expiry = sums.join(valid.select("request_id", "choice"), on="request_id")
    one_expiry = one_expiry.filter(~pl.col("choice").is_in(TWO_EXPIRY))
    assert (one_expiry["n_exp"] == 1).all()


def test_strict_liquidity_only_removes_structures(contracts: pl.DataFrame, requests: pl.DataFrame) -> None:
    strict, _ = build_structures(contracts, requests, liquidity=STRICT)
    paper, _ = build_structures(contracts, requests)
    both = strict.join(paper, on="request_id", suffix="_paper")
    assert not (both["is_valid"] & ~both["is_valid_paper"]).any()
    failed = both.filter(~pl.col("is_valid") & pl.col("is_valid_paper"))
    assert failed.height > 0
    assert failed["message"].str.contains("LIQUIDITY_FAIL").all()


@pytest.mark.parametrize("choice", CHOICES)
def test_registry_contract(choice: str, contracts: pl.DataFrame) -> None:
    days = contracts["date"].unique().sort()
    d = days[len(days) // 2]
    reqs = pl.DataFrame({"request_id": [1, 2, 3], "underlying": ["SPY"] * 3, "date": [days[0], d, days[-1]],
                         "choice": [choice] * 3})  # fmt: skip
    first = build_structures(contracts, reqs)
    again = build_structures(contracts, reqs)
    assert all(a.equals(b) for a, b in zip(first, again, strict=True))
    assert first[0].schema == pl.Schema(STRUCTURE_SCHEMA)
    # no look-ahead: the chain of day d alone builds day d's structure
    cut = contracts.filter(pl.col("date") <= d)
    s_cut, legs_cut = build_structures(cut, reqs.filter(pl.col("date") <= d))
    assert s_cut.equals(first[0].filter(pl.col("date") <= d))
    assert legs_cut.equals(first[1].filter(pl.col("request_id").is_in(s_cut["request_id"].to_list())))
    # a day without chains is a NO_EXPIRY row, not an error
    gap = build_structures(cut, reqs.filter(pl.col("date") > d))[0]
    assert gap["reason"].to_list() == ["NO_EXPIRY"]
    assert gap["message"].str.starts_with("no chain for SPY on ").all()
    assert np.all(first[0]["is_valid"].to_numpy())
