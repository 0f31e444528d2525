"""The optopsy peer of ``volengine bench backtest``: its CSV, its window, its grid and every way it can fail.

Nothing here needs optopsy or Python 3.12: the CSV is checked against the dtypes optopsy's loader and checks
accept (pandas.read_csv + pandas.to_datetime, as optopsy.csv_data does), and a failing peer (no interpreter, an
interpreter without optopsy, a crash, a hang) must fall back to the recorded figure with a note saying why.
"""

from __future__ import annotations

import ast
import datetime as dt
import importlib.util
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import polars as pl
import pytest

from volengine.bench import backtest as bb


def _contracts() -> pl.DataFrame:
    """A tiny chain shaped like the pipeline's contracts frame: two days, a call and a put, one NaN delta."""
    n = 6
    return pl.DataFrame(
        {
            "date": [dt.date(2020, 1, 2)] * 2 + [dt.date(2020, 6, 1)] * 2 + [dt.date(2021, 1, 4)] * 2,
            "underlying": pl.Series(["SPY"] * n, dtype=pl.Categorical),
            "expiration": [dt.date(2020, 2, 21)] * 2 + [dt.date(2020, 7, 17)] * 2 + [dt.date(2021, 2, 19)] * 2,
            "strike": [300.0, 300.0, 310.0, 310.0, 370.0, 370.0],
            "right": pl.Series(["C", "P"] * 3, dtype=pl.Enum(["C", "P"])),
            "bid": [5.1, 4.9, 3.0, None, 7.0, 6.5],
            "ask": [5.3, 5.1, 3.2, 3.4, 7.2, 6.7],
            "delta": [0.52, -0.48, float("nan"), -0.51, None, -0.45],
            "volume": pl.Series([10, 20, 30, 40, 50, 60], dtype=pl.Int64),
            "open_interest": pl.Series([100, 200, 300, 400, 500, 600], dtype=pl.Int64),
            "underlying_price": [301.0, 301.0, 309.0, 309.0, 371.0, 371.0],
            "iv": [0.2] * n,  # an extra column the CSV must leave out
        }
    )


def test_peer_window_keeps_the_years_and_drops_null_quotes() -> None:
    window = bb.peer_window(_contracts(), 1)
    # 2021-01-04 is past one year from 2020-01-02; the null bid goes, the NaN delta stays (optopsy exits need it)
    assert window["date"].to_list() == [dt.date(2020, 1, 2)] * 2 + [dt.date(2020, 6, 1)]
    assert window["delta"].is_nan().sum() == 1
    later = bb.peer_window(_contracts(), 1, start=dt.date(2020, 6, 1))
    assert later["date"].min() == dt.date(2020, 6, 1)
    # the 2020-06-01 put has a null bid and the 2021-01-04 call a null delta
    assert later.select("date", "right").rows() == [(dt.date(2020, 6, 1), "C"), (dt.date(2021, 1, 4), "P")]


@pytest.mark.parametrize(
    ("start", "inside", "outside"),
    [
        (dt.date(2019, 12, 31), dt.date(2020, 12, 30), dt.date(2020, 12, 31)),
        (dt.date(2020, 2, 29), dt.date(2021, 2, 28), dt.date(2021, 3, 1)),
    ],
)
def test_peer_window_spans_whole_years_from_any_day(start: dt.date, inside: dt.date, outside: dt.date) -> None:
    frame = pl.DataFrame({"date": [start, inside, outside], "delta": [0.1] * 3, "bid": [1.0] * 3, "ask": [1.1] * 3})
    assert bb.peer_window(frame, 1, start=start)["date"].to_list() == [start, inside]


