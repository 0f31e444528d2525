"""Dealer gamma exposure: a hand-computed chain, both sign conventions, feed gamma, OI filter, expiry
selection, and a naive per-day twin on random multi-day chains."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict

import numpy as np
import polars as pl
import pytest
from numpy.testing import assert_allclose
from polars.testing import assert_frame_equal

from volengine.analytics.gamma import dealer_gamma, gamma_profile
from volengine.config.edges import GammaSettings
from volengine.config.enums import GammaSignConvention
from volengine.data.schema import Right
from volengine.errors import SchemaError

DAY = dt.date(2024, 3, 4)
EXP_0 = DAY  # same-day expiry: ignored
EXP_3 = dt.date(2024, 3, 7)
EXP_10 = dt.date(2024, 3, 14)
SPOT = 101.0
# GEX = gamma x OI x 100 x S^2 x 0.01 = (gamma x OI) x S^2: the hand arithmetic below counts in gamma x OI units
UNIT = 100 * SPOT**2 * 0.01

# (expiration, dte, strike, right, gamma, open_interest, vendor_gamma)
CHAIN = [
    # DTE 0, huge OI: must not count anywhere
    (EXP_0, 0, 100.0, "C", 0.50, 90_000, None),
    (EXP_0, 0, 100.0, "P", 0.50, 10_000, None),
    # DTE 3, the selected expiry
    (EXP_3, 3, 90.0, "C", 0.03, 1000, None),  # +30
    (EXP_3, 3, 90.0, "P", 0.01, 1000, None),  # -10
    (EXP_3, 3, 95.0, "C", 0.001, 20_000, float("nan")),  # +20 (NaN feed gamma falls back to BS)
    (EXP_3, 3, 95.0, "P", 0.02, 4000, None),  # -80
    (EXP_3, 3, 100.0, "C", 0.05, 4000, 0.06),  # +200 (BS) or +240 (feed)
    (EXP_3, 3, 100.0, "P", 0.05, 2000, None),  # -100
    (EXP_3, 3, 105.0, "C", 0.04, 3000, None),  # +120
    (EXP_3, 3, 105.0, "P", 0.03, 1500, None),  # -45
    (EXP_3, 3, 110.0, "C", 0.02, 2500, None),  # +50
    (EXP_3, 3, 110.0, "P", 0.01, 500, None),  # OI < 1000: ignored (-5 if it counted)
    (EXP_3, 3, 115.0, "C", 0.40, None, None),  # OI unknown: ignored, never read as 0 or any other number
    # DTE 10
    (EXP_10, 10, 100.0, "C", 0.02, 3000, None),  # +60
    (EXP_10, 10, 100.0, "P", 0.02, 1000, None),  # -20
]


def _frame(rows: list[tuple], *, spot: float = SPOT, day: dt.date = DAY, underlying: str = "SPY") -> pl.DataFrame:
    exp, dte, strike, right, gamma, oi, vendor = (list(c) for c in zip(*rows, strict=True))
    n = len(rows)
    return pl.DataFrame(
        {
            "underlying": pl.Series([underlying] * n, dtype=pl.Categorical),
            "date": pl.Series([day] * n, dtype=pl.Date),
            "expiration": pl.Series(exp, dtype=pl.Date),
            "dte": pl.Series(dte, dtype=pl.Int32),
            "t": pl.Series([d / 365 for d in dte], dtype=pl.Float64),
            "strike": pl.Series(strike, dtype=pl.Float64),
            "right": pl.Series(right, dtype=Right),
            "open_interest": pl.Series(oi, dtype=pl.Int64),
            "gamma": pl.Series(gamma, dtype=pl.Float64),
            "vendor_gamma": pl.Series(vendor, dtype=pl.Float64),
            "iv": pl.Series([0.2] * n, dtype=pl.Float64),
            "mid": pl.Series([1.0] * n, dtype=pl.Float64),
            "underlying_price": pl.Series([spot] * n, dtype=pl.Float64),
            "forward": pl.Series([spot] * n, dtype=pl.Float64),
        }
    )


BS = GammaSettings(use_feed_gamma=False)


def test_profile_matches_the_hand_computed_chain() -> None:
    prof = gamma_profile(_frame(CHAIN), BS)
    # calls + / puts -, in gamma x OI units: 90: 30 - 10; 95: 20 - 80; 100: 200 - 100; 105: 120 - 45; 110: 50 - 0
    call = np.array([30, 20, 200, 120, 50]) * UNIT
    put = -np.array([10, 80, 100, 45, 0]) * UNIT
    gex = np.array([20, -60, 100, 75, 50]) * UNIT
    cum = np.array([20, -40, 60, 135, 185]) * UNIT
    assert prof["strike"].to_list() == [90.0, 95.0, 100.0, 105.0, 110.0]
    assert prof["expiration"].unique().to_list() == [EXP_3]
    for col, want in (("gex_call", call), ("gex_put", put), ("gex", gex), ("cum_gex", cum)):
        assert_allclose(prof[col].to_numpy(), want, rtol=1e-12, atol=1e-6, err_msg=col)


def test_levels_match_the_hand_computed_chain() -> None:
    row = dealer_gamma(_frame(CHAIN), BS).row(0, named=True)
    assert row["gex_expiration"] == EXP_3
    assert row["gex_dte"] == 3
    assert_allclose(row["gex_net"], 185 * UNIT, rtol=1e-12)
    assert row["gex_max_strike"] == 100.0  # abs units 20, 60, 100, 75, 50
    assert_allclose(row["gex_max_abs"], 100 * UNIT, rtol=1e-12)
    # cumulative 20, -40, 60, 135, 185: crossings 90|95 and 95|100; the last one is (95 + 100) / 2
    assert row["gex_flip"] == 97.5
    # pin zone: K* +- 1 % of spot = 100 -+ 1.01
    assert_allclose([row["gex_pin_low"], row["gex_pin_high"]], [98.99, 101.01], rtol=1e-12)
    assert_allclose(row["gex_price_vs_max_pct"], (101.0 - 100.0) / 101.0 * 100, rtol=1e-12)
    assert row["gex_in_pin_zone"] is True
    assert row["gex_spot"] == SPOT
    # call + put OI: 90: 2000; 95: 24000; 100: 6000; 105: 4500; 110: 3000 (the 500-OI put counts here)
    assert row["max_oi_strike"] == 95.0
    # all expiries with DTE > 0: 185 + (60 - 20); the DTE-0 contracts (+20000 units) are left out
    assert_allclose(row["gex_net_all"], 225 * UNIT, rtol=1e-12)
    assert row["gex_n_contracts"] == 9


def test_puts_positive_flips_every_sign_but_not_the_levels() -> None:
    flipped = GammaSettings(use_feed_gamma=False, sign_convention=GammaSignConvention.PUTS_POSITIVE)
    row = dealer_gamma(_frame(CHAIN), flipped).row(0, named=True)
    base = dealer_gamma(_frame(CHAIN), BS).row(0, named=True)
    assert_allclose(row["gex_net"], -185 * UNIT, rtol=1e-12)
    assert_allclose(row["gex_net_all"], -225 * UNIT, rtol=1e-12)
    # cumulative -20, 40, -60, -135, -185: the same crossings
    assert row["gex_flip"] == 97.5
    for col in ("gex_max_strike", "gex_max_abs", "gex_pin_low", "gex_pin_high", "max_oi_strike"):
        assert row[col] == base[col], col
    prof = gamma_profile(_frame(CHAIN), flipped)
    assert_allclose(prof["gex_put"].to_numpy(), np.array([10, 80, 100, 45, 0]) * UNIT, rtol=1e-12, atol=1e-6)


def test_flip_threshold_moves_the_crossing() -> None:
    # cumulative - 100 units: -80, -140, -40, 35, 85: one crossing, between 100 and 105
    s = GammaSettings(use_feed_gamma=False, flip_threshold_usd=100 * UNIT)
    assert dealer_gamma(_frame(CHAIN), s)["gex_flip"].item() == 102.5
    # above every cumulative value: no crossing
    s = GammaSettings(use_feed_gamma=False, flip_threshold_usd=1000 * UNIT)
    assert dealer_gamma(_frame(CHAIN), s)["gex_flip"].item() is None


@pytest.mark.parametrize(("spot", "inside"), [(101.0, True), (102.0, False), (99.5, True), (98.9, False)])
def test_pin_zone_membership(spot: float, inside: bool) -> None:
    # the unit scales every strike alike, so K* stays 100; zone = 100 -+ spot / 100
    row = dealer_gamma(_frame(CHAIN, spot=spot), BS).row(0, named=True)
    assert row["gex_max_strike"] == 100.0
    assert_allclose([row["gex_pin_low"], row["gex_pin_high"]], [100 - spot / 100, 100 + spot / 100], rtol=1e-12)
    assert row["gex_in_pin_zone"] is inside
    assert_allclose(row["gex_price_vs_max_pct"], (spot - 100.0) / spot * 100, rtol=1e-12)


def test_ties_and_per_contract_spot() -> None:
    rows = [
        (EXP_3, 3, 95.0, "C", 0.04, 1000, None),  # 40 units
        (EXP_3, 3, 100.0, "P", 0.01, 1500, None),  # -15 units
        (EXP_3, 3, 105.0, "C", 0.04, 1000, None),  # 40 units: ties 95 in abs(GEX)
        (EXP_3, 3, 110.0, "C", 0.01, 900, None),  # OI below 1000: no GEX ...
        (EXP_3, 3, 110.0, "P", 0.01, 900, None),  # ... but the largest total OI (1800)
        (EXP_3, 3, 115.0, "C", float("nan"), 1800, None),  # no gamma: no GEX; ties 110 in OI
    ]
    frame = _frame(rows).with_columns(pl.Series("underlying_price", [101.0, 104.0, 101.0, 100.0, 100.0, 100.0]))
    row = dealer_gamma(frame, BS).row(0, named=True)
    assert row["gex_max_strike"] == 95.0  # ties go to the lowest strike
    assert row["max_oi_strike"] == 110.0  # any known OI counts for the OI wall; ties: lowest strike
    assert row["gex_n_contracts"] == 3
    assert row["gex_spot"] == 101.0  # median of the qualifying contracts' 101, 104, 101
    # each contract uses its own S^2: 40 x 101^2 - 15 x 104^2 + 40 x 101^2
    assert_allclose(row["gex_net"], 40 * 101.0**2 - 15 * 104.0**2 + 40 * 101.0**2, rtol=1e-12)


def test_feed_gamma_replaces_bs_gamma_when_present() -> None:
    row = dealer_gamma(_frame(CHAIN)).row(0, named=True)  # use_feed_gamma defaults to True
    # 100 C: feed 0.06 x 4000 = 240 instead of 200; the 95 C feed value is NaN, so BS stays: 20 + 40
    assert_allclose(row["gex_net"], 225 * UNIT, rtol=1e-12)
    assert_allclose(row["gex_max_abs"], 140 * UNIT, rtol=1e-12)


def test_open_interest_filter() -> None:
    s = GammaSettings(use_feed_gamma=False, min_open_interest=0)
    row = dealer_gamma(_frame(CHAIN), s).row(0, named=True)
    # the 500-OI put now counts (-5 units); the null-OI call still does not
    assert_allclose(row["gex_net"], 180 * UNIT, rtol=1e-12)
    assert row["gex_n_contracts"] == 10
    s = GammaSettings(use_feed_gamma=False, min_open_interest=3000)
    prof = gamma_profile(_frame(CHAIN), s)
    # left: 95 C (20000), 95 P (4000), 100 C (4000), 105 C (3000): strikes 95, 100, 105
    assert prof["strike"].to_list() == [95.0, 100.0, 105.0]
    assert_allclose(prof["gex"].to_numpy(), np.array([20 - 80, 200, 120]) * UNIT, rtol=1e-12)


def test_expiry_selection() -> None:
    without_3 = [r for r in CHAIN if r[0] != EXP_3]
    row = dealer_gamma(_frame(without_3), BS).row(0, named=True)
    # no expiry with 0 < DTE <= 7: the nearest (DTE 10) is used, never the DTE-0 one
    assert (row["gex_expiration"], row["gex_dte"]) == (EXP_10, 10)
    assert_allclose(row["gex_net"], 40 * UNIT, rtol=1e-12)
    assert row["max_oi_strike"] == 100.0
    # a DTE-3 expiry whose OI is all unknown is skipped
    unknown_oi = [(*r[:5], None, r[6]) if r[0] == EXP_3 else r for r in CHAIN]
    assert dealer_gamma(_frame(unknown_oi), BS)["gex_expiration"].item() == EXP_10
    # a window that holds no expiry still selects the nearest
    s = GammaSettings(use_feed_gamma=False, max_dte_days=2)
    assert dealer_gamma(_frame(CHAIN), s)["gex_expiration"].item() == EXP_3


def test_day_without_qualifying_contracts_keeps_a_null_row() -> None:
    empty_day = [(EXP_3, 3, 100.0, "C", 0.05, 10, None), (EXP_0, 0, 100.0, "P", 0.05, 50_000, None)]
    frame = pl.concat([_frame(CHAIN), _frame(empty_day, day=dt.date(2024, 3, 5))])
    out = dealer_gamma(frame, BS)
    assert out["date"].to_list() == [DAY, dt.date(2024, 3, 5)]
    row = out.row(1, named=True)
    assert row["gex_n_contracts"] == 0
    nulls = {k for k, v in row.items() if v is None}
    assert nulls == set(out.columns) - {"underlying", "date", "gex_n_contracts"}
    assert out.schema["gex_dte"] == pl.Int32
    assert out.schema["gex_in_pin_zone"] == pl.Boolean
    assert out.schema["underlying"] == pl.Categorical


def test_missing_column_raises_schema_error() -> None:
    with pytest.raises(SchemaError, match="open_interest"):
        dealer_gamma(_frame(CHAIN).drop("open_interest"))


# ---------------------------------------------------------------- naive twin on random chains


def _naive(frame: pl.DataFrame, s: GammaSettings) -> dict[tuple[str, dt.date], dict[str, object]]:
    """Per-day loop straight from the spec's words."""
    by_day: dict[tuple[str, dt.date], list[dict[str, object]]] = defaultdict(list)
    for r in frame.iter_rows(named=True):
        by_day[(str(r["underlying"]), r["date"])].append(r)
    out: dict[tuple[str, dt.date], dict[str, object]] = {}
    for key, rows in by_day.items():
        qual = []
        for r in rows:
            g = r["vendor_gamma"] if s.use_feed_gamma and r["vendor_gamma"] is not None else r["gamma"]
            if g is not None and math.isnan(g):
                g = r["gamma"]
            oi = r["open_interest"]
            if r["dte"] > 0 and oi is not None and oi >= s.min_open_interest and math.isfinite(g):
                sign = s.sign_convention.call_sign if r["right"] == "C" else s.sign_convention.put_sign
                qual.append((r, sign * g * oi * 100 * r["underlying_price"] ** 2 * s.gex_move_frac))
        if not qual:
            out[key] = {"gex_net": None}
            continue
        exps = sorted({(r["expiration"], r["dte"]) for r, _ in qual})
        window = [e for e in exps if e[1] <= s.max_dte_days]
        sel = window[0] if window else exps[0]
        per_strike: dict[float, float] = defaultdict(float)
        for r, gex in qual:
            if r["expiration"] == sel[0]:
                per_strike[r["strike"]] += gex
        strikes = sorted(per_strike)
        kstar = max(strikes, key=lambda k: abs(per_strike[k]))
        cum, flip = 0.0, None
        for i, k in enumerate(strikes):
            prev = cum
            cum += per_strike[k]
            if i > 0 and (prev > s.flip_threshold_usd) != (cum > s.flip_threshold_usd):
                flip = (strikes[i - 1] + k) / 2
        spot = rows[0]["underlying_price"]
        oi_total: dict[float, int] = defaultdict(int)
        for r in rows:
            if r["expiration"] == sel[0] and r["open_interest"] is not None:
                oi_total[r["strike"]] += r["open_interest"]
        out[key] = {
            "gex_expiration": sel[0],
            "gex_net": sum(per_strike.values()),
            "gex_max_strike": kstar,
            "gex_flip": flip,
            "gex_price_vs_max_pct": (spot - kstar) / spot * 100,
            "gex_in_pin_zone": abs(spot - kstar) <= s.pin_zone_width_pct / 100 * spot,
            "max_oi_strike": max(oi_total, key=lambda k: oi_total[k]),
            "gex_net_all": sum(g for _, g in qual),
            "gex_n_contracts": sum(1 for r, _ in qual if r["expiration"] == sel[0]),
        }
    return out


