"""Regime features against slow, obvious loops; NaN prefixes; the vol-index levels; input errors."""

from __future__ import annotations

import datetime as dt
import math
import statistics

import numpy as np
import polars as pl
import pytest
from conftest import business_days, make_bars, vix_like
from numpy.testing import assert_allclose
from polars.testing import assert_frame_equal

from volengine.config import Settings, with_overrides
from volengine.errors import DataError, KernelInputError, SchemaError
from volengine.kernels import realized_vol
from volengine.kernels.regime import trailing_high, trailing_log_vol
from volengine.regime import feature_names, regime_features

NAMES = feature_names()


# ------------------------------------------------------------------------------------ slow references


def naive_features(price: list[float], vix: list[float | None]) -> dict[str, list[float | None]]:
    """Every feature by its definition, one day at a time, reading only days <= t."""
    n = len(price)
    out: dict[str, list[float | None]] = {c: [] for c in NAMES.columns if c != "vix_source"}
    lr = [math.nan] + [math.log(price[i] / price[i - 1]) for i in range(1, n)]
    for t in range(n):
        p = price[t]
        ma = {w: statistics.fmean(price[t - w + 1 : t + 1]) if t + 1 >= w else None for w in (20, 50, 200)}
        rv = {w: statistics.stdev(lr[t - w + 1 : t + 1]) * math.sqrt(252) if t >= w else None for w in (5, 20, 60)}
        for w in (20, 50, 200):
            out[f"ma{w}"].append(ma[w])
            out[f"price_vs_ma{w}"].append(None if ma[w] is None else p / ma[w] - 1)
        for a, b in ((20, 50), (50, 200)):
            out[f"ma{a}_ma{b}"].append(None if ma[b] is None or ma[a] is None else ma[a] / ma[b])
        for w in (5, 20, 60):
            out[f"rv{w}"].append(rv[w])
        for a, b in ((5, 20), (20, 60)):
            ra, rb = rv[a], rv[b]
            out[f"rv{a}_rv{b}"].append(None if ra is None or rb is None else (1.0 if rb == 0 else ra / rb))
        if t + 1 >= 252:
            window = price[t - 251 : t + 1]
            high = max(window)
            last_at = max(i for i, v in enumerate(window) if v == high)
            out["drawdown"].append(p / high - 1)
            out["days_since_high"].append(float(251 - last_at))
        else:
            out["drawdown"].append(None)
            out["days_since_high"].append(None)
        for k in (5, 20, 60):
            out[f"return_{k}d"].append(p / price[t - k] - 1 if t >= k else None)
        out["vix"].append(vix[t])
        earlier = [v for v in vix[:t] if v is not None][-252:]
        cur = vix[t]
        has_pct = cur is not None and len(earlier) == 252
        out["vix_percentile"].append(100.0 * sum(v < cur for v in earlier) / 252 if has_pct else None)  # type: ignore[operator]
        old = vix[t - 5] if t >= 5 else None
        out["vix_change_5d"].append(None if cur is None or old is None else cur - old)
    return out


def naive_proxy(price: list[float], t: int) -> float | None:
    if t < 20:
        return None
    lr = [math.log(price[i] / price[i - 1]) for i in range(t - 19, t + 1)]
    return 100.0 * 1.2 * statistics.stdev(lr) * math.sqrt(252)


def assert_matches(frame: pl.DataFrame, expected: dict[str, list[float | None]]) -> None:
    for name, values in expected.items():
        got = frame[name].cast(pl.Float64)
        want = pl.Series(name, values, dtype=pl.Float64)
        assert got.is_null().to_list() == want.is_null().to_list(), f"{name}: null pattern differs"
        mask = want.is_not_null().to_numpy()
        assert_allclose(got.to_numpy()[mask], want.to_numpy()[mask], rtol=1e-10, atol=1e-12, err_msg=name)


# ---------------------------------------------------------------------------------------- features


