"""Vendor importers on small files written here in the exact vendor layouts (data-formats §3).

Each vendor test asserts exact canonical values; the malformed-file tests assert the error names file, line and
column and that the store is byte-identical afterwards.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import zipfile
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from volengine.data.importers import IMPORTERS, detect_formats, import_files
from volengine.data.importers._common import occ_parts
from volengine.data.store import Store
from volengine.errors import ConfigError, DataError

ET = "America/New_York"

# ------------------------------------------------------------------------------------------------ OptionsDX

DX_HEADER = (
    "[QUOTE_UNIXTIME], [QUOTE_READTIME], [QUOTE_DATE], [QUOTE_TIME_HOURS], [UNDERLYING_LAST], [EXPIRE_DATE], "
    "[EXPIRE_UNIX], [DTE], [C_DELTA], [C_GAMMA], [C_VEGA], [C_THETA], [C_RHO], [C_IV], [C_VOLUME], [C_LAST], "
    "[C_SIZE], [C_BID], [C_ASK], [STRIKE], [P_BID], [P_ASK], [P_SIZE], [P_LAST], [P_DELTA], [P_GAMMA], [P_VEGA], "
    "[P_THETA], [P_RHO], [P_IV], [P_VOLUME], [STRIKE_DISTANCE], [STRIKE_DISTANCE_PCT]"
)


def dx_line(
    date: str = "2023-01-03",
    expiry: str = "2023-01-20",
    strike: str = "380.0",
    c_bid: str = "8.02",
    c_ask: str = "8.15",
    c_iv: str = "0.21540",
    c_size: str = "1 x 2",
    c_volume: str = "195.000000",
    p_volume: str = "",
) -> str:
    values = [
        "1672779600", f"{date} 16:00", date, "16.000000", "380.82", expiry, "1674248400", "17.000000",
        "0.52510", "0.02839", "0.31050", "-0.14850", "0.09230", c_iv, c_volume, "8.10", c_size, c_bid, c_ask,
        strike, "7.10", "7.22", "12 x 30", "7.15", "-0.47410", "0.02831", "0.31070", "-0.12360", "-0.08850",
        "0.22010", p_volume, "0.8", "0.002",
    ]  # fmt: skip
    return " " + ", ".join(values)


def write_dx(tmp_path: Path, lines: list[str], name: str = "spy_eod_202301.txt", header: str = DX_HEADER) -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


def quotes(store: Store) -> pl.DataFrame:
    return store.read("option_quotes").sort("date", "expiration", "strike", "right", "snapshot")


def quarantine(store: Store) -> pl.DataFrame:
    return store.read("quarantine").sort("source_file", "source_row", "right")


def row(frame: pl.DataFrame, **where: Any) -> dict[str, Any]:
    sel = frame.filter(*(pl.col(k).cast(pl.String) == str(v) for k, v in where.items()))
    assert sel.height == 1, sel
    return sel.row(0, named=True)


def et(*args: int) -> dt.datetime:
    from zoneinfo import ZoneInfo

    return dt.datetime(*args, tzinfo=ZoneInfo(ET))


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "store")


def test_optionsdx_exact_values(tmp_path: Path, store: Store) -> None:
    path = write_dx(tmp_path, [dx_line(), dx_line(strike="385.0", c_iv="", c_size="0 x 0", c_volume="")])
    report = import_files("optionsdx", [path], store)
    assert (report.lines, report.quotes, report.quarantined) == (2, 4, 0)
    q = quotes(store)
    call = row(q, strike=380.0, right="C")
    assert call == {
        "date": dt.date(2023, 1, 3),
        "quote_time": et(2023, 1, 3, 16, 0),
        "underlying": "SPY",
        "root": "SPY",
        "expiration": dt.date(2023, 1, 20),
        "strike": 380.0,
        "right": "C",
        "style": "american",
        "settlement": "PM",
        "multiplier": 100,
        "occ_symbol": "SPY230120C00380000",
        "bid": 8.02,
        "ask": 8.15,
        "last": 8.10,
        "bid_size": 1,
        "ask_size": 2,
        "volume": 195,
        "open_interest": None,
        "oi_asof": None,
        "underlying_price": 380.82,
        "vendor_iv": 0.2154,
        "vendor_delta": 0.5251,
        "vendor_gamma": 0.02839,
        "vendor_theta": -0.1485,
        "vendor_vega": 0.3105,
        "vendor_rho": 0.0923,
        "nonstandard": False,
        "snapshot": "eod_1600",
        "source": "optionsdx",
    }
    put = row(q, strike=380.0, right="P")
    assert (put["bid"], put["ask"], put["last"], put["bid_size"], put["ask_size"]) == (7.10, 7.22, 7.15, 12, 30)
    assert (put["volume"], put["vendor_iv"], put["vendor_delta"]) == (None, 0.2201, -0.4741)
    assert put["occ_symbol"] == "SPY230120P00380000"
    blank = row(q, strike=385.0, right="C")
    assert (blank["vendor_iv"], blank["volume"], blank["bid_size"], blank["ask_size"]) == (None, None, 0, 0)


def test_optionsdx_spx_roots_and_half_day(tmp_path: Path, store: Store) -> None:
    lines = [
        dx_line(date="2023-11-24", expiry="2023-12-15", strike="4500.0"),  # third Friday: SPX AM
        dx_line(date="2023-11-24", expiry="2023-12-08", strike="4500.0"),  # weekly: SPXW PM
        dx_line(date="2022-04-11", expiry="2022-04-14", strike="4400.0"),  # Good Friday 04-15: monthly moves
    ]
    path = write_dx(tmp_path, lines, name="optionsdx_export.txt")
    with pytest.raises(DataError, match="pass --underlying SPY"):
        import_files("optionsdx", [path], store)
    import_files("optionsdx", [path], store, underlying="spx")
    q = quotes(store).filter(pl.col("right") == "C")
    got = q.select("expiration", "root", "settlement", "style", "occ_symbol", "quote_time").rows()
    assert got == [
        (dt.date(2022, 4, 14), "SPX", "AM", "european", "SPX220414C04400000", et(2022, 4, 11, 16, 0)),
        (dt.date(2023, 12, 8), "SPXW", "PM", "european", "SPXW231208C04500000", et(2023, 11, 24, 13, 0)),
        (dt.date(2023, 12, 15), "SPX", "AM", "european", "SPX231215C04500000", et(2023, 11, 24, 13, 0)),
    ]


def test_optionsdx_crossed_quote_and_bad_optional_values_go_to_quarantine(tmp_path: Path, store: Store) -> None:
    lines = [
        dx_line(),
        dx_line(strike="385.0", c_bid="5.50", c_ask="5.40"),
        dx_line(strike="390.0", c_iv="abc"),
        dx_line(strike="395.0", c_size="7 by 9"),
        dx_line(strike="400.0", c_volume="1.5"),
    ]
    path = write_dx(tmp_path, lines)
    report = import_files("optionsdx", [path], store)
    assert (report.quotes, report.quarantined) == (6, 4)
    q = quarantine(store).filter(pl.col("right") == "C")
    assert q["source_file"].unique().to_list() == [str(path.resolve())]
    assert q.select("source_row", "strike", "reject_reason").rows() == [
        (3, 385.0, "column 'ask' must be >= 'bid' (crossed quote)"),
        (4, 390.0, "column 'C_IV' must be a number; got abc"),
        (5, 395.0, "column 'C_SIZE' must be sizes 'bid x ask'; got 7 by 9"),
        (6, 400.0, "column 'C_VOLUME' must be a whole number; got 1.5"),
    ]
    crossed = row(q, source_row=3)
    assert (crossed["bid"], crossed["ask"], crossed["underlying"], crossed["snapshot"]) == (5.5, 5.4, "SPY", "eod_1600")
    assert set(quotes(store)["strike"]) == {380.0, 385.0, 390.0, 395.0, 400.0}  # the puts of those lines are fine


def test_batches_and_text_path_keep_file_lines(tmp_path: Path, store: Store, rng: Any) -> None:
    n = 9
    bad = int(rng.integers(2, n))  # an unparsable optional value sends the reader down the text path
    lines = [dx_line(strike=f"{300 + i}.0", c_iv="x" if i == bad else "0.2") for i in range(n)]
    lines.insert(4, "")
    path = write_dx(tmp_path, lines)
    other = Store(tmp_path / "other")
    one = import_files("optionsdx", [path], store, batch_rows=2)
    many = import_files("optionsdx", [path], other)
    assert (one.quotes, one.quarantined, one.files[0].blank) == (2 * n - 1, 1, 1)
    assert_frame_equal(quotes(store), quotes(other))
    q = quarantine(store)
    assert q["source_row"].to_list() == [bad + 2 + (bad >= 4)]  # header line, then the blank line at line 6
    assert_frame_equal(q, quarantine(other))
    assert many.lines == one.lines == n + 1


def test_sorted_optionsdx_file_streams_into_the_partition_without_a_merge(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Calls and puts alternate per line, so a file in (date, expiry, strike) order arrives in store key order
    batch after batch, and the store publishes the file it streamed (the same bytes a merge would write)."""
    from volengine.data import _store_merge

    lines = [dx_line(date=d, expiry=e, strike=f"{k}.0") for d in ("2023-01-03", "2023-01-04")
             for e in ("2023-01-20", "2023-02-17") for k in range(370, 391)]  # fmt: skip
    path = write_dx(tmp_path, lines)
    first = Store(tmp_path / "first")
    import_files("optionsdx", [path], first)
    merged = Store(tmp_path / "merged")
    merged.write("option_quotes", first.read("option_quotes").reverse(), validated=True)  # out of order: merged
    real = _store_merge.merge
    calls: list[str] = []

    def spy(ts: Any, *args: Any) -> Any:
        calls.append(ts.name)
        return real(ts, *args)

    monkeypatch.setattr(_store_merge, "merge", spy)
    report = import_files("optionsdx", [path], store, batch_rows=5)
    assert calls == []
    assert report.quotes == 2 * len(lines)
    (entry,) = store.manifest()["datasets"]["option_quotes"]["partitions"].values()
    (again,) = merged.manifest()["datasets"]["option_quotes"]["partitions"].values()
    assert entry["sha256"] == again["sha256"]
    got = pl.read_parquet(store.root / entry["file"])
    assert got["right"].cast(pl.String).to_list()[:4] == ["C", "P", "C", "P"]
    assert got["strike"].to_list()[:4] == [370.0, 370.0, 371.0, 371.0]


