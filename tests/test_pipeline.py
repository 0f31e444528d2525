"""The pipeline end to end on a small synthetic market: schema, sanity, and no look-ahead, proven.

The truncation test is the one the whole design rests on: for random cut dates d, the pipeline run on data
cut at d must give exactly (bit for bit, every column) the row d of the full-history run: features, the
regime with hysteresis, GARCH refits and every edge.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from volengine.config import Settings, with_overrides
from volengine.datasets import synthetic_market
from volengine.pipeline import analyze, run_pipeline, signal

START, END = "2019-01-02", "2020-06-30"


@pytest.fixture(scope="module")
def market():  # type: ignore[no-untyped-def]
    return synthetic_market(seed=5, start=START, end=END, params={"fine_half_count": 12, "coarse_side_count": 5})


@pytest.fixture(scope="module")
def settings() -> Settings:
    """Path-dependent parts switched on, so that the truncation test covers them too."""
    return with_overrides(
        Settings(),
        {
            "regime": {"hysteresis": {"min_dwell_days": 3, "switch_margin_score": 0.5}},
            "analytics": {"garch": {"enabled": True, "min_observations": 100, "refit_every_days": 25}},
        },
    )


@pytest.fixture(scope="module")
def full(market, settings):  # type: ignore[no-untyped-def]
    return run_pipeline(market, settings)


def test_one_row_per_underlying_and_day_with_sane_values(market, full) -> None:  # type: ignore[no-untyped-def]
    f = full.features
    assert f.height == market.bars.height
    assert f.select(pl.struct("underlying", "date").is_unique().all()).item()
    late = f.filter(pl.col("date") >= dt.date(2020, 1, 2))
    assert late["atm_iv_30d"].is_not_null().all()
    truth = market.truth.select("date", (pl.col("vq_30d").sqrt()).alias("vq30"))
    err = late.join(truth, on="date").select((pl.col("mfiv_30d") - pl.col("vq30")).abs().max()).item()
    assert err < 0.01  # the chain's model-free 30-day vol is within a vol point of the generator's truth
    assert (late["regime"].cast(pl.String) != "WARMUP").all()
    assert f["regime"].cast(pl.String).head(100).eq("WARMUP").all()  # no regime before MA200 and the 252-day high
    for p in ("vrp", "term", "skew", "event", "gamma"):
        fired = f[f"{p}_fired"]
        assert fired.null_count() == 0
        strength = f.filter(fired)[f"{p}_strength"]
        assert strength.is_between(0.0, 1.0).all()


def test_no_look_ahead_every_column_of_row_d_equals_the_run_cut_at_d(market, settings, full) -> None:  # type: ignore[no-untyped-def]
    dates = full.features["date"].unique().sort()
    rng = np.random.default_rng(11)
    picks = [*sorted(rng.choice(np.arange(260, dates.len() - 1), size=4, replace=False).tolist()), dates.len() - 1]
    for i in picks:
        d = dates[int(i)]
        cut = run_pipeline(market, settings, end=d).features
        assert cut["date"].max() == d
        assert_frame_equal(cut.filter(pl.col("date") == d), full.features.filter(pl.col("date") == d))


def test_signal_is_the_last_row_of_the_history(market, full) -> None:  # type: ignore[no-untyped-def]
    d = dt.date(2020, 3, 16)
    s = signal(market, as_of=d, settings=full.settings)
    assert s.height == 1
    assert_frame_equal(s, full.features.filter(pl.col("date") == d))


def test_start_filters_rows_but_keeps_the_history_before_it(market, full) -> None:  # type: ignore[no-untyped-def]
    part = analyze(market, full.settings, start="2020-02-03", end="2020-02-28")
    assert part["date"].min() == dt.date(2020, 2, 3)
    assert_frame_equal(part, full.features.filter(pl.col("date").is_between(dt.date(2020, 2, 3), dt.date(2020, 2, 28))))


def test_every_column_is_documented_in_one_place(full) -> None:  # type: ignore[no-untyped-def]
    from volengine.analytics.columns import COLUMNS, describe, undocumented

    names = full.features.columns
    assert undocumented(names) == []
    used = {c.name for c in COLUMNS if any(c.pattern.match(n) for n in names)}
    # every entry is used by the default run (GARCH is on in this fixture), none is stale
    assert {c.name for c in COLUMNS} - used == set()
    assert describe(["atm_iv_30d"])["unit"].item() == "decimal"