def test_features_match_the_definitions_on_random_bars(rng: np.random.Generator) -> None:
    bars = make_bars(rng, 420)
    index = vix_like(bars, rng)
    # the index starts late and has holes: the proxy fills them (auto mode)
    index = index.filter(pl.Series(rng.random(index.height) > 0.1) & (pl.int_range(pl.len()) >= 150))
    out = regime_features(bars, index)
    price = bars["adj_close"].to_list()
    by_date = dict(zip(index["date"].to_list(), index["close"].to_list(), strict=True))
    vix = [by_date.get(d, naive_proxy(price, t)) for t, d in enumerate(bars["date"].to_list())]
    assert_matches(out, naive_features(price, vix))
    assert out["date"].to_list() == bars["date"].to_list()


def test_null_prefixes_have_the_window_lengths(rng: np.random.Generator) -> None:
    out = regime_features(make_bars(rng, 300), None)
    first = {c: out[c].is_not_null().arg_true()[0] for c in NAMES.columns if c not in {"vix_source", "vix_percentile"}}
    assert first == {
        "ma20": 19, "ma50": 49, "ma200": 199, "price_vs_ma20": 19, "price_vs_ma50": 49, "price_vs_ma200": 199,
        "ma20_ma50": 49, "ma50_ma200": 199, "rv5": 5, "rv20": 20, "rv60": 60, "rv5_rv20": 20, "rv20_rv60": 60,
        "drawdown": 251, "days_since_high": 251, "return_5d": 5, "return_20d": 20, "return_60d": 60,
        "vix": 20, "vix_change_5d": 25,
    }  # fmt: skip
    # percentile: 252 earlier values of the vix series, which starts at row 20
    assert out["vix_percentile"].is_not_null().arg_true()[0] == 20 + 252


def test_flat_prices_give_zero_vol_and_ratio_one() -> None:
    close = [100.0 * 1.01 ** (i % 7) for i in range(80)] + [120.0] * 30
    out = regime_features(pl.DataFrame({"date": business_days(len(close)), "close": close}))
    last = out.row(-1, named=True)
    assert (last["rv5"], last["rv20"], last["rv5_rv20"]) == (0.0, 0.0, 1.0)
    assert last["rv60"] > 0
    assert last["rv20_rv60"] == 0.0
    row = out.row(85, named=True)  # rv5 flat, rv20 not
    assert row["rv5"] == 0.0
    assert row["rv5_rv20"] == 0.0


def test_days_since_high_takes_the_latest_tied_high() -> None:
    close = [float(x) for x in [5, 9, 7, 9, 8, 6]]
    dd, days = trailing_high(close, 4)
    assert_allclose(dd, [np.nan, np.nan, np.nan, 0.0, 8 / 9 - 1, 6 / 9 - 1], atol=1e-15)
    assert_allclose(days, [np.nan, np.nan, np.nan, 0.0, 1.0, 2.0])


def test_drawdown_never_uses_a_shorter_window() -> None:
    # VolMachine's min(252, n) window gave -0.5 from day 2 on; the 252-bar window waits, then drops the
    # first bar's high once it is 252 bars old
    close = [200.0] + [100.0] * 299
    out = regime_features(pl.DataFrame({"date": business_days(300), "close": close}))
    assert out["drawdown"][:251].null_count() == 251
    assert (out["drawdown"][251], out["days_since_high"][251]) == (-0.5, 251)
    assert (out["drawdown"][252], out["days_since_high"][252]) == (0.0, 0)


def test_log_vol_kernel_agrees_with_realized_vol(rng: np.random.Generator) -> None:
    price = 100 * np.exp(np.cumsum(0.01 * rng.standard_normal(500)))
    seg = np.repeat([3, 1], 250)
    for w in (2, 5, 20, 60):
        ours = trailing_log_vol(price, w, segment=seg)
        ref = realized_vol(None, None, None, price, w, method="close_to_close", segment=seg)
        assert_allclose(ours, ref, rtol=1e-11, atol=1e-14)
    bad = price.copy()
    bad[100] = -1.0
    got = trailing_log_vol(bad, 5)
    assert np.isnan(got[100:106]).all()
    assert np.isfinite(got[106])
    with pytest.raises(KernelInputError, match="window"):
        trailing_log_vol(price, 1)