def test_double_import_is_idempotent(tmp_path: Path, store: Store) -> None:
    path = write_dx(tmp_path, [dx_line(), dx_line(strike="385.0", c_bid="5.50", c_ask="5.40")])
    import_files("optionsdx", [path], store)
    first, first_q = quotes(store), quarantine(store)
    import_files("optionsdx", [Path(str(path))], store)
    assert_frame_equal(quotes(store), first)
    assert_frame_equal(quarantine(store), first_q)


def test_both_sides_of_a_wide_line_stay_in_quarantine(tmp_path: Path, store: Store) -> None:
    path = write_dx(tmp_path, [dx_line(expiry="2022-12-30")])  # expired: call and put both rejected
    report = import_files("optionsdx", [path], store)
    assert report.quarantined == 2
    assert quarantine(store).height == 2


# ------------------------------------------------------------------------------------------ malformed files


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def filled(tmp_path: Path) -> tuple[Store, dict[str, bytes]]:
    store = Store(tmp_path / "filled")
    import_files("optionsdx", [write_dx(tmp_path, [dx_line()], name="spy_eod_202212.txt")], store)
    return store, snapshot(store.root)


def _bad_files(tmp_path: Path) -> dict[str, tuple[Path, str, str | None, int | None, str | None]]:
    """name -> (file, format, expected column, line, message fragment)."""
    good = write_dx(tmp_path, [dx_line()], name="spy_eod_202301.txt")
    no_bid = write_dx(tmp_path, [dx_line()], name="spy_eod_nobid.txt", header=DX_HEADER.replace("[C_BID]", "[C_BYD]"))
    garbage = write_dx(tmp_path, [dx_line(), dx_line(strike="385.0"), dx_line(strike="3x5")], name="spy_eod_x.txt")
    bad_date = write_dx(tmp_path, [dx_line(), dx_line(date="2023-13-45")], name="spy_eod_d.txt")
    cut = write_dx(tmp_path, [dx_line(), dx_line(strike="385.0"), dx_line()[:200]], name="spy_eod_r.txt")
    empty = tmp_path / "spy_eod_empty.txt"
    empty.write_text("")
    header_only = write_dx(tmp_path, [], name="spy_eod_h.txt")
    orats = tmp_path / "ORATS_SMV_Strikes_20231122.csv"
    orats.write_text(orats_smv_text())
    return {
        "missing column": (no_bid, "optionsdx", "C_BID", 1, "column 'C_BID' of the OptionsDX EOD layout is missing"),
        "garbage strike": (garbage, "optionsdx", "STRIKE", 4, "column 'STRIKE' must be a number; got '3x5'"),
        "bad date": (bad_date, "optionsdx", "QUOTE_DATE", 3, "must be an ISO date (YYYY-MM-DD); got '2023-13-45'"),
        "cut line": (cut, "optionsdx", None, 4, "line 4: has 21 fields; the header has 33"),
        "empty": (empty, "optionsdx", None, 1, "the file is empty"),
        "header only": (header_only, "optionsdx", None, 2, "has a header but no data rows"),
        "wrong vendor": (orats, "cboe", "underlying_symbol", 1, "matches the ORATS SMV strikes layout: import it as"),
        "optionsdx as polygon": (good, "polygon", "ticker", 1, "matches the OptionsDX EOD layout"),
        "missing file": (tmp_path / "nope.txt", "optionsdx", None, None, "no such file"),
        "unknown format": (good, "bloomberg", None, None, "unknown import format 'bloomberg'; known formats: cboe"),
    }  # fmt: skip


