"""Black-Scholes-Merton / Black-76 prices and Greeks against mpmath, the naive twin, QuantLib and finite
differences; edge cases and the wrapper contract (broadcasting, ``out=`` buffers, errors)."""

from __future__ import annotations

from pathlib import Path

import naive
import numpy as np
import polars as pl
import pytest
from numpy.testing import assert_allclose

from volengine.errors import KernelInputError
from volengine.kernels import GREEK_NAMES, black_price, bs_greeks, bs_price

naive_ncdf = np.vectorize(naive.ncdf)

REF = Path(__file__).parents[1] / "reference" / "bs_mpmath.parquet"


@pytest.fixture(scope="module")
def mpref() -> pl.DataFrame:
    return pl.read_parquet(REF)


def _book(rng: np.random.Generator, n: int) -> tuple[np.ndarray, ...]:
    spot = rng.uniform(20, 500, n)
    strike = spot * np.exp(rng.uniform(-1.0, 1.0, n))
    t = np.exp(rng.uniform(np.log(1 / 365), np.log(5), n))
    rate = rng.uniform(-0.01, 0.08, n)
    div = rng.uniform(0, 0.05, n)
    vol = rng.uniform(0.01, 3.0, n)
    is_call = rng.random(n) < 0.5
    return spot, strike, t, rate, div, vol, is_call


def _args(frame: pl.DataFrame) -> list[np.ndarray]:
    return [frame[c].to_numpy() for c in ("spot", "strike", "t", "rate", "div", "vol", "is_call")]


def test_price_matches_mpmath_to_1e12_relative(mpref: pl.DataFrame) -> None:
    args = _args(mpref)
    spot, strike, t, rate, div, vol, is_call = args
    ours = bs_price(*args)
    ref = mpref["price"].to_numpy()
    big = ref > 1e-6
    assert big.sum() > 1000
    rel = np.abs(ours - ref) / np.where(big, ref, 1.0)
    # Out of the money both terms of the closed form nearly cancel; erfc is good to ~4 ulps, so the price
    # can only be as good as a few ulps times the cancellation factor F N(w d1) / price.
    w = np.where(is_call, 1.0, -1.0)
    fwd = spot * np.exp((rate - div) * t)
    d1 = np.log(fwd / strike) / (vol * np.sqrt(t)) + 0.5 * vol * np.sqrt(t)
    cancel = np.exp(-rate * t) * fwd * naive_ncdf(w * d1) / np.where(big, ref, 1.0)
    well = big & (cancel <= 300)
    assert well.sum() > 800
    assert rel[well].max() <= 1e-12, f"worst relative price error {rel[well].max():.3g}"
    assert (rel[big] <= 1e-12 + 4e-15 * cancel[big]).all()
    assert_allclose(ours[~big], ref[~big], rtol=1e-9, atol=1e-16)


@pytest.mark.parametrize("name", GREEK_NAMES[1:])
def test_greeks_match_mpmath_to_1e10_relative(mpref: pl.DataFrame, name: str) -> None:
    g = bs_greeks(*_args(mpref)).as_dict()[name]
    ref = mpref[name].to_numpy()
    floor = 1e-10 * np.abs(ref).max()
    rel = np.abs(g - ref) / np.maximum(np.abs(ref), floor)
    assert rel.max() <= 1e-10, f"{name}: worst relative error {rel.max():.3g} at row {int(rel.argmax())}"


def test_kernels_match_naive_twin(rng: np.random.Generator) -> None:
    args = _book(rng, 400)
    ours = bs_greeks(*args).as_dict()
    rows = [naive.bs_greeks(*(float(a[i]) for a in args)) for i in range(400)]
    for name in GREEK_NAMES:
        ref = np.array([r[name] for r in rows])
        assert_allclose(ours[name], ref, rtol=1e-11, atol=1e-13 * np.abs(ref).max(), err_msg=name)
    assert_allclose(bs_price(*args), ours["price"], rtol=1e-13, atol=1e-15)


def test_black_price_matches_twin_and_bsm(rng: np.random.Generator) -> None:
    spot, strike, t, rate, div, vol, is_call = _book(rng, 300)
    fwd = spot * np.exp((rate - div) * t)
    disc = np.exp(-rate * t)
    ours = black_price(fwd, strike, t, disc, vol, is_call)
    ref = np.array([naive.black_price(fwd[i], strike[i], t[i], disc[i], vol[i], bool(is_call[i])) for i in range(300)])
    assert_allclose(ours, ref, rtol=1e-12, atol=1e-14)
    assert_allclose(ours, bs_price(spot, strike, t, rate, div, vol, is_call), rtol=1e-11, atol=1e-12)


