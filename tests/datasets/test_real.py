"""The real S&P 500 / VIX loaders: shapes, ranges and the canonical schemas; a clear error without arch."""

from __future__ import annotations

import datetime as dt
import sys

import numpy as np
import polars as pl
import pytest

from volengine.data import calendar
from volengine.data.schema import BARS, VOL_INDEX, validate
from volengine.datasets import load_sp500, load_vix
from volengine.errors import VolEngineError

pytest.importorskip("arch")


@pytest.fixture(scope="module")
def sp500() -> pl.DataFrame:
    return load_sp500()


@pytest.fixture(scope="module")
def vix() -> pl.DataFrame:
    return load_vix()


def test_sp500_shape_range_and_schema(sp500: pl.DataFrame) -> None:
    assert sp500.height == 5031
    assert sp500["date"].min() == dt.date(1999, 1, 4)
    assert sp500["date"].max() == dt.date(2018, 12, 31)
    assert dict(sp500.schema) == BARS
    assert set(sp500["underlying"].cast(pl.String)) == {"SPX"}
    assert sp500["date"].is_sorted()
    assert sp500["date"].n_unique() == sp500.height
    validate(sp500, "bars")
    first = sp500.row(0, named=True)
    np.testing.assert_allclose([first["close"], first["adj_close"]], [1228.099976, 1228.099976], rtol=1e-9)


def test_sp500_dates_are_xnys_sessions_since_the_calendar_starts(sp500: pl.DataFrame) -> None:
    assert calendar.is_session(sp500["date"]).all()


def test_vix_shape_range_and_schema(vix: pl.DataFrame) -> None:
    assert vix.height == 1305 - 46  # arch's NaN rows are holidays
    assert vix["date"].min() == dt.date(2014, 1, 3)
    assert vix["date"].max() == dt.date(2019, 1, 3)
    assert dict(vix.schema) == VOL_INDEX
    assert set(vix["symbol"].cast(pl.String)) == {"VIX"}
    assert vix["close"].null_count() == 0
    assert vix["close"].min() > 0
    assert vix["open"].null_count() == vix.height
    assert vix.filter(pl.col("date") == dt.date(2014, 1, 3))["close"].item() == pytest.approx(13.76)


def test_missing_arch_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m == "arch" or m.startswith("arch.")] + ["arch"]:
        monkeypatch.setitem(sys.modules, name, None)
    for loader in (load_sp500, load_vix):
        with pytest.raises(VolEngineError, match=r"pip install 'volengine\[real\]'"):
            loader()


def test_stylized_fact_statistics_reproduce_the_real_series() -> None:
    """market-model §6 #13: the statistics code on arch's S&P 500 + VIX gives the §2.1 reference values."""
    pytest.importorskip("arch")
    from volengine.datasets.synthetic.stats import leverage_stats, return_stats, vix_stats, vrp_stats

    bars = load_sp500().sort("date").with_columns(pl.col("adj_close").log().diff().alias("r"))
    full = return_stats(bars["r"].fill_null(0.0).to_numpy())
    assert abs(full["ann_vol"] - 0.191) < 0.005
    assert abs(full["excess_kurtosis"] - 8.2) < 0.3
    assert abs(full["acf_abs_1"] - 0.24) < 0.015
    assert abs(full["acf_abs_63"] - 0.14) < 0.015
    vix = load_vix().sort("date")
    v = vix_stats(vix["close"].to_numpy())
    assert abs(v["vix_mean"] - 14.90) < 0.05
    assert abs(v["vix_median"] - 13.74) < 0.05
    assert abs(v["ar1_vix"] - 0.935) < 0.01
    joint = bars.join(vix.select("date", pl.col("close").alias("vix")), on="date").drop_nulls("r")
    r = joint["r"].to_numpy()
    lev = leverage_stats(joint["vix"].to_numpy(), r)
    assert abs(lev["corr_r_dlnvix"] - (-0.82)) < 0.01
    vrp = vrp_stats(joint["vix"].to_numpy(), r)
    assert abs(vrp["vrp_mean"] - 3.0) < 0.15
    assert abs(vrp["vrp_median"] - 4.2) < 0.2
    assert abs(vrp["p_vix_gt_rv"] - 0.82) < 0.02
    assert np.isfinite(list(vrp.values())).all()