@pytest.mark.parametrize(
    "case",
    [
        "missing column",
        "garbage strike",
        "bad date",
        "cut line",
        "empty",
        "header only",
        "wrong vendor",
        "optionsdx as polygon",
        "missing file",
        "unknown format",
    ],
)
def test_structural_errors_name_file_line_column_and_leave_the_store(
    tmp_path: Path, filled: tuple[Store, dict[str, bytes]], case: str
) -> None:
    store, before = filled
    path, fmt, column, line, fragment = _bad_files(tmp_path)[case]
    first = [write_dx(tmp_path, [dx_line()], name="spy_eod_202302.txt")] if fmt == "optionsdx" else []
    with pytest.raises(DataError) as info:
        import_files(fmt, [*first, path], store, batch_rows=1)  # a good file first, in the same transaction
    err = info.value
    assert fragment in str(err), str(err)
    if case != "unknown format":
        assert str(path.resolve() if path.exists() else path) in str(err)
    assert (err.column, err.row) == (column, line)
    if line is not None:
        assert f"line {line}" in str(err)
    assert snapshot(store.root) == before


# --------------------------------------------------------------------------------------------------- Cboe

CBOE_BASE = (
    "underlying_symbol,quote_date,root,expiration,strike,option_type,open,high,low,close,trade_volume,"
    "bid_size_1545,bid_1545,ask_size_1545,ask_1545,underlying_bid_1545,underlying_ask_1545"
)
CBOE_CALCS = (
    "implied_underlying_price_1545,active_underlying_price_1545,implied_volatility_1545,delta_1545,gamma_1545,"
    "theta_1545,vega_1545,rho_1545"
)
CBOE_EOD = "bid_size_eod,bid_eod,ask_size_eod,ask_eod,underlying_bid_eod,underlying_ask_eod,vwap,open_interest"