def _random_chain(rng: np.random.Generator) -> pl.DataFrame:
    frames = []
    for underlying, base in (("SPY", 500.0), ("QQQ", 400.0)):
        for day_i in range(4):
            day = dt.date(2024, 3, 4) + dt.timedelta(days=day_i)
            spot = base * float(np.exp(rng.normal(0, 0.01)))
            dtes = sorted(rng.choice([0, 1, 3, 6, 9, 13, 20], size=int(rng.integers(1, 4)), replace=False))
            rows = []
            for dte in dtes:
                strikes = np.round(spot) + 5.0 * np.arange(-4, 5)
                for k in strikes[rng.random(strikes.size) < 0.8]:
                    for right in "CP":
                        oi = None if rng.random() < 0.1 else int(rng.integers(0, 6000))
                        vendor = None if rng.random() < 0.5 else float(rng.uniform(0.001, 0.05))
                        rows.append((day + dt.timedelta(days=int(dte)), int(dte), float(k), right,
                                     float(rng.uniform(0.001, 0.05)), oi, vendor))  # fmt: skip
            if rows:
                frames.append(_frame(rows, spot=spot, day=day, underlying=underlying))
    return pl.concat(frames)


@pytest.mark.parametrize(
    "settings",
    [GammaSettings(), BS, GammaSettings(sign_convention=GammaSignConvention.PUTS_POSITIVE, max_dte_days=5)],
)
def test_matches_naive_per_day_loop(rng: np.random.Generator, settings: GammaSettings) -> None:
    chain = _random_chain(rng)
    got = dealer_gamma(chain, settings)
    want = _naive(chain, settings)
    assert got.height == len(want)
    for row in got.iter_rows(named=True):
        ref = want[(str(row["underlying"]), row["date"])]
        if ref["gex_net"] is None:
            assert row["gex_net"] is None
            continue
        for col, value in ref.items():
            if isinstance(value, float):
                assert_allclose(row[col], value, rtol=1e-9, atol=1e-6, err_msg=col)
            else:
                assert row[col] == value, col


def test_days_are_independent(rng: np.random.Generator) -> None:
    chain = _random_chain(rng)
    whole = dealer_gamma(chain)
    parts = [dealer_gamma(chain.filter(pl.col("date") == d)) for d in chain["date"].unique(maintain_order=True)]
    key = ["underlying", "date"]
    assert_frame_equal(
        whole.with_columns(pl.col("underlying").cast(pl.String)).sort(key),
        pl.concat(parts).with_columns(pl.col("underlying").cast(pl.String)).sort(key),
    )
