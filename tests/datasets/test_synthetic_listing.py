"""Strike listing of the synthetic chains: a strike, once listed for an expiry, is quoted until that expiry.

The daily grid rule (:func:`volengine.datasets.synthetic.chain._strikes`) lists strikes around the money of
the day; the chains quote the running union of those grids. The oracles are the session calendar (every
listed contract is quoted on each session up to its expiry), the rule itself evaluated on all days at once
and united by a polars join (independent of the blocked numpy build and its carry), and the chains rebuilt
with the future changed (the listing of a day must not move).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from volengine.datasets.synthetic import SyntheticParams
from volengine.datasets.synthetic import chain as ch
from volengine.datasets.synthetic.market import as_date_list, calendar, chains, latent_context

SEED = 11
# blocks of 40 sessions: the listing is carried across several block boundaries, none at the cut below
PARAMS = SyntheticParams(block_days=40)
CUT = 57
KEYS = ["expiration", "strike", "right"]


@pytest.fixture(scope="module")
def ctx() -> dict[str, Any]:
    dates, ext = calendar("2021-01-04", "2021-06-30")
    return latent_context(SEED, "SPY", dates, ext, PARAMS)


@pytest.fixture(scope="module")
def quotes(ctx: dict[str, Any]) -> pl.DataFrame:
    return chains(ctx, PARAMS, "SPY")[0]


def _sessions(ctx: dict[str, Any]) -> pl.DataFrame:
    dates = pl.Series("date", as_date_list(ctx["dates"][: ctx["n"]]), dtype=pl.Date)
    return pl.DataFrame({"date": dates, "i": np.arange(dates.len(), dtype=np.int64)})


def _listing(q: pl.DataFrame) -> pl.DataFrame:
    return q.select("date", *KEYS).sort("date", *KEYS)


def test_listed_contracts_are_quoted_every_session_until_expiry(ctx: dict[str, Any], quotes: pl.DataFrame) -> None:
    sess = _sessions(ctx)
    q = quotes.join(sess, on="date")
    assert q.height == quotes.height
    per = q.group_by(KEYS).agg(first=pl.col("i").min(), last=pl.col("i").max(), n=pl.len())
    # the last session before each expiry (or the window's last session)
    before = sess.with_columns(pl.col("date").alias("expiration")).sort("expiration")
    per = per.sort("expiration").join_asof(
        before.select("expiration", pl.col("i").alias("last_session")), on="expiration", strategy="backward",
        allow_exact_matches=False,
    )  # fmt: skip
    assert per["last_session"].null_count() == 0
    assert (per["n"] == per["last"] - per["first"] + 1).all(), "a listed contract has a gap in its quotes"
    assert (per["last"] == per["last_session"]).all(), "a contract stops being quoted before its expiry"
    assert quotes.select(pl.col("expiration") > pl.col("date")).to_series().all()


def test_quoted_strikes_are_the_running_union_of_the_daily_grid(ctx: dict[str, Any], quotes: pl.DataFrame) -> None:
    """Quoted on day d: every strike the grid rule listed for the expiry on some day ≤ d (and nothing else)."""
    st = ch.DayState(
        ctx["ext"], ctx["close"], ctx["rate"], ctx["vol30"], ctx["rho"], ctx["eta"],
        ctx["episodes"].delta_level, ctx["episodes"].delta_short, ctx["cum_q"], ctx["m"], ctx["jump_q"], ctx["ev"],
    )  # fmt: skip
    lst = ch.expiries(ctx["ext"])
    sl = ch._slices(st, lst, PARAMS, ctx["prof"], 0, ctx["n"])
    sid, strike = ch._strikes(sl, PARAMS, ctx["prof"])
    rule = pl.DataFrame(
        {
            "listed_on": pl.Series(as_date_list(ctx["dates"][sl["day"][sid]]), dtype=pl.Date),
            "expiration": pl.Series(as_date_list(ctx["ext"][lst.idx[sl["exp"][sid]]]), dtype=pl.Date),
            "strike": strike,
        }
    )
    first = rule.group_by("expiration", "strike").agg(pl.col("listed_on").min())
    expected = (
        first.join(_sessions(ctx).select("date"), how="cross")
        .filter((pl.col("date") >= pl.col("listed_on")) & (pl.col("date") < pl.col("expiration")))
        .select("date", "expiration", "strike")
        .sort("date", "expiration", "strike")
    )
    got = _listing(quotes.filter(pl.col("right") == "C")).drop("right")
    assert_frame_equal(got, expected)
    # and the daily grid alone would have quoted fewer rows: the union adds the strikes the money left behind
    assert rule.height < got.height


def test_first_listing_depends_only_on_earlier_sessions(ctx: dict[str, Any], quotes: pl.DataFrame) -> None:
    """Chains cut at session ``CUT`` list exactly what the full run lists before it, even with the future moved.

    The whole generator is not prefix-stable (its latent shocks are drawn per window length), so the cut is
    made at the chain builder with the latent state held fixed.
    """
    cut = chains(dict(ctx, n=CUT), PARAMS, "SPY")[0]
    moved_close = ctx["close"].copy()
    moved_close[CUT:] *= np.exp(np.linspace(0.05, 0.4, moved_close.size - CUT))
    moved_q = ctx["cum_q"].copy()
    moved_q[CUT:] *= 1.8
    moved = chains(dict(ctx, close=moved_close, cum_q=moved_q), PARAMS, "SPY")[0]
    day = ctx["dates"][CUT].astype(object)
    for full in (quotes, moved):
        head = full.filter(pl.col("date") < day)
        assert_frame_equal(_listing(head), _listing(cut))
        first = head.group_by(KEYS).agg(pl.col("date").min()).sort(KEYS)
        assert_frame_equal(first, cut.group_by(KEYS).agg(pl.col("date").min()).sort(KEYS))
    # the moved future does change the later listing (the check above can fail)
    tail = [_listing(x.filter(pl.col("date") >= day)) for x in (quotes, moved)]
    assert tail[0].height != tail[1].height
