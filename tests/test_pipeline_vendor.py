"""The pipeline on imported vendor data: a synthetic market written out in the OptionsDX layout, imported
through ``volengine data import optionsdx``, then analysed from the store with nothing else (no bars, no
rates, no vol index). The result must agree with the run on the generator's own tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from volengine.data.importers import import_files
from volengine.data.importers.optionsdx import COLUMNS
from volengine.data.store import Store
from volengine.datasets import synthetic_market
from volengine.pipeline import analyze


def _num(col: str, decimals: int = 4) -> pl.Expr:
    return pl.col(col).round(decimals).cast(pl.String).fill_null("")


def write_optionsdx(quotes: pl.DataFrame, path: Path) -> None:
    """One OptionsDX line per (date, expiration, strike) with the call and the put side by side."""
    side = ["bid", "ask", "last", "volume", "open_interest"]
    wide = (
        quotes.filter(pl.col("root").cast(pl.String) == pl.col("underlying").cast(pl.String))
        .select("date", "expiration", "strike", "right", "underlying_price", *side)
        .pivot(on="right", index=["date", "expiration", "strike", "underlying_price"], values=side)
        .drop_nulls([f"bid_{r}" for r in "CP"])
        .sort("date", "expiration", "strike")
    )
    zero = pl.lit("0.0")
    cols = {
        "QUOTE_UNIXTIME": pl.lit("0"), "QUOTE_READTIME": pl.col("date").cast(pl.String) + " 16:00",
        "QUOTE_DATE": pl.col("date").cast(pl.String), "QUOTE_TIME_HOURS": pl.lit("16.000000"),
        "UNDERLYING_LAST": _num("underlying_price"), "EXPIRE_DATE": pl.col("expiration").cast(pl.String),
        "EXPIRE_UNIX": pl.lit("0"), "DTE": (pl.col("expiration") - pl.col("date")).dt.total_days().cast(pl.String),
        "STRIKE": _num("strike", 2), "STRIKE_DISTANCE": zero, "STRIKE_DISTANCE_PCT": zero,
    }  # fmt: skip
    for r in "CP":
        cols |= {f"{r}_BID": _num(f"bid_{r}"), f"{r}_ASK": _num(f"ask_{r}"), f"{r}_LAST": _num(f"last_{r}")}
        cols |= {f"{r}_SIZE": pl.lit("10 x 10"), f"{r}_VOLUME": pl.col(f"volume_{r}").cast(pl.String).fill_null("")}
        cols |= {f"{r}_{g}": pl.lit("") for g in ("IV", "DELTA", "GAMMA", "VEGA", "THETA", "RHO")}
    lines = wide.select(pl.concat_str([cols[c] for c in COLUMNS], separator=", ").alias("line"))
    path.write_text(", ".join(f"[{c}]" for c in COLUMNS) + "\n")
    with path.open("ab") as fh:
        lines.write_csv(fh, include_header=False, quote_style="never")


@pytest.fixture(scope="module")
def market():  # type: ignore[no-untyped-def]
    return synthetic_market(seed=2, start="2021-01-04", end="2021-04-30", params={"fine_half_count": 12,
                            "coarse_side_count": 5})  # fmt: skip


def test_imported_optionsdx_store_analyses_like_the_generator_tables(market, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "spy_eod_2021.txt"
    write_optionsdx(market.quotes, path)
    store = Store(tmp_path / "store")
    import_files("optionsdx", [path], store, underlying="SPY")
    assert store.datasets() == ["option_quotes"]
    got = analyze(store)
    ref = analyze(market)
    assert got.height == ref.height == market.bars.height
    both = got.join(ref, on=["underlying", "date"], suffix="_ref")
    # no rates table: rates are fitted from parity on the longer expiries; no bars: spot is the quotes' price
    assert np.allclose(both["spot"], both["spot_ref"], rtol=1e-4)
    for col, tol in (("atm_iv_30d", 0.002), ("mfiv_30d", 0.003), ("skew_put_iv_25d", 0.003), ("ts_back_iv", 0.002)):
        diff = (both[col] - both[f"{col}_ref"]).abs()
        assert diff.max() < tol, (col, diff.max())
    assert (got["vol_index_source"] == "chain").all()  # no vendor index imported: the chain's own 30-day index
    assert got["rv_yz_20d"].is_null().all()  # close-only bars: range estimators cannot exist ...
    assert got["rv_cc_20d"].drop_nulls().len() > 40  # ... close-to-close can