def test_adjusted_prices_drive_the_features(rng: np.random.Generator) -> None:
    bars = make_bars(rng, 300)
    adj = regime_features(bars)
    plain = regime_features(bars.drop("adj_close").with_columns(bars["adj_close"].alias("close")))
    assert_frame_equal(adj, plain)
    # a missing adj_close reuses the latest adjustment factor: no fake return on that bar
    holes = bars.with_columns(
        pl.when(pl.int_range(pl.len()) >= 290).then(None).otherwise(pl.col("adj_close")).alias("adj_close")
    )
    out = regime_features(holes)
    factor = bars["adj_close"][289] / bars["close"][289]
    want = bars["close"][299] * factor / (bars["close"][294] * factor) - 1
    assert out["return_5d"][299] == pytest.approx(want, rel=1e-12)


def test_each_underlying_is_computed_alone(rng: np.random.Generator) -> None:
    a = make_bars(rng, 280, underlying="SPY")
    b = make_bars(rng, 260, underlying="QQQ")
    index = vix_like(a, rng)
    both = regime_features(pl.concat([a, b]).sample(fraction=1.0, shuffle=True, seed=1), index)
    assert both["underlying"].cast(pl.String).to_list() == ["QQQ"] * 260 + ["SPY"] * 280
    for part in (a, b):
        alone = regime_features(part, index)
        sym = part["underlying"][0]
        assert_frame_equal(both.filter(pl.col("underlying") == sym), alone, check_dtypes=False)


# ------------------------------------------------------------------------------- vol-index levels


def test_bars_only_uses_the_proxy_everywhere(rng: np.random.Generator) -> None:
    bars = make_bars(rng, 120)
    out = regime_features(bars)
    price = bars["adj_close"].to_list()
    assert out["vix_source"].cast(pl.String).to_list() == ["none"] * 20 + ["proxy"] * 100
    assert_allclose(out["vix"][20:].to_numpy(), [naive_proxy(price, t) for t in range(20, 120)], rtol=1e-12)


def test_full_index_is_used_as_given(rng: np.random.Generator) -> None:
    bars = make_bars(rng, 120)
    index = vix_like(bars, rng)
    out = regime_features(bars, index)
    assert (out["vix_source"] == "index").all()
    assert out["vix"].to_list() == index["close"].to_list()


@pytest.mark.parametrize(
    ("mode", "first_half", "second_half"),
    [("auto", "proxy", "index"), ("always", "proxy", "proxy"), ("never", "none", "index")],
)
def test_partial_index_follows_the_proxy_mode(
    rng: np.random.Generator, mode: str, first_half: str, second_half: str
) -> None:
    bars = make_bars(rng, 120)
    index = vix_like(bars, rng).tail(60)
    settings = with_overrides(Settings(), {"regime": {"vol_index_proxy": {"mode": mode}}})
    out = regime_features(bars, index, settings)
    source = out["vix_source"].cast(pl.String).to_list()
    assert set(source[20:60]) == {first_half}
    assert set(source[60:]) == {second_half}
    if second_half == "index":
        assert out["vix"][60:].to_list() == index["close"].to_list()
    assert out.filter(pl.col("vix_source") == "none")["vix"].null_count() == source.count("none")


def test_proxy_settings_are_read(rng: np.random.Generator) -> None:
    bars = make_bars(rng, 80)
    base = regime_features(bars)
    patch = {"regime": {"vol_index_proxy": {"rv_window_days": 10, "implied_to_realized_ratio": 2.4}}}
    other = regime_features(bars, None, with_overrides(Settings(), patch))
    price = bars["adj_close"].to_list()
    lr = [math.log(price[i] / price[i - 1]) for i in range(70, 80)]
    assert other["vix"][-1] == pytest.approx(100 * 2.4 * statistics.stdev(lr) * math.sqrt(252), rel=1e-12)
    assert other["vix"].null_count() == 10
    assert base["vix"].null_count() == 20