def cboe_text(*, calcs: bool = True) -> str:
    header = f"{CBOE_BASE},{CBOE_CALCS},{CBOE_EOD},delivery_code" if calcs else f"{CBOE_BASE},{CBOE_EOD}"
    rows = [
        # date, root, expiry, strike, type, OHLC, volume, 1545 quote, calcs, EOD quote, vwap, OI, delivery
        ("^SPX", "2023-11-24", "SPXW", "2023-12-15", "4500.000", "C", "0.0000,0.0000,0.0000,0.0000", "0",
         "10,60.1000,12,60.9000,4556.10,4556.30", "0.0000,4556.2000,0.1234,0.5512,0.0021,-0.8123,4.1234,1.2345",
         "15,60.5000,20,61.3000,4559.20,4559.40", "0.0000", "1500", ""),
        ("^SPX", "2023-11-24", "SPX", "2023-12-15", "4500.000", "p", "5.1000,5.6000,4.9000,5.3000", "42",
         "7,5.2000,9,5.4000,4556.10,4556.30", "4557.1000,4556.2000,0.1410,-0.4420,0.0020,-0.7000,4.0000,-1.1000",
         "8,5.1500,9,5.3500,4559.20,4559.40", "5.2500", "2100", ""),
        ("AAPL", "2019-11-29", "AAPL1", "2019-12-20", "150.000", "C", "1.0000,1.2000,0.9000,1.1000", "5",
         "1,1.0500,2,1.1500,267.20,267.30", "0.0000,0.0000,0.3000,0.9000,0.0100,-0.0500,0.1000,0.2000",
         "3,1.0000,4,1.2000,267.20,267.30", "1.1000", "10", "AAPL1 100 AAPL + 10 CASH"),
    ]  # fmt: skip
    lines = [header]
    for r in rows:
        base = ",".join(r[:8]) + "," + r[8]
        lines.append(f"{base},{r[9]},{r[10]},{r[11]},{r[12]},{r[13]}" if calcs else f"{base},{r[10]},{r[11]},{r[12]}")
    return "\n".join(lines) + "\n"


