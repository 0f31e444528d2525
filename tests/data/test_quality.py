"""Quality check: every rule on a hand-built chain, quarantine moves, dry runs and the JSON report."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from volengine.data.quality import (
    QUOTE_KEY,
    QualityThresholds,
    Reason,
    Verdict,
    check_store,
    classify_quotes,
    missing_sessions,
    parity_residuals,
)
from volengine.data.schema import conform, validate
from volengine.data.store import Store

D = dt.date
DAY = D(2024, 3, 14)
EXP = D(2024, 4, 19)  # the main chain
EXP2 = D(2024, 5, 17)  # stray rows that never form call/put pairs
SPOT = 450.0
DF = 0.995  # discount factor the main chain is built with


def quote(
    date: dt.date,
    strike: float,
    right: str,
    bid: float | None,
    ask: float | None,
    *,
    expiration: dt.date = EXP2,
    last: float | None = None,
    spot: float | None = SPOT,
) -> dict[str, Any]:
    return {
        "date": date,
        "underlying": "SPY",
        "root": "SPY",
        "expiration": expiration,
        "strike": float(strike),
        "right": right,
        "style": "american",
        "settlement": "PM",
        "multiplier": 100,
        "bid": bid,
        "ask": ask,
        "last": last,
        "underlying_price": spot,
        "snapshot": "eod_1600",
        "source": "test",
    }


def main_chain(*, put_shift_445: float = -1.0) -> list[dict[str, Any]]:
    """Seven strikes consistent with C - P = S - DF*K, except the 445 put, cheaper by ``put_shift_445``."""
    rows = []
    for strike in range(435, 470, 5):
        call = max(SPOT - strike, 0.0) + 8.0 - 0.02 * (strike - SPOT) ** 2
        put = call - (SPOT - DF * strike) + (put_shift_445 if strike == 445 else 0.0)
        rows.append(quote(DAY, strike, "C", call - 0.05, call + 0.05, expiration=EXP))
        rows.append(quote(DAY, strike, "P", put - 0.05, put + 0.05, expiration=EXP))
    return rows


STALE_DAYS = (D(2024, 3, 8), D(2024, 3, 11), D(2024, 3, 12), D(2024, 3, 13), DAY)

# (date, strike, right, expiration) -> expected reason; every other row is kept
EXPECTED = {
    (DAY, 450.0, "C", EXP2): Reason.CROSSED,
    (DAY, 455.0, "C", EXP2): Reason.NONPOSITIVE_PRICE,
    (DAY, 460.0, "C", EXP2): Reason.MISSING_UNDERLYING_PRICE,
    (DAY, 50.0, "C", EXP2): Reason.STRIKE_FAR_FROM_SPOT,
    (DAY, 440.0, "P", EXP2): Reason.ASK_ABOVE_BOUND,
    (DAY, 445.0, "P", EXP2): Reason.NO_QUOTE,
    (DAY, 450.0, "P", EXP2): Reason.ZERO_BID,
    (DAY, 455.0, "P", EXP2): Reason.WIDE_SPREAD,
    (DAY, 470.0, "C", EXP2): Reason.STALE_QUOTE,
    (DAY, 445.0, "C", EXP): Reason.PARITY_VIOLATION,
    (DAY, 445.0, "P", EXP): Reason.PARITY_VIOLATION,
}


def stray_rows(*, storable_only: bool = False) -> list[dict[str, Any]]:
    rows = [
        quote(DAY, 455, "C", 0.0, 0.0),  # nonpositive_price (ask <= 0)
        quote(DAY, 460, "C", 3.0, 3.1, spot=None),
        quote(DAY, 50, "C", 400.0, 402.0),  # K/S = 0.11
        quote(DAY, 440, "P", 460.0, 470.0),  # put ask > 1.05 K
        quote(DAY, 445, "P", None, None, last=3.0),
        quote(DAY, 450, "P", 0.0, 0.05),
        quote(DAY, 455, "P", 1.0, 2.0),  # spread 67 % of mid
        *(quote(d, 470, "C", 1.0, 1.05, last=1.02) for d in STALE_DAYS),
        quote(D(2024, 3, 18), 475, "C", 0.5, 0.55),  # clean; 2024-03-15 has no data at all
    ]
    if not storable_only:  # schema.validate refuses these two, so no store can hold them
        rows.append(quote(DAY, 450, "C", 5.2, 5.0))
    return rows


def chain(*, storable_only: bool = False) -> pl.DataFrame:
    rows = main_chain() + stray_rows(storable_only=storable_only)
    return conform(pl.DataFrame(rows, infer_schema_length=None), "option_quotes")


def reasons(classified: pl.DataFrame) -> dict[tuple[Any, ...], str]:
    bad = classified.filter(pl.col("reason").is_not_null())
    return {
        (r["date"], r["strike"], r["right"], r["expiration"]): r["reason"]
        for r in bad.select("date", "strike", "right", "expiration", "reason").iter_rows(named=True)
    }


def test_each_hand_built_defect_gets_exactly_its_reason() -> None:
    out = classify_quotes(chain())
    assert reasons(out) == {k: v.value for k, v in EXPECTED.items()}
    verdicts = dict(zip(*out.group_by("verdict").len().sort("verdict").to_dict(as_series=False).values(), strict=True))
    assert verdicts == {"kept": chain().height - len(EXPECTED), "flagged": 6, "rejected": 5}


def test_output_keeps_row_order_and_columns() -> None:
    frame = chain()
    out = classify_quotes(frame)
    assert_frame_equal(out.drop("verdict", "reason"), frame)
    assert out["verdict"].dtype == pl.Enum([v.value for v in Verdict])


def test_stale_needs_the_configured_run_length() -> None:
    out = classify_quotes(chain(), QualityThresholds(stale_sessions=6))
    assert (DAY, 470.0, "C", EXP2) not in reasons(out)
    out = classify_quotes(chain(), QualityThresholds(stale_sessions=4))
    stale = {k[0] for k, v in reasons(out).items() if v == "stale_quote"}
    assert stale == {D(2024, 3, 13), DAY}  # only past rows decide: the 4th and 5th sighting


def test_a_consistent_chain_has_no_parity_flags() -> None:
    frame = conform(pl.DataFrame(main_chain(put_shift_445=0.0)), "option_quotes")
    assert classify_quotes(frame)["reason"].null_count() == frame.height


def test_american_early_exercise_room_is_one_sided() -> None:
    # a put richer than European parity by less than K(1 - D) is allowed for American, not for European
    frame = conform(pl.DataFrame(main_chain(put_shift_445=+1.0)), "option_quotes")
    assert classify_quotes(frame)["reason"].null_count() == frame.height
    european = frame.with_columns(pl.lit("european").cast(frame["style"].dtype).alias("style"))
    assert set(reasons(classify_quotes(european)).values()) == {"parity_violation"}


def black_chain(
    *, expiration: dt.date, rate: float, div_yield: float, vol: float, strikes: range, style: str, tick: float
) -> pl.DataFrame:
    """Black-Scholes chain on SPOT, American legs floored at intrinsic, bid/ask on the ``tick`` grid round the mid."""
    t = (dt.datetime.combine(expiration, dt.time(16)) - dt.datetime.combine(DAY, dt.time(16))).days / 365
    fwd, disc = SPOT * math.exp((rate - div_yield) * t), math.exp(-rate * t)
    rows = []
    for strike in strikes:
        sd = vol * math.sqrt(t)
        d1 = math.log(fwd / strike) / sd + sd / 2
        ncdf = lambda x: 0.5 * math.erfc(-x / math.sqrt(2))  # noqa: E731
        call = disc * (fwd * ncdf(d1) - strike * ncdf(d1 - sd))
        put = call - disc * (fwd - strike)
        if style == "american":
            call, put = max(call, SPOT - strike), max(put, strike - SPOT)
        for right, mid in (("C", call), ("P", put)):
            bid = math.floor(mid / tick + 1e-9) * tick
            rows.append({**quote(DAY, strike, right, round(bid, 2), round(bid + tick, 2), expiration=expiration),
                         "style": style})  # fmt: skip
    return conform(pl.DataFrame(rows), "option_quotes")


def test_american_calls_at_intrinsic_above_european_parity_are_not_flagged() -> None:
    # q > r: deep in-the-money American calls sit at intrinsic, above European parity by up to S(1 - e^{-qT});
    # the American band S e^{-qT} - K <= C - P <= S - K e^{-rT} allows it (and the fit leaves those pairs out)
    exp = D(2024, 5, 17)
    frame = black_chain(expiration=exp, rate=0.001, div_yield=0.03, vol=0.25, strikes=range(380, 481, 5),
                        style="american", tick=0.01)  # fmt: skip
    wide = frame.filter(pl.col("right") == "C")
    at_floor = (wide["bid"] <= SPOT - wide["strike"]) & (SPOT - wide["strike"] <= wide["ask"])
    assert at_floor.sum() >= 3
    assert classify_quotes(frame)["reason"].null_count() == frame.height
    european = frame.with_columns(pl.lit("european").cast(frame["style"].dtype).alias("style"))
    assert "parity_violation" in set(reasons(classify_quotes(european)).values())


def test_tick_rounding_does_not_bias_the_parity_fit() -> None:
    # one year, r = 4.5 %: slopes between adjacent $1 strikes of cent-grid mids are whole cents (0.95, 0.96),
    # never D = 0.956; their median tilted the fitted line across the $100 chain by up to 0.20 (70 pairs
    # flagged); slopes over half the chain resolve D to 0.0002
    frame = black_chain(expiration=D(2025, 3, 14), rate=0.045, div_yield=0.015, vol=0.2, strikes=range(400, 501),
                        style="european", tick=0.01)  # fmt: skip
    res = parity_residuals(frame)
    assert res.height == 101
    assert res["resid"].abs().max() < 0.02
    assert classify_quotes(frame)["reason"].null_count() == frame.height


def test_small_chains_fall_back_to_the_rate_formula() -> None:
    # two SPX-style European pairs, one year out, priced with r = 5 %, q = 0
    exp = D(2025, 3, 21)
    rows = []
    for strike in (4400.0, 4600.0):
        call = 400.0 + (4500.0 - strike) * 0.5
        tte = (dt.datetime(2025, 3, 21, 16) - dt.datetime(2024, 3, 14, 16)).total_seconds() / (365 * 86400)
        put = call - (4500.0 - strike * math.exp(-0.05 * tte))
        for right, mid in (("C", call), ("P", put)):
            row = quote(DAY, strike, right, mid - 0.5, mid + 0.5, expiration=exp, spot=4500.0)
            rows.append({**row, "underlying": "SPX", "root": "SPXW", "style": "european"})
    frame = conform(pl.DataFrame(rows), "option_quotes")
    right_rate = parity_residuals(frame, QualityThresholds(rate_cc=0.05))
    assert right_rate.height == 2
    assert sorted(right_rate["row_call"]) == [0, 2]
    assert sorted(right_rate["row_put"]) == [1, 3]
    assert not right_rate["is_violation"].any()
    assert right_rate["resid"].abs().max() < 1e-6
    assert parity_residuals(frame, QualityThresholds(rate_cc=0.0))["is_violation"].all()


def test_missing_sessions_against_xnys() -> None:
    dates = pl.Series([D(2024, 3, 27), D(2024, 4, 2), D(2024, 3, 28)])
    assert missing_sessions(dates) == [D(2024, 4, 1)]  # 03-29 is Good Friday, not missing
    assert missing_sessions(pl.Series([], dtype=pl.Date)) == []


# ------------------------------------------------------------------------------------------ the store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "store")
    s.write("option_quotes", chain(storable_only=True))
    return s


def test_check_store_quarantines_rejected_rows_with_reasons(store: Store) -> None:
    before = store.read("option_quotes")
    report = check_store(store, run_id="t1")
    rejected = {k: v for k, v in EXPECTED.items() if v in {Reason.NONPOSITIVE_PRICE, Reason.MISSING_UNDERLYING_PRICE}}
    rejected |= {k: v for k, v in EXPECTED.items() if v in {Reason.STRIKE_FAR_FROM_SPOT, Reason.ASK_ABOVE_BOUND}}
    assert report.quarantined == len(rejected) == 4

    quarantine = store.read("quarantine")
    got = {
        (r["date"], r["strike"], r["right"], r["expiration"]): r["reject_reason"]
        for r in quarantine.iter_rows(named=True)
    }
    assert got == {k: f"quality:{v.value}" for k, v in rejected.items()}
    assert set(quarantine["source_file"]) == {"option_quotes@t1"}
    assert sorted(quarantine["source_row"]) == [0, 1, 2, 3]

    after = store.read("option_quotes")
    assert after.height == before.height - 4
    moved = quarantine.select(QUOTE_KEY)
    assert after.join(moved, on=list(QUOTE_KEY), how="semi").is_empty()
    # the moved rows are intact: same values as before, column for column
    original = before.join(moved, on=list(QUOTE_KEY), how="semi").sort(QUOTE_KEY)
    assert_frame_equal(quarantine.select(before.columns).sort(QUOTE_KEY), original)

    again = check_store(store, run_id="t2")  # nothing left to move; flagged rows stay flagged
    assert again.quarantined == 0
    assert again.verdict_count("flagged") == report.verdict_count("flagged") == 6


def test_dry_run_touches_nothing(store: Store) -> None:
    manifest = store.manifest()
    report = check_store(store, is_dry_run=True)
    assert report.verdict_count(Verdict.REJECTED) == 4
    assert report.quarantined == 0
    assert store.manifest() == manifest
    assert store.read("quarantine").is_empty()


def test_json_report_counts(store: Store, tmp_path: Path) -> None:
    report = check_store(store, is_dry_run=True, run_id="j")
    path = tmp_path / "report.json"
    text = report.to_json(path)
    doc = json.loads(path.read_text())
    assert doc == json.loads(text)
    n = chain(storable_only=True).height
    assert doc["total_rows"] == n
    assert doc["verdicts"] == {"kept": n - 10, "flagged": 6, "rejected": 4}
    assert doc["reasons"]["crossed"] == 0
    assert doc["reasons"]["parity_violation"] == 2
    assert doc["reasons"]["missing_underlying_price"] == 1
    assert doc["by_underlying"]["SPY"]["missing_sessions"] == 1
    assert doc["missing_sessions"] == {"SPY": ["2024-03-15"]}
    assert doc["by_year"]["2024"]["rows"] == n
    assert doc["date_ranges"]["SPY"] == ["2024-03-08", "2024-03-18"]
    assert doc["thresholds"]["stale_sessions"] == 5


def test_underlying_and_date_filters(store: Store) -> None:
    empty = check_store(store, underlyings=["QQQ"], is_dry_run=True)
    assert empty.total_rows == 0
    assert empty.notes == ["QQQ: no option quotes in the store for the requested dates"]
    report = check_store(store, start=DAY, end=DAY, is_dry_run=True)
    # the stale run starts inside the window, so the 470 call is one sighting, not five
    assert report.verdict_count("flagged") == 5
    assert report.missing_sessions == {"SPY": []}


def test_store_rows_validate() -> None:
    validate(chain(storable_only=True), "option_quotes")