def test_greeks_are_derivatives_of_the_price(rng: np.random.Generator) -> None:
    spot, strike, t, rate, div, vol, is_call = _book(rng, 200)
    t = np.maximum(t, 0.05)
    vol = np.maximum(vol, 0.05)
    g = bs_greeks(spot, strike, t, rate, div, vol, is_call)

    def p(s=spot, k=strike, tt=t, r=rate, q=div, v=vol):  # type: ignore[no-untyped-def]
        return bs_price(s, k, tt, r, q, v, is_call)

    hs, hv, ht, hr = spot * 1e-4, 1e-4, 1e-5, 1e-5
    fd = {
        "delta": (p(s=spot + hs) - p(s=spot - hs)) / (2 * hs),
        "gamma": (p(s=spot + hs) - 2 * p() + p(s=spot - hs)) / hs**2,
        "vega": (p(v=vol + hv) - p(v=vol - hv)) / (2 * hv),
        "theta": -(p(tt=t + ht) - p(tt=t - ht)) / (2 * ht),
        "rho": (p(r=rate + hr) - p(r=rate - hr)) / (2 * hr),
        "vanna": (
            p(s=spot + hs, v=vol + hv)
            - p(s=spot + hs, v=vol - hv)
            - p(s=spot - hs, v=vol + hv)
            + p(s=spot - hs, v=vol - hv)
        )
        / (4 * hs * hv),
        "volga": (p(v=vol + hv) - 2 * p() + p(v=vol - hv)) / hv**2,
    }
    for name, approx in fd.items():
        ours = getattr(g, name)
        scale = np.abs(ours).max()
        assert_allclose(ours, approx, rtol=2e-4, atol=2e-5 * scale, err_msg=name)
    delta = lambda tt: bs_greeks(spot, strike, tt, rate, div, vol, is_call).delta  # noqa: E731
    assert_allclose(g.charm, -(delta(t + ht) - delta(t - ht)) / (2 * ht), rtol=2e-4, atol=1e-6)


def test_against_quantlib_units() -> None:
    ql = pytest.importorskip("QuantLib")
    today = ql.Date(15, 1, 2025)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()
    cases = [(100.0, 90.0, 0.25, 0.04, 0.01, 0.3, True), (100.0, 120.0, 2.0, 0.02, 0.03, 0.45, False)]
    for spot, strike, t, rate, div, vol, is_call in cases:
        days = round(t * 365)
        t_exact = days / 365
        exercise = ql.EuropeanExercise(today + days)
        payoff = ql.PlainVanillaPayoff(ql.Option.Call if is_call else ql.Option.Put, strike)
        process = ql.BlackScholesMertonProcess(
            ql.QuoteHandle(ql.SimpleQuote(spot)),
            ql.YieldTermStructureHandle(ql.FlatForward(today, div, dc)),
            ql.YieldTermStructureHandle(ql.FlatForward(today, rate, dc)),
            ql.BlackVolTermStructureHandle(ql.BlackConstantVol(today, ql.NullCalendar(), vol, dc)),
        )
        option = ql.VanillaOption(payoff, exercise)
        option.setPricingEngine(ql.AnalyticEuropeanEngine(process))
        g = bs_greeks(spot, strike, t_exact, rate, div, vol, is_call)
        assert_allclose(g.price, option.NPV(), rtol=1e-10)
        assert_allclose(g.delta, option.delta(), rtol=1e-9)
        assert_allclose(g.gamma, option.gamma(), rtol=1e-9)
        assert_allclose(g.vega, option.vega(), rtol=1e-9)  # both per 1.00 of vol
        assert_allclose(g.rho, option.rho(), rtol=1e-9)  # both per 1.00 of rate
        assert_allclose(g.theta, option.theta(), rtol=1e-8)  # both per year


def test_display_units_convert_by_the_desk_factors() -> None:
    g = bs_greeks(100.0, 100.0, 0.5, 0.03, 0.01, 0.25, True)
    d = g.display_units()
    assert_allclose(d["vega_pt"], g.vega / 100)
    assert_allclose(d["theta_day"], g.theta / 365)
    assert_allclose(d["rho_pct"], g.rho / 100)