def test_windows_come_from_the_config(rng: np.random.Generator) -> None:
    patch = {"regime": {"features": {"ma_periods_days": [10, 30, 100], "rv_windows_days": [3, 10, 30],
                                     "return_horizons_days": [2, 10, 40], "vix_change_days": 3}}}  # fmt: skip
    settings = with_overrides(Settings(), patch)
    out = regime_features(make_bars(rng, 260), None, settings)
    assert feature_names(settings).columns == [c for c in out.columns if c != "date"]
    assert {"ma100", "price_vs_ma30", "ma10_ma30", "rv3_rv10", "return_40d", "vix_change_3d"} <= set(out.columns)
    assert out["ma100"].is_not_null().arg_true()[0] == 99


# ------------------------------------------------------------------------------------------ errors


def test_bad_inputs_name_the_column_and_row(rng: np.random.Generator) -> None:
    bars = make_bars(rng, 30)
    with pytest.raises(SchemaError, match="'close' is missing"):
        regime_features(bars.drop("close"))
    with pytest.raises(SchemaError, match="dtype Date"):
        regime_features(bars.with_columns(pl.col("date").cast(pl.String)))
    with pytest.raises(DataError, match=r"finite price > 0; got -1.0 at row 7") as err:
        regime_features(
            bars.with_columns(pl.when(pl.int_range(pl.len()) == 7).then(-1.0).otherwise("close").alias("close"))
        )
    assert (err.value.column, err.value.row) == ("close", 7)
    with pytest.raises(DataError, match="appears twice"):
        regime_features(pl.concat([bars, bars.tail(1)]))
    index = pl.DataFrame({"date": [dt.date(2015, 1, 2)] * 2, "close": [12.0, 13.0]})
    with pytest.raises(DataError, match="more than once"):
        regime_features(bars, index)
    with pytest.raises(DataError, match="index points > 0"):
        regime_features(bars, index.head(1).with_columns(pl.lit(0.0).alias("close")))
    # NaN / null index values are missing values, not errors
    holes = pl.DataFrame({"date": bars["date"][:3], "close": [float("nan"), None, 14.0]})
    out = regime_features(bars, holes, with_overrides(Settings(), {"regime": {"vol_index_proxy": {"mode": "never"}}}))
    assert out["vix"][:3].to_list() == [None, None, 14.0]


def test_empty_bars_give_an_empty_frame() -> None:
    empty = pl.DataFrame({"date": [], "close": []}, schema={"date": pl.Date, "close": pl.Float64})
    out = regime_features(empty)
    assert out.height == 0
    assert out.columns == ["date", *NAMES.columns]


def test_kernels_compile_once(rng: np.random.Generator) -> None:
    from volengine.kernels.regime import KERNELS, hysteresis

    price = 100 * np.exp(np.cumsum(0.01 * rng.standard_normal(40)))
    read_only = price.copy()
    read_only.flags.writeable = False
    for variant in (price, read_only, np.repeat(price, 2)[::2], price.tolist(), np.round(price).astype(np.int64)):
        trailing_log_vol(variant, 5, segment=np.repeat(np.array([2, 1], dtype=np.int32), 20))
        trailing_high(variant, 5)
    dec = rng.random((40, 5))
    for raw in (np.ones(40, np.int8), np.ones(40, np.int64), [1] * 40):
        hysteresis(dec, raw, np.arange(5, dtype=np.int32), min_dwell_days=2)
        hysteresis(np.asfortranarray(dec), raw, list(range(5)), segment=np.repeat([0, 1], 20))
    for kernel in KERNELS:
        assert len(kernel.signatures) == 1, (kernel.py_func.__name__, kernel.signatures)