def test_cboe_zip_with_calcs_and_eod_rows(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "UnderlyingOptionsEODCalcs_2023-11-24.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("UnderlyingOptionsEODCalcs_2023-11-24.csv", cboe_text())
    report = import_files("cboe", [path], store, use_cboe_eod=True)
    assert (report.quotes, report.quarantined) == (6, 0)
    assert report.files[0].source == f"{path.resolve()}:UnderlyingOptionsEODCalcs_2023-11-24.csv"
    q = quotes(store)
    c = row(q, root="SPXW", snapshot="cboe_1545")
    assert {k: c[k] for k in ("underlying", "quote_time", "settlement", "style", "occ_symbol", "last", "volume")} == {
        "underlying": "SPX",
        "quote_time": et(2023, 11, 24, 12, 45),  # half day since 2020-02-05
        "settlement": "PM",
        "style": "european",
        "occ_symbol": "SPXW231215C04500000",
        "last": None,  # close 0 = no trade
        "volume": 0,
    }
    assert (c["bid"], c["ask"], c["bid_size"], c["ask_size"]) == (60.1, 60.9, 10, 12)
    assert (c["open_interest"], c["oi_asof"], c["nonstandard"]) == (1500, "start_of_day", False)
    assert c["underlying_price"] == pytest.approx(4556.2)
    assert (c["vendor_iv"], c["vendor_delta"], c["vendor_rho"]) == (0.1234, 0.5512, 1.2345)
    e = row(q, root="SPXW", snapshot="cboe_eod")
    assert (e["bid"], e["ask"], e["bid_size"], e["ask_size"], e["vendor_iv"]) == (60.5, 61.3, 15, 20, None)
    assert (e["quote_time"], e["open_interest"]) == (et(2023, 11, 24, 13, 0), 1500)
    assert e["underlying_price"] == pytest.approx(4559.3)
    p = row(q, root="SPX", snapshot="cboe_1545")
    assert (p["right"], p["settlement"], p["last"], p["volume"], p["vendor_delta"]) == ("P", "AM", 5.3, 42, -0.442)
    a = row(q, root="AAPL1", snapshot="cboe_1545")
    assert (a["nonstandard"], a["style"], a["settlement"]) == (True, "american", "PM")
    assert a["quote_time"] == et(2019, 11, 29, 15, 45)  # a half day before 2020-02-05: still 15:45


def test_cboe_plain_csv_without_calcs(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "UnderlyingOptionsEOD_2023-11-24.csv"
    path.write_text(cboe_text(calcs=False))
    import_files("cboe", [path], store, underlying="^SPX")
    q = quotes(store)
    assert q["snapshot"].unique().to_list() == ["cboe_1545"]
    assert q["underlying"].unique().to_list() == ["SPX"]
    assert q["vendor_iv"].null_count() == 2
    assert q["nonstandard"].to_list() == [False, False]
    assert q["underlying_price"].to_list() == pytest.approx([4556.2, 4556.2])


# ------------------------------------------------------------------------------------------------ Polygon


def test_polygon_day_aggregates(tmp_path: Path, store: Store) -> None:
    text = (
        "ticker,volume,open,close,high,low,window_start,transactions\n"
        "O:SPY230327P00390000,200,11.82,9.83,11.82,8.09,1678680000000000000,62\n"
        "O:SPXW230317C04000500,3.0,1.5,1.25,1.6,1.2,1678680000000000000,3\n"
        "O:GOOG1230317C00095000,1,2.0,2.0,2.0,2.0,1678680000000000000,1\n"
        "I:SPX,1,1,1,1,1,1678680000000000000,1\n"
    )
    path = tmp_path / "2023-03-13.csv.gz"
    path.write_bytes(gzip.compress(text.encode()))
    report = import_files("polygon", [path], store)
    assert (report.quotes, report.quarantined) == (3, 1)
    q = quotes(store)
    spy = row(q, root="SPY")
    assert {k: spy[k] for k in ("date", "expiration", "strike", "right", "underlying", "last", "volume")} == {
        "date": dt.date(2023, 3, 13),
        "expiration": dt.date(2023, 3, 27),
        "strike": 390.0,
        "right": "P",
        "underlying": "SPY",
        "last": 9.83,
        "volume": 200,
    }
    assert (spy["bid"], spy["ask"], spy["open_interest"], spy["vendor_iv"], spy["underlying_price"]) == (None,) * 5
    assert (spy["snapshot"], spy["source"], spy["quote_time"]) == ("day_agg", "polygon", et(2023, 3, 13, 16, 0))
    spx = row(q, root="SPXW")
    assert (spx["underlying"], spx["strike"], spx["style"], spx["settlement"]) == ("SPX", 4000.5, "european", "PM")
    goog = row(q, root="GOOG1")
    assert (goog["underlying"], goog["nonstandard"]) == ("GOOG", True)
    bad = quarantine(store).row(0, named=True)
    assert (bad["source_row"], bad["reject_reason"]) == (5, "column 'ticker' is not an OCC option symbol; got I:SPX")


def test_polygon_underlying_filter_counts_the_rest(tmp_path: Path, store: Store) -> None:
    text = (
        "ticker,volume,open,close,high,low,window_start,transactions\n"
        "O:SPY230327P00390000,200,11.82,9.83,11.82,8.09,1678680000000000000,62\n"
        "O:QQQ230327P00290000,20,1.82,1.83,1.9,1.7,1678680000000000000,6\n"
    )
    path = tmp_path / "2023-03-13.csv"
    path.write_text(text)
    report = import_files("polygon", [path], store, underlying="QQQ")
    assert (report.quotes, report.files[0].skipped) == (1, 1)
    assert quotes(store)["underlying"].to_list() == ["QQQ"]


def test_polygon_rest_snapshot(tmp_path: Path, store: Store) -> None:
    result = {
        "break_even_price": 455.1,
        "day": {"close": 5.1, "volume": 1234, "last_updated": 1700600000000000000},
        "details": {
            "contract_type": "call",
            "exercise_style": "american",
            "expiration_date": "2023-12-15",
            "shares_per_contract": 100,
            "strike_price": 450,
            "ticker": "O:SPY231215C00450000",
        },
        "greeks": {"delta": 0.55, "gamma": 0.03, "theta": -0.1, "vega": 0.4},
        "implied_volatility": 0.15,
        "last_quote": {"ask": 5.2, "ask_size": 30, "bid": 5.0, "bid_size": 12, "last_updated": 1700683200000000000},
        "last_trade": {"price": 5.1, "sip_timestamp": 1700683100000000000, "size": 1},
        "open_interest": 34000,
        "underlying_asset": {"price": 455.0, "ticker": "SPY"},
    }
    path = tmp_path / "spy_chain.json"
    path.write_text(json.dumps({"status": "OK", "request_id": "x", "results": [result]}))
    import_files("polygon", [path], store)
    r = quotes(store).row(0, named=True)
    assert r["quote_time"] == et(2023, 11, 22, 15, 0)
    assert (r["date"], r["expiration"], r["strike"], r["right"], r["root"]) == (
        dt.date(2023, 11, 22),
        dt.date(2023, 12, 15),
        450.0,
        "C",
        "SPY",
    )
    assert (r["bid"], r["ask"], r["bid_size"], r["ask_size"], r["last"], r["volume"]) == (5.0, 5.2, 12, 30, 5.1, 1234)
    assert (r["vendor_iv"], r["vendor_delta"], r["vendor_rho"], r["open_interest"], r["oi_asof"]) == (
        0.15,
        0.55,
        None,
        34000,
        "prev_night",
    )
    assert (r["underlying_price"], r["multiplier"], r["style"], r["snapshot"]) == (455.0, 100, "american", "live")


# -------------------------------------------------------------------------------------------------- ORATS

ORATS_SMV_HEADER = (
    "ticker,cOpra,pOpra,stkPx,expirDate,yte,strike,cVolu,cOi,pVolu,pOi,cBidPx,cValue,cAskPx,pBidPx,pValue,pAskPx,"
    "cBidIv,cMidIv,cAskIv,smoothSmvVol,pBidIv,pMidIv,pAskIv,iRate,divRate,residualRateData,delta,gamma,theta,vega,"
    "rho,phi,driftlessTheta,extVol,extCTheo,extPTheo,spot_px,trade_date"
)


def orats_smv_text() -> str:
    rows = [
        "SPX,SPXW  231215C04500000,SPXW  231215P04500000,4556.12,12/15/2023,0.0630,4500,120,3400,80,2900,60.1,"
        "60.5,60.9,5.1,5.3,5.5,0.12,0.125,0.13,0.124,0.14,0.145,0.15,0.053,0.015,0,0.62,0.002,-0.9,4.1,1.2,-1.5,"
        "-0.8,0.124,60.4,5.2,4556.12,11/22/2023",
        "SPY,SPY231215C00450000,SPY231215P00450000,455.01,12/15/2023,0.0630,450,1200,34000,800,29000,6.1,6.2,6.3,"
        "1.1,1.2,1.3,0.13,0.135,0.14,0.134,0.15,0.155,0.16,0.053,0.015,0,0.58,0.03,-0.12,0.41,0.12,-0.15,-0.1,"
        "0.134,6.2,1.2,455.01,11/22/2023",
    ]
    return "\n".join([ORATS_SMV_HEADER, *rows]) + "\n"


def test_orats_smv_zip(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "ORATS_SMV_Strikes_20231122.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("ORATS_SMV_Strikes_20231122.csv", orats_smv_text())
    report = import_files("orats", [path], store)
    assert (report.quotes, report.quarantined) == (4, 0)
    q = quotes(store)
    call = row(q, root="SPXW", right="C")
    put = row(q, root="SPXW", right="P")
    assert (call["date"], call["expiration"], call["underlying"], call["settlement"]) == (
        dt.date(2023, 11, 22),
        dt.date(2023, 12, 15),
        "SPX",
        "PM",
    )
    assert (call["bid"], call["ask"], call["volume"], call["open_interest"], call["oi_asof"]) == (
        60.1,
        60.9,
        120,
        3400,
        "prev_night",
    )
    assert (call["vendor_iv"], call["vendor_delta"], call["vendor_theta"], call["vendor_rho"]) == (
        0.125,
        0.62,
        -0.9,
        1.2,
    )
    assert (put["bid"], put["ask"], put["volume"], put["open_interest"], put["vendor_iv"]) == (
        5.1,
        5.5,
        80,
        2900,
        0.145,
    )
    assert put["vendor_delta"] == pytest.approx(0.62 - 1)
    assert (put["vendor_gamma"], put["vendor_vega"], put["vendor_theta"], put["vendor_rho"]) == (0.002, 4.1, None, None)
    assert (put["underlying_price"], put["snapshot"], put["occ_symbol"]) == (4556.12, "near_eod", "SPXW231215P04500000")
    assert put["quote_time"] == et(2023, 11, 22, 16, 0)
    spy = row(q, root="SPY", right="P")
    assert (spy["style"], spy["vendor_delta"]) == ("american", pytest.approx(-0.42))


ORATS_API_HEADER = (
    "ticker,tradeDate,expirDate,dte,strike,stockPrice,callVolume,callOpenInterest,callBidSize,callAskSize,putVolume,"
    "putOpenInterest,putBidSize,putAskSize,callBidPrice,callValue,callAskPrice,putBidPrice,putValue,putAskPrice,"
    "callBidIv,callMidIv,callAskIv,smvVol,putBidIv,putMidIv,putAskIv,residualRate,delta,gamma,theta,vega,rho,phi,"
    "driftlessTheta,extSmvVol,extCallValue,extPutValue,spotPrice,updatedAt"
)
ORATS_API_ROW = (
    "SPX,2023-11-22,2023-12-15,24,4500,4556.12,120,3400,10,12,80,2900,7,9,60.1,60.5,60.9,5.1,5.3,5.5,0.12,0.125,"
    "0.13,0.124,0.14,0.145,0.15,0,0.62,0.002,-0.9,4.1,1.2,-1.5,-0.8,0.124,60.4,5.2,4556.12,2023-11-22 20:46:00"
)


def test_orats_api_layout_csv_and_json(tmp_path: Path, store: Store) -> None:
    csv_path = tmp_path / "strikes.csv"
    csv_path.write_text(f"{ORATS_API_HEADER}\n{ORATS_API_ROW}\n")
    import_files("orats", [csv_path], store)
    from_csv = quotes(store)
    assert from_csv["root"].to_list() == ["SPX", "SPX"]  # 2023-12-15 is the standard monthly: AM root
    assert from_csv.select("bid_size", "ask_size").rows() == [(10, 12), (7, 9)]
    record = dict(zip(ORATS_API_HEADER.split(","), ORATS_API_ROW.split(","), strict=True))
    record = {k: (v if k in ("ticker", "tradeDate", "expirDate", "updatedAt") else float(v)) for k, v in record.items()}
    json_path = tmp_path / "strikes.json"
    json_path.write_text(json.dumps({"data": [record]}))
    other = Store(tmp_path / "other")
    import_files("orats", [json_path], other)
    assert_frame_equal(quotes(other), from_csv)


# --------------------------------------------------------------------------------------------- mapped CSV

HOD_HEADER = (
    "UnderlyingSymbol,UnderlyingPrice,Exchange,OptionSymbol,Blank,Type,Expiration,DataDate,Strike,Last,Bid,Ask,"
    "Volume,OpenInterest,IV,Delta,Gamma,Theta,Vega,Alias"
)
HOD_ROWS = [
    "SPY,450.12,*,SPY231215C00450000,,call,12/15/2023,11/22/2023,450,5.2,5.1,5.3,1200,34000,15.0,0.52,0.03,-0.1,"
    "0.4,SPY231215C00450000",
    "SPY,450.12,*,SPY231215P00450000,,put,12/15/2023,11/22/2023,450,4.2,4.1,4.0,800,29000,16.0,-0.48,0.03,-0.09,"
    "0.4,SPY231215P00450000",
]
MAPPING = """\
columns:
  underlying: UnderlyingSymbol
  underlying_price: UnderlyingPrice
  occ_symbol: OptionSymbol
  right: Type
  expiration: Expiration
  date: DataDate
  strike: Strike
  last: Last
  bid: Bid
  ask: Ask
  volume: Volume
  open_interest: OpenInterest
  vendor_iv: IV
  vendor_delta: Delta
constants:
  oi_asof: prev_night
  quote_time: "16:00"
date_formats:
  date: "%m/%d/%Y"
  expiration: "%m/%d/%Y"
scale:
  vendor_iv: 0.01
source: hod
"""


def test_mapped_csv(tmp_path: Path, store: Store) -> None:
    data = tmp_path / "L2_options_20231122.csv"
    data.write_text("\n".join([HOD_HEADER, *HOD_ROWS]) + "\n")
    mapping = tmp_path / "map.yaml"
    mapping.write_text(MAPPING)
    report = import_files("csv", [data], store, mapping=mapping)
    assert (report.quotes, report.quarantined) == (1, 1)
    c = quotes(store).row(0, named=True)
    assert {k: c[k] for k in ("date", "quote_time", "underlying", "root", "expiration", "strike", "right")} == {
        "date": dt.date(2023, 11, 22),
        "quote_time": et(2023, 11, 22, 16, 0),
        "underlying": "SPY",
        "root": "SPY",
        "expiration": dt.date(2023, 12, 15),
        "strike": 450.0,
        "right": "C",
    }
    assert (c["bid"], c["ask"], c["volume"], c["open_interest"], c["oi_asof"], c["vendor_iv"]) == (
        5.1,
        5.3,
        1200,
        34000,
        "prev_night",
        0.15,
    )
    assert (c["source"], c["snapshot"], c["style"], c["multiplier"]) == ("hod", "eod", "american", 100)
    q = quarantine(store).row(0, named=True)
    assert (q["source_row"], q["right"], q["reject_reason"]) == (
        3,
        "P",
        "column 'ask' must be >= 'bid' (crossed quote)",
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("columns: {strik: Strike}\n", "map.yaml: columns.strik: unknown canonical column (got 'strik')"),
        ("colums: {}\n", "map.yaml: colums: unknown section (got 'colums')"),
        ("columns: {date: D, strike: 5}\n", "map.yaml: columns.strike: must be a non-empty string (got 5)"),
        ("columns: {date: D}\n", "map.yaml: columns.expiration: required unless columns.occ_symbol is mapped"),
        ("columns: {occ_symbol: S}\n", "map.yaml: columns.date: required"),
        ("columns: {occ_symbol: S, date: D}\nconstants: {style: asian}\n", "map.yaml: constants.style: must be one"),
        ("columns: [1, 2]\n", "map.yaml: columns: must be a mapping"),
        ("columns: {a: [\n", "map.yaml: line 2: invalid YAML"),
    ],
)
def test_mapping_errors_name_the_file_and_key(tmp_path: Path, store: Store, text: str, problem: str) -> None:
    mapping = tmp_path / "map.yaml"
    mapping.write_text(text)
    data = tmp_path / "x.csv"
    data.write_text("D,S\n2023-01-03,SPY230120C00380000\n")
    with pytest.raises(ConfigError) as info:
        import_files("csv", [data], store, mapping=mapping)
    assert any(p.startswith(str(mapping)) and problem.split(": ", 1)[1] in p for p in info.value.problems), info.value


def test_mapped_column_missing_from_the_file(tmp_path: Path, store: Store) -> None:
    mapping = tmp_path / "map.yaml"
    mapping.write_text(MAPPING)
    data = tmp_path / "L2.csv"
    data.write_text("\n".join([HOD_HEADER.replace("Strike", "StrikePrice"), *HOD_ROWS]) + "\n")
    with pytest.raises(DataError, match=r"line 1: column 'Strike' is missing \(mapped to strike by columns.strike"):
        import_files("csv", [data], store, mapping=mapping)
    with pytest.raises(DataError, match="needs a column mapping"):
        import_files("csv", [data], store)


# ---------------------------------------------------------------------------------------------- registry


def test_registry_and_sniffing(tmp_path: Path) -> None:
    assert sorted(IMPORTERS) == ["cboe", "csv", "optionsdx", "orats", "polygon"]
    for name, imp in IMPORTERS.items():
        assert imp.name == name
        assert imp.summary
    headers = {
        "optionsdx": [c.strip(" []") for c in DX_HEADER.split(",")],
        "cboe": f"{CBOE_BASE},{CBOE_EOD}".split(","),
        "polygon": "ticker,volume,open,close,high,low,window_start,transactions".split(","),
        "orats": ORATS_SMV_HEADER.split(","),
    }
    for fmt, header in headers.items():
        assert [f for f, _ in detect_formats(header)] == [fmt]
    assert detect_formats(ORATS_API_HEADER.split(",")) == [("orats", "ORATS API strikes")]


def test_occ_parsing_of_the_three_forms() -> None:
    symbols = pl.Series(["O:SPY241220C00450000", "AAPL  260320C00175000", "SPXW261218P05700500", "SPY 1C"])
    parts = pl.select(**occ_parts(pl.lit(symbols))).rows()
    assert parts == [
        ("SPY", dt.date(2024, 12, 20), "C", 450.0),
        ("AAPL", dt.date(2026, 3, 20), "C", 175.0),
        ("SPXW", dt.date(2026, 12, 18), "P", 5700.5),
        (None, None, None, None),
    ]


def test_extra_trailing_fields_are_read_by_position(tmp_path: Path, store: Store) -> None:
    path = write_dx(tmp_path, [dx_line(), dx_line(strike="385.0") + ", 7"])
    report = import_files("optionsdx", [path], store, batch_rows=1)  # the long line starts a block
    assert (report.quotes, report.quarantined) == (4, 0)
    assert row(quotes(store), strike=385.0, right="P")["ask"] == 7.22


def test_cboe_interval_files_are_named_as_unsupported(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "UnderlyingOptionsIntervals_2023-11-24.csv"
    path.write_text(
        "underlying_symbol,quote_datetime,root,expiration,strike,option_type,open,high,low,close,trade_volume,"
        "bid_size,bid,ask_size,ask,underlying_bid,underlying_ask\n"
        "^SPX,2023-11-24 09:31:00,SPXW,2023-12-15,4500,C,0,0,0,0,0,1,60,1,61,4556,4556\n"
    )
    with pytest.raises(DataError, match="Option Quotes \\(intraday interval\\) file") as info:
        import_files("cboe", [path], store)
    assert (info.value.column, info.value.row) == ("quote_datetime", 1)


def test_orats_bad_put_value_quarantines_the_put_only(tmp_path: Path, store: Store) -> None:
    text = orats_smv_text().replace(",0.14,0.145,0.15,", ",0.14,n/a,0.15,", 1)
    path = tmp_path / "ORATS_SMV_Strikes_20231122.csv"
    path.write_text(text)
    report = import_files("orats", [path], store)
    assert (report.quotes, report.quarantined) == (3, 1)
    q = quarantine(store).row(0, named=True)
    assert (q["source_row"], q["right"], q["root"]) == (2, "P", "SPXW")
    assert q["reject_reason"] == "column 'pMidIv' must be a number; got n/a"


def test_empty_polygon_snapshot(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "chain.json"
    path.write_text(json.dumps({"status": "OK", "results": []}))
    with pytest.raises(DataError, match="holds no rows"):
        import_files("polygon", [path], store)