def test_expired_and_zero_vol_limits() -> None:
    # t <= 0: intrinsic, delta +/-1 in the money
    assert bs_price(110.0, 100.0, 0.0, 0.05, 0.0, 0.2, True) == 10.0
    assert bs_price(110.0, 100.0, -1.0, 0.05, 0.0, 0.2, False) == 0.0
    g = bs_greeks(np.array([110.0, 90.0]), 100.0, 0.0, 0.05, 0.0, 0.2, [True, False])
    assert_allclose(g.delta, [1.0, -1.0])
    assert_allclose(g.gamma, [0.0, 0.0])
    # vol == 0: discounted forward intrinsic, and the Greeks of that deterministic payoff
    spot, strike, t, r, q = 100.0, 95.0, 1.0, 0.05, 0.02
    expect = spot * np.exp(-q * t) - strike * np.exp(-r * t)
    assert_allclose(bs_price(spot, strike, t, r, q, 0.0, True), expect, rtol=1e-14)
    assert bs_price(spot, strike, t, r, q, 0.0, False) == 0.0
    g0 = bs_greeks(spot, strike, t, r, q, 0.0, True)
    near = bs_greeks(spot, strike, t, r, q, 1e-6, True)
    for name in ("price", "delta", "theta", "rho", "charm"):
        assert_allclose(getattr(g0, name), getattr(near, name), rtol=1e-8, atol=1e-12, err_msg=name)


@pytest.mark.parametrize(
    "bad",
    [
        {"spot": np.nan},
        {"spot": -1.0},
        {"strike": 0.0},
        {"vol": -0.1},
        {"t": np.inf},
        {"rate": np.nan},
        {"div": np.inf},
        {"vol": np.inf},
    ],
)
def test_out_of_domain_inputs_are_nan(bad: dict) -> None:
    args = {
        "spot": 100.0,
        "strike": 100.0,
        "t": 1.0,
        "rate": 0.01,
        "div": 0.0,
        "vol": 0.2,
        "is_call": True,
    } | bad
    assert np.isnan(bs_price(**args))
    g = bs_greeks(**args)
    assert all(np.isnan(v) for v in g.as_dict().values())


def test_deep_otm_tail_keeps_relative_accuracy() -> None:
    # 8 standard deviations out of the money: an erf-based CDF loses most digits here, erfc does not
    strike = 100.0 * np.exp(8 * 0.2)
    ours = bs_price(100.0, strike, 1.0, 0.0, 0.0, 0.2, True)
    ref = naive.bs_price(100.0, strike, 1.0, 0.0, 0.0, 0.2, True)
    assert 0 < ours < 1e-12
    assert_allclose(ours, ref, rtol=1e-12)


def test_broadcasting_and_shapes() -> None:
    strikes = np.array([[90.0], [100.0], [110.0]])
    vols = np.array([0.1, 0.2, 0.3, 0.4])
    out = bs_price(100.0, strikes, 0.5, 0.02, 0.0, vols, True)
    assert out.shape == (3, 4)
    for i in range(3):
        for j in range(4):
            assert out[i, j] == bs_price(100.0, strikes[i, 0], 0.5, 0.02, 0.0, vols[j], True)
    assert isinstance(bs_price(100.0, 100.0, 1.0, 0.0, 0.0, 0.2, True), np.floating)
    g = bs_greeks(100.0, strikes, 0.5, 0.02, 0.0, vols, [True, False, True, False])
    assert g.delta.shape == (3, 4)
    assert len(g) == 12
    frame = g.to_polars()
    assert frame.columns == list(GREEK_NAMES)
    assert frame.height == 12
    assert all(dt == pl.Float64 for dt in frame.dtypes)
    assert bs_price(np.array([]), 100.0, 1.0, 0.0, 0.0, 0.2, True).shape == (0,)


def test_out_buffers_are_written_in_place(rng: np.random.Generator) -> None:
    args = _book(rng, 50)
    out = np.full(50, -1.0)
    res = bs_price(*args, out=out)
    assert res is out
    assert_allclose(out, bs_price(*args))
    buf = np.empty((9, 50))
    g = bs_greeks(*args, out=buf)
    assert np.shares_memory(g.delta, buf)
    assert_allclose(buf[1], bs_greeks(*args).delta)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"out": np.empty(3, dtype=np.float32)}, "float64"),
        ({"out": np.empty(4)}, "broadcast shape"),
        ({"out": [0.0, 0.0, 0.0]}, "numpy.ndarray"),
    ],
)
def test_bad_out_buffer_is_a_clear_error(kwargs: dict, match: str) -> None:
    with pytest.raises(KernelInputError, match=match):
        bs_price(np.ones(3) * 100, 100.0, 1.0, 0.0, 0.0, 0.2, True, **kwargs)


def test_bad_arguments_name_the_argument() -> None:
    with pytest.raises(KernelInputError, match="do not broadcast"):
        bs_price(np.ones(3), np.ones(4), 1.0, 0.0, 0.0, 0.2, True)
    with pytest.raises(KernelInputError, match="'is_call'"):
        bs_price(100.0, 100.0, 1.0, 0.0, 0.0, 0.2, "call")
    with pytest.raises(KernelInputError, match="'spot'"):
        bs_price("abc", 100.0, 1.0, 0.0, 0.0, 0.2, True)
