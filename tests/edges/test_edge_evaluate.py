"""precision_recall on a hand-made case with counts worked out by hand."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from volengine.edges import EVAL_SCHEMA, SCORING, precision_recall
from volengine.errors import DataError, SchemaError


def day(i: int) -> dt.date:
    return dt.date(2024, 3, 1) + dt.timedelta(days=i)


def _edges() -> pl.DataFrame:
    """SPY days 1..10 and QQQ days 1..4 with fired flags set by hand."""
    keys = [("SPY", i) for i in range(1, 11)] + [("QQQ", i) for i in range(1, 5)]

    def col(prefix: str, fired: dict[tuple[str, int], str]) -> dict[str, list[object]]:
        return {
            f"{prefix}_fired": [k in fired for k in keys],
            f"{prefix}_signal": [fired.get(k) for k in keys],
        }

    data = {"underlying": [k[0] for k in keys], "date": [day(k[1]) for k in keys]}
    data |= col("vrp", {("SPY", i): "vrp" for i in (2, 3, 4, 8)} | {("QQQ", 1): "vrp"})
    data |= col("term", {("SPY", 3): "term_backwardation", ("SPY", 4): "term_contango", ("SPY", 9): "term_contango"})
    data |= col("skew", {})
    data |= col("gamma", {("SPY", 2): "gamma_negative", ("SPY", 5): "gamma_pin", ("SPY", 6): "gamma_negative"})
    return pl.DataFrame(data).with_columns(pl.col("underlying").cast(pl.Categorical))


def _episodes() -> pl.DataFrame:
    rows = [
        ("SPY", "vrp_rich", 3, 6),
        ("SPY", "vrp_rich", 5, 7),  # overlaps the first: days 5-6 count once
        ("SPY", "vrp_rich", 10, 12),  # reaches past the data: only day 10 is scored
        ("IWM", "vrp_rich", 1, 5),  # no scored day: not counted
        ("QQQ", "vrp_cheap", 1, 4),  # a kind no detector is scored against
        ("SPY", "backwardation", 3, 4),
        ("SPY", "steep_skew", 1, 2),
    ]
    return pl.DataFrame(
        {
            "underlying": [r[0] for r in rows],
            "kind": [r[1] for r in rows],
            "start_date": [day(r[2]) for r in rows],
            "end_date": [day(r[3]) for r in rows],
        }
    )


def _truth() -> pl.DataFrame:
    negative = {1, 2, 5, 6, 7}
    gex = [(-1.0 if i in negative else 1.0) for i in range(1, 11)]
    gex[7] = None  # day 8 has no truth value: not scored
    return pl.DataFrame({"underlying": ["SPY"] * 10, "date": [day(i) for i in range(1, 11)], "dealer_gex": gex})


def test_counts_by_hand() -> None:
    out = precision_recall(_edges(), _episodes(), truth=_truth())
    assert out.schema == EVAL_SCHEMA
    rows = {r["edge"]: r for r in out.iter_rows(named=True)}
    assert set(rows) == {"vrp", "term_structure", "skew_extreme", "gamma_pressure"}  # no event columns
    vrp = rows["vrp"]
    # episode days (SPY) 3,4,5,6,7,10 -> 6; fired 2,3,4,8 (SPY) + 1 (QQQ) -> 5; hits 3,4 -> 2
    assert (vrp["fired_days"], vrp["hit_days"], vrp["episode_days"]) == (5, 2, 6)
    assert vrp["precision"] == pytest.approx(2 / 5)
    assert vrp["day_recall"] == pytest.approx(2 / 6)
    # episodes [3, 6] (hit on 3, 4), [5, 7] and [10, 12] (missed); IWM has no scored day
    assert (vrp["episodes"], vrp["episodes_hit"], vrp["episode_recall"]) == (3, 1, pytest.approx(1 / 3))
    term = rows["term_structure"]  # only TERM_BACKWARDATION counts: day 3 (contango on 4 ignored)
    assert (term["fired_days"], term["hit_days"], term["episode_days"], term["episodes_hit"]) == (1, 1, 2, 1)
    assert (term["precision"], term["day_recall"], term["episode_recall"]) == (1.0, 0.5, 1.0)
    skew = rows["skew_extreme"]  # nothing fired: precision undefined, recall 0
    assert (skew["fired_days"], skew["precision"], skew["day_recall"], skew["episode_recall"]) == (0, None, 0.0, 0.0)
    gamma = rows["gamma_pressure"]
    # scored days: SPY with truth (9 days); negative 1,2,5,6,7 in runs {1,2} and {5,6,7}; GAMMA_NEGATIVE 2, 6
    assert gamma["truth"] == "dealer_gex < 0"
    assert (gamma["fired_days"], gamma["hit_days"], gamma["episode_days"]) == (2, 2, 5)
    assert (gamma["precision"], gamma["day_recall"]) == (1.0, pytest.approx(2 / 5))
    assert (gamma["episodes"], gamma["episodes_hit"], gamma["episode_recall"]) == (2, 2, 1.0)


def test_gamma_needs_truth_and_mapping_is_public() -> None:
    out = precision_recall(_edges(), _episodes())
    assert "gamma_pressure" not in out["edge"].to_list()
    assert {t.truth_label for t in SCORING.values()} == {
        "vrp_rich",
        "backwardation",
        "steep_skew",
        "event_premium",
        "dealer_gex < 0",
    }


def test_bad_episodes() -> None:
    eps = _episodes()
    with pytest.raises(DataError, match="kind"):
        precision_recall(_edges(), eps.with_columns(pl.lit("vrp rich").alias("kind")))
    with pytest.raises(DataError, match="start_date <= end_date"):
        precision_recall(
            _edges(), eps.with_columns(pl.col("start_date").alias("end_date"), pl.col("end_date").alias("start_date"))
        )
    with pytest.raises(SchemaError, match="'end_date'"):
        precision_recall(_edges(), eps.drop("end_date"))
    with pytest.raises(SchemaError, match="'dealer_gex'"):
        precision_recall(_edges(), eps, truth=_truth().drop("dealer_gex"))
