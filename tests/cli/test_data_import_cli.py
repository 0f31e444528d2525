"""``volengine data import`` and ``volengine bench import`` through the real Typer app and console entry point."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from volengine.cli.app import app, main
from volengine.data.store import Store
from volengine.errors import DataError

runner = CliRunner()

HEADER = (
    "[QUOTE_UNIXTIME], [QUOTE_READTIME], [QUOTE_DATE], [QUOTE_TIME_HOURS], [UNDERLYING_LAST], [EXPIRE_DATE], "
    "[EXPIRE_UNIX], [DTE], [C_DELTA], [C_GAMMA], [C_VEGA], [C_THETA], [C_RHO], [C_IV], [C_VOLUME], [C_LAST], "
    "[C_SIZE], [C_BID], [C_ASK], [STRIKE], [P_BID], [P_ASK], [P_SIZE], [P_LAST], [P_DELTA], [P_GAMMA], [P_VEGA], "
    "[P_THETA], [P_RHO], [P_IV], [P_VOLUME], [STRIKE_DISTANCE], [STRIKE_DISTANCE_PCT]"
)


def line(strike: str = "380.0", c_bid: str = "8.02", c_ask: str = "8.15") -> str:
    return (
        " 1672779600, 2023-01-03 16:00, 2023-01-03, 16.000000, 380.82, 2023-01-20, 1674248400, 17.000000, 0.52510, "
        f"0.02839, 0.31050, -0.14850, 0.09230, 0.21540, 195.000000, 8.10, 1 x 2, {c_bid}, {c_ask}, {strike}, 7.10, "
        "7.22, 12 x 30, 7.15, -0.47410, 0.02831, 0.31070, -0.12360, -0.08850, 0.22010, , 0.8, 0.002"
    )


def write(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *lines]) + "\n")
    return path


def files_of(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_import_prints_per_file_lines_and_a_summary(tmp_path: Path) -> None:
    path = write(tmp_path, "spy_eod_202301.txt", [line(), line("385.0", "5.50", "5.40")])
    store = tmp_path / "store"
    result = runner.invoke(app, ["data", "import", "optionsdx", str(path), "--store", str(store)])
    assert result.exit_code == 0, result.output
    assert f"{path.resolve()}: 2 lines -> 3 quotes, 1 quarantined" in result.stdout
    assert "imported 3 quotes (1 quarantined) from 1 source(s) as optionsdx" in result.stdout
    assert Store(store).read("option_quotes").height == 3
    again = runner.invoke(app, ["data", "import", "optionsdx", str(path), "--store", str(store)])
    assert again.exit_code == 0, again.output
    assert Store(store).read("option_quotes").height == 3


def test_underlying_option_and_help_example(tmp_path: Path) -> None:
    path = write(tmp_path, "chain.txt", [line()])
    store = tmp_path / "store"
    args = ["data", "import", "optionsdx", str(path), "--store", str(store), "--underlying", "QQQ"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert Store(store).read("option_quotes")["underlying"].unique().to_list() == ["QQQ"]
    helped = runner.invoke(app, ["data", "import", "--help"])
    assert helped.exit_code == 0
    assert "Example: volengine data import optionsdx" in helped.stdout


def test_structural_error_exits_1_with_one_line_and_leaves_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "store"
    good = write(tmp_path, "spy_eod_202301.txt", [line()])
    assert runner.invoke(app, ["data", "import", "optionsdx", str(good), "--store", str(store)]).exit_code == 0
    before = files_of(store)
    bad = write(tmp_path, "spy_eod_202302.txt", [line(), line(strike="3x5")])
    result = runner.invoke(app, ["data", "import", "optionsdx", str(good), str(bad), "--store", str(store)])
    assert result.exit_code == 1
    assert isinstance(result.exception, DataError)
    monkeypatch.setattr(sys, "argv", ["volengine", "data", "import", "optionsdx", str(bad), "--store", str(store)])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {bad.resolve()}: line 3: column 'STRIKE' must be a number; got '3x5'"]
    assert files_of(store) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["bloomberg"], "error: unknown import format 'bloomberg'"),
        (["cboe"], "the header matches the OptionsDX EOD layout: import it as optionsdx"),
        (["csv"], "error: the csv format needs a column mapping"),
    ],
)
def test_bad_invocations_exit_1(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    path = write(tmp_path, "spy_eod_202301.txt", [line()])
    argv = ["volengine", "data", "import", *args, str(path), "--store", str(tmp_path / "store")]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith("error: ")
    assert message in err
    assert not (tmp_path / "store" / "manifest.json").exists()


def test_missing_store_option_is_a_usage_error(tmp_path: Path) -> None:
    path = write(tmp_path, "spy_eod_202301.txt", [line()])
    assert runner.invoke(app, ["data", "import", "optionsdx", str(path)]).exit_code == 2


def test_bench_import_tiny() -> None:
    result = runner.invoke(app, ["bench", "import", "--rows", "4000", "--repeat", "1", "--no-pandas-python"])
    assert result.exit_code == 0, result.output
    for text in (
        "volengine data import optionsdx: 4,000 quote rows (2,000 wide lines",
        "end to end",
        'pandas.read_csv(sep=",", skipinitialspace=True, engine="c")',
        "Target >= 2,000,000 quote rows/s end to end",
    ):
        assert text in result.output, result.output