def test_optopsy_csv_has_the_columns_and_dtypes_optopsy_accepts(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    path = tmp_path / "chains.csv"
    assert bb.write_optopsy_csv(_contracts(), path) == 6
    assert path.read_text().splitlines()[0].split(",") == list(bb.OPTOPSY_CSV_COLUMNS)
    df = pd.read_csv(path)
    df["expiration"] = pd.to_datetime(df["expiration"])
    df["quote_date"] = pd.to_datetime(df["quote_date"])
    dtypes = df.dtypes.astype(str).to_dict()
    # the accepted dtypes of optopsy 2.3 checks.expected_types and optional_liquidity_types
    assert dtypes["underlying_symbol"] in {"object", "str"}
    assert dtypes["option_type"] in {"object", "str"}
    assert dtypes["expiration"] in {"datetime64[ns]", "datetime64[us]"}
    assert dtypes["quote_date"] in {"datetime64[ns]", "datetime64[us]"}
    for col in ("strike", "bid", "ask", "delta", "underlying_price"):
        assert dtypes[col] == "float64", col
    for col in ("volume", "open_interest"):
        assert dtypes[col] == "int64", col
    assert df["option_type"].tolist() == ["call", "put"] * 3
    assert df["quote_date"].iloc[0] == pd.Timestamp("2020-01-02")
    assert df["delta"].isna().sum() == 2  # the NaN and the null delta both read back as NaN


def test_optopsy_csv_names_a_missing_column(tmp_path: Path) -> None:
    from volengine.errors import SchemaError

    with pytest.raises(SchemaError, match=r"lacks column\(s\) delta"):
        bb.write_optopsy_csv(_contracts().drop("delta"), tmp_path / "chains.csv")


def _recorded_note(peer_python: str, tmp_path: Path, **kw: Any) -> str:
    logs: list[str] = []
    result = bb.measure_optopsy(peer_python, _contracts(), log=logs.append, **kw)
    assert result["status"] == "recorded"
    assert result["per_point_s"] == pytest.approx(bb.OPTOPSY_S_PER_POINT * 6 / bb.OPTOPSY_ROWS)
    assert result["quote_rows"] == 6
    assert any("using the recorded figure" in line for line in logs)
    assert result["note"].endswith("ratio against the recorded figure")
    return str(result["note"])


def test_missing_interpreter_falls_back_to_the_recorded_figure(tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-python")
    note = _recorded_note(missing, tmp_path)
    assert f"peer interpreter {missing} not found" in note


def test_interpreter_without_optopsy_falls_back_to_the_recorded_figure(tmp_path: Path) -> None:
    if importlib.util.find_spec("optopsy") is not None:
        pytest.skip("optopsy is installed in this interpreter")
    note = _recorded_note(sys.executable, tmp_path)
    assert "exited with status 2" in note
    assert f"optopsy is not installed in {sys.executable}" in note


@pytest.mark.parametrize(
    ("body", "timeout_s", "expected"),
    [
        ("import sys; print('boom: bad CSV', file=sys.stderr); sys.exit(1)", 60.0, "status 1: boom: bad CSV"),
        ("pass", 60.0, "wrote no readable JSON"),
        ("import time; time.sleep(30)", 0.5, "timed out after 0.5 s"),
    ],
)
def test_failing_peer_script_falls_back_with_the_reason(
    tmp_path: Path, body: str, timeout_s: float, expected: str
) -> None:
    script = tmp_path / "fake_peer.py"
    script.write_text(body + "\n")
    note = _recorded_note(sys.executable, tmp_path, script=script, timeout_s=timeout_s)
    assert expected in note


def test_missing_peer_script_falls_back(tmp_path: Path) -> None:
    note = _recorded_note(sys.executable, tmp_path, script=tmp_path / "absent.py")
    assert "peer script" in note
    assert "not found" in note


def _grid_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("optopsy_grid", bb.PEER_SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_peer_script_grid_is_the_documented_24_points() -> None:
    script = _grid_script()
    points = script.grid()
    assert len(points) == 24
    assert len({tuple(p.values()) for p in points}) == 24
    assert {p["short_delta"] for p in points} == set(bb.PEER_SHORT_DELTAS)
    assert len(bb.PEER_SHORT_DELTAS) * len(bb.PEER_WING_WIDTHS_POINTS) * len(bb.PEER_PARAM_SETS) == 24
    fake = SimpleNamespace(TargetRange=lambda **kw: kw)
    kw = script._point_kwargs(fake, points[0])
    assert kw["leg1_delta"] == kw["leg4_delta"] == {"target": 0.05, "min": 0.01, "max": 0.09}
    assert kw["leg2_delta"] == kw["leg3_delta"] == {"target": 0.16, "min": 0.12, "max": 0.2}
    # optopsy's StrategyParams: strict floats, stop_loss < 0, raw a strict bool, exit_dte an int
    assert kw["stop_loss"] == -1.0
    assert isinstance(kw["take_profit"], float)
    assert kw["raw"] is True
    assert isinstance(kw["exit_dte"], int)


def test_peer_script_imports_only_the_stdlib_pandas_and_optopsy() -> None:
    tree = ast.parse(bb.PEER_SCRIPT.read_text())
    roots = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    roots |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert roots - set(sys.stdlib_module_names) == {"optopsy", "pandas"}


def _result(peer: dict[str, Any]) -> dict[str, Any]:
    stage = {"structures": 1.0, "paths": 1.0, "simulate": 0.5, "total": 2.5}
    return {"years": 10, "quote_rows": 1000, "requests": 10, "one": stage, "batch": stage, "n_sets": 100,
            "trades_set0": 5, "trades_per_set_mean": 5.0, "per_point_s": 0.025, "optopsy_per_point_s_scaled": 3.0,
            "speedup_vs_optopsy": 120.0, "targets": bb.TARGETS, "peer": peer}  # fmt: skip


def _rendered(result: dict[str, Any]) -> str:
    from rich.console import Console

    console = Console(record=True, width=250)
    bb.render(result, console)
    return console.export_text()


def test_render_labels_a_recorded_peer() -> None:
    text = _rendered(_result({**bb.recorded_peer(600, "no peer interpreter; ratio against the recorded figure"),
                              "years": 3, "first_date": "2016-01-04", "last_date": "2018-12-31"}))  # fmt: skip
    assert "(recorded, scaled)" in text
    assert "peer: recorded optopsy figure" in text
    assert "no peer interpreter" in text
    assert "measured" not in text


def test_render_shows_a_measured_peer() -> None:
    optopsy = {"optopsy_version": "2.3.0", "python_version": "3.12.1", "per_point_s": 12.0, "load_s": 2.0,
               "grid_s": 288.0, "n_points": 24, "trades_per_point_mean": 2500.0, "peak_rss_mib": 1100.0}  # fmt: skip
    ours = {"per_point_s": 0.06, "grid_s": 1.44, "n_points": 24, "trades_per_point_mean": 40.0}
    peer = {"status": "measured", "years": 3, "first_date": "2016-01-04", "last_date": "2018-12-31",
            "quote_rows": 2_000_000, "per_point_s": 12.0, "ratio": 200.0, "optopsy": optopsy,
            "volengine": ours}  # fmt: skip
    text = _rendered(_result(peer))
    assert "optopsy 2.3.0 (Python 3.12, same run, same 2,000,000 rows): 12.00 s/point" in text
    assert "200x faster (measured)" in text
    assert "60.0 ms" in text


def test_bench_backtest_cli_takes_the_peer_options() -> None:
    from typer.testing import CliRunner

    from volengine.cli.app import app

    result = CliRunner().invoke(app, ["bench", "backtest", "--help"])
    assert result.exit_code == 0, result.output
    assert "--peer-python" in result.output
    assert "--peer-years" in result.output
