"""Implied volatility: round trips to 1e-8 on every well-posed row, NaN with a reason exactly on the
ill-posed ones, agreement with the naive bisection twin and QuantLib, and the wrapper contract."""

from __future__ import annotations

import naive
import numpy as np
import pytest
from numpy.testing import assert_allclose

from volengine.kernels import IVStatus, black_implied_vol, black_price, bs_greeks, bs_price, implied_vol

EPS = np.finfo(np.float64).eps


def _hard_book(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """The issue's domain: vol in [0.01, 3], t in [1 day, 5 years], strike/forward in [0.5, 2]."""
    t = np.exp(rng.uniform(np.log(1 / 365), np.log(5.0), n))
    rate = rng.uniform(-0.01, 0.08, n)
    div = rng.uniform(0.0, 0.04, n)
    spot = np.full(n, 100.0)
    fwd = spot * np.exp((rate - div) * t)
    strike = fwd * np.exp(rng.uniform(np.log(0.5), np.log(2.0), n))
    vol = rng.uniform(0.01, 3.0, n)
    vol[: n // 20] = rng.choice([0.01, 3.0], n // 20)
    is_call = rng.random(n) < 0.5
    return {"spot": spot, "strike": strike, "t": t, "rate": rate, "div": div, "vol": vol, "is_call": is_call}


def _well_posed(book: dict[str, np.ndarray], price: np.ndarray) -> np.ndarray:
    """Rows whose price still determines vol to 1e-8 in float64 (time value and noise-floor criteria)."""
    b = book
    disc = np.exp(-b["rate"] * b["t"])
    fwd = b["spot"] * np.exp((b["rate"] - b["div"]) * b["t"])
    intrinsic = disc * np.where(b["is_call"], np.maximum(fwd - b["strike"], 0), np.maximum(b["strike"] - fwd, 0))
    itm = np.where(b["is_call"], fwd > b["strike"], b["strike"] > fwd)
    vega = bs_greeks(*(b[k] for k in ("spot", "strike", "t", "rate", "div", "vol", "is_call"))).vega
    noise = 4 * EPS * (price + b["spot"] * itm) / np.maximum(vega, 1e-300)
    return (price - intrinsic > 1e-12 * fwd * disc) & (noise <= 1e-8)


def test_round_trip_recovers_vol_on_every_well_posed_row(rng: np.random.Generator) -> None:
    book = _hard_book(rng, 200_000)
    args = [book[k] for k in ("spot", "strike", "t", "rate", "div")]
    price = bs_price(*args, book["vol"], book["is_call"])
    status = np.empty(price.shape, np.int8)
    iv = implied_vol(price, *args, book["is_call"], status=status)
    wp = _well_posed(book, price)
    assert wp.mean() > 0.8
    err = np.abs(iv - book["vol"])
    assert not np.isnan(iv[wp]).any(), f"{int(np.isnan(iv[wp]).sum())} well-posed rows unsolved"
    assert err[wp].max() <= 1e-8, f"worst well-posed error {err[wp].max():.3g}"
    assert (status[wp] == IVStatus.OK).all()
    # hard subsets are included, not filtered out
    sd = np.abs(np.log(book["strike"] / book["spot"])) / (book["vol"] * np.sqrt(book["t"]))
    assert (wp & (sd > 3)).sum() > 5_000
    assert (wp & (book["t"] < 7 / 365)).sum() > 5_000
    # where a value is returned on the other rows it still reprices the input to its noise floor
    solved = ~np.isnan(iv)
    assert (status[~solved] != IVStatus.OK).all()
    repriced = bs_price(*args, np.where(solved, iv, 0.2), book["is_call"])
    assert_allclose(repriced[solved], price[solved], rtol=1e-9, atol=1e-10)


def test_black_round_trip_and_agreement_with_bsm(rng: np.random.Generator) -> None:
    book = _hard_book(rng, 50_000)
    disc = np.exp(-book["rate"] * book["t"])
    fwd = book["spot"] * np.exp((book["rate"] - book["div"]) * book["t"])
    price = black_price(fwd, book["strike"], book["t"], disc, book["vol"], book["is_call"])
    iv = black_implied_vol(price, fwd, book["strike"], book["t"], disc, book["is_call"])
    wp = _well_posed(book, price)
    assert np.nanmax(np.abs(iv - book["vol"])[wp]) <= 1e-8
    assert not np.isnan(iv[wp]).any()


def test_agrees_with_naive_bisection_twin(rng: np.random.Generator) -> None:
    n = 300
    book = _hard_book(rng, n)
    book["vol"] = rng.uniform(0.05, 1.5, n)
    args = [book[k] for k in ("spot", "strike", "t", "rate", "div")]
    price = bs_price(*args, book["vol"], book["is_call"])
    ours = implied_vol(price, *args, book["is_call"])
    ref = np.array(
        [naive.bs_implied_vol(price[i], *(float(a[i]) for a in args), bool(book["is_call"][i])) for i in range(n)]
    )
    both = _well_posed(book, price)
    assert both.sum() > 200
    assert not np.isnan(ref[both]).any()
    assert_allclose(ours[both], ref[both], atol=1e-8)


def test_agrees_with_quantlib_near_the_money() -> None:
    ql = pytest.importorskip("QuantLib")
    rng = np.random.default_rng(3)
    n = 400
    fwd = 100.0
    strike = fwd * np.exp(rng.uniform(-0.3, 0.3, n))
    t = rng.uniform(0.1, 2.0, n)
    vol = rng.uniform(0.1, 0.8, n)
    disc = 0.97
    is_call = rng.random(n) < 0.5
    price = black_price(fwd, strike, t, disc, vol, is_call)
    ours = black_implied_vol(price, fwd, strike, t, disc, is_call)
    ref = np.array(
        [
            ql.blackFormulaImpliedStdDev(
                ql.Option.Call if is_call[i] else ql.Option.Put,
                strike[i],
                fwd,
                price[i],
                disc,
                0.0,
                0.3,
                1e-12,
                200,
            )
            / np.sqrt(t[i])
            for i in range(n)
        ]
    )
    assert_allclose(ours, ref, atol=1e-7)  # QuantLib solves to a price tolerance, not a vol one
    intrinsic = disc * np.where(is_call, np.maximum(fwd - strike, 0), np.maximum(strike - fwd, 0))
    determined = price - intrinsic > 1e-6 * fwd  # rows far from the money carry too few digits for 1e-10
    assert determined.sum() > 350
    assert_allclose(ours[determined], vol[determined], atol=1e-10)


@pytest.mark.parametrize(
    ("price", "spot", "strike", "t", "is_call", "code"),
    [
        (np.nan, 100.0, 100.0, 1.0, True, IVStatus.BAD_INPUT),
        (5.0, -100.0, 100.0, 1.0, True, IVStatus.BAD_INPUT),
        (5.0, 100.0, 0.0, 1.0, True, IVStatus.BAD_INPUT),
        (5.0, 100.0, 100.0, np.inf, True, IVStatus.BAD_INPUT),
        (5.0, 100.0, 100.0, 0.0, True, IVStatus.EXPIRED),
        (5.0, 100.0, 100.0, -0.1, False, IVStatus.EXPIRED),
        (0.0, 100.0, 120.0, 1.0, True, IVStatus.BELOW_INTRINSIC),
        (-1.0, 100.0, 120.0, 1.0, True, IVStatus.BELOW_INTRINSIC),
        (19.0, 100.0, 80.0, 1.0, True, IVStatus.BELOW_INTRINSIC),  # below S - K e^{-rT} = 20 (r = 0)
        (100.0, 100.0, 80.0, 1.0, True, IVStatus.ABOVE_MAX),  # call >= S e^{-qT}
        (80.0, 100.0, 80.0, 1.0, False, IVStatus.ABOVE_MAX),  # put >= K e^{-rT}
        (99.999, 100.0, 100.0, 0.01, True, IVStatus.VOL_TOO_HIGH),
    ],
)
def test_ill_posed_rows_are_nan_with_their_reason(
    price: float, spot: float, strike: float, t: float, is_call: bool, code: IVStatus
) -> None:
    status = np.empty((), np.int8)
    iv = implied_vol(price, spot, strike, t, 0.0, 0.0, is_call, status=status)
    assert np.isnan(iv)
    assert IVStatus(int(status)) == code


def test_extremes_of_the_domain() -> None:
    # one day, 1 % vol, at the money; five years, 300 % vol; deep ITM put solved through parity
    for spot, strike, t, vol, is_call in [
        (100.0, 100.0, 1 / 365, 0.01, True),
        (100.0, 100.0, 5.0, 3.0, False),
        (100.0, 190.0, 0.5, 0.3, False),
        (100.0, 52.0, 2.0, 0.15, True),
        (100.0, 100.0, 1.0, 9.5, True),
    ]:
        price = bs_price(spot, strike, t, 0.03, 0.01, vol, is_call)
        assert abs(implied_vol(price, spot, strike, t, 0.03, 0.01, is_call) - vol) <= 1e-8


def test_out_and_status_buffers(rng: np.random.Generator) -> None:
    book = _hard_book(rng, 100)
    args = [book[k] for k in ("spot", "strike", "t", "rate", "div")]
    price = bs_price(*args, book["vol"], book["is_call"])
    out = np.empty(100)
    status = np.full(100, 99, np.int8)
    res = implied_vol(price, *args, book["is_call"], out=out, status=status)
    assert res is out
    assert set(np.unique(status)) <= {int(s) for s in IVStatus}
    from volengine.errors import KernelInputError

    with pytest.raises(KernelInputError, match="status"):
        implied_vol(price, *args, book["is_call"], status=np.empty(100, np.int64))
