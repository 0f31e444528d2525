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
