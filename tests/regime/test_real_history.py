"""The regime engine on real history: arch's S&P 500 bars (1999-2018) and Cboe VIX closes (2014-2019).

Before 2014 the VIX rules read the realized-vol proxy. The checks are the two VolMachine defects of
seed-spec §2.4: a crash (Oct-Nov 2008) must read HIGH_VOL_PANIC and a calm year (2017) must have no PANIC day;
the literal VolMachine settings reproduce both defects, so the checks can fail.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from volengine.config import Settings, with_overrides
from volengine.regime import classify

pytest.importorskip("arch")

from volengine.datasets import load_sp500, load_vix

PANIC = "HIGH_VOL_PANIC"
VOLMACHINE = {"regime": {"decision": {"use_panic_vol_gate": False}, "vol_index_proxy": {"mode": "never"}}}


@pytest.fixture(scope="module")
def runs() -> dict[str, pl.DataFrame]:
    bars, vix = load_sp500(), load_vix()
    return {
        "bars + VIX": classify(bars, vix),
        "bars only": classify(bars),
        "VolMachine": classify(bars, vix, with_overrides(Settings(), VOLMACHINE)),
    }


def window(out: pl.DataFrame, first: str, last: str) -> pl.Series:
    days = pl.col("date").is_between(dt.date.fromisoformat(first), dt.date.fromisoformat(last))
    return out.filter(days)["regime"].cast(pl.String)


def test_the_2008_crash_reads_panic(runs: dict[str, pl.DataFrame]) -> None:
    for name in ("bars + VIX", "bars only"):
        crash = window(runs[name], "2008-10-01", "2008-11-30")
        share = (crash == PANIC).mean()
        print(f"\n{name}: Oct-Nov 2008 PANIC {share:.0%} of {crash.len()} sessions")
        assert share >= 0.7
    # VolMachine, blind without a vol index: PANIC at most 5.0 against TREND_DOWN's 5.5
    assert (window(runs["VolMachine"], "2008-10-01", "2008-11-30") == PANIC).sum() == 0


def test_a_calm_year_has_no_panic_day(runs: dict[str, pl.DataFrame]) -> None:
    for name in ("bars + VIX", "bars only"):
        year = window(runs[name], "2017-01-01", "2017-12-31")
        counts = dict(year.value_counts().iter_rows())
        print(f"\n{name}: 2017 {counts}")
        assert PANIC not in counts
        assert (counts.get("LOW_VOL_GRIND", 0) + counts.get("TREND_UP", 0)) / year.len() >= 0.8
    # VolMachine: a lone rv5/rv20 spike ties GRIND and CHOP at 1.5 and takes the day by the tie order
    blind = classify(
        load_sp500().filter(pl.col("date").dt.year() >= 2015), None, with_overrides(Settings(), VOLMACHINE)
    )
    assert (window(blind, "2017-01-01", "2017-12-31") == PANIC).sum() > 0


@pytest.mark.parametrize(("first", "last"), [("2015-08-20", "2015-09-04"), ("2018-02-01", "2018-02-14")])
def test_volatility_shocks_show_panic_days(runs: dict[str, pl.DataFrame], first: str, last: str) -> None:
    for name in ("bars + VIX", "bars only"):
        shock = window(runs[name], first, last)
        print(f"\n{name}: {first}..{last} PANIC {(shock == PANIC).sum()} of {shock.len()} sessions")
        assert (shock == PANIC).sum() >= 3


def test_the_vix_is_used_where_it_exists(runs: dict[str, pl.DataFrame]) -> None:
    out = runs["bars + VIX"]
    source = out.group_by("vix_source").agg(pl.col("date").min().alias("first"), pl.len()).sort("first")
    print(f"\n{source}")
    assert out.filter(pl.col("date") >= dt.date(2014, 1, 3))["vix_source"].cast(pl.String).unique().to_list() == [
        "index"
    ]
    assert (
        out.filter(pl.col("date").is_between(dt.date(1999, 2, 2), dt.date(2014, 1, 2)))["vix_source"].eq("proxy").all()
    )
    assert out["regime"].cast(pl.String).head(251).unique().to_list() == ["WARMUP"]
