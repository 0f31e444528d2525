"""Smoke tests of ``volengine bench kernels`` at a tiny size: it runs, prints its tables, writes JSON.

No timing assertions: this is a benchmark, and timings on a shared machine mean nothing at N = 2,000.
Peers that are not installed are reported by the command itself, so nothing here depends on them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from volengine.cli.app import app

TINY = ["bench", "kernels", "--n", "2000", "--repeat", "1", "--parity-n", "40", "--no-cold-start"]


def test_bench_kernels_prints_tables_and_json(tmp_path: Path) -> None:
    path = tmp_path / "bench.json"
    result = CliRunner().invoke(app, [*TINY, "--json", str(path)])
    assert result.exit_code == 0, result.output
    for line in (
        "Environment",
        "Parity: max relative error vs mpmath",
        "Implied-vol parity",
        "Kernel timings, N=2,000",
        "volengine bs_price",
        "volengine bs_greeks",
        "volengine implied_vol",
        "Targets, N=2,000",
    ):
        assert line in result.output
    data = json.loads(path.read_text())
    timings = data["runs"][0]["timings"]
    assert {row["task"] for row in timings} == {"price", "greeks", "iv"}
    assert {row["own_threads"] for row in timings if row["library"] == "volengine"} >= {1}
    assert data["environment"]["versions"]["numba"]
    assert "volengine" in data["parity"]["greeks"]


def test_bench_kernels_reports_missing_peers(monkeypatch: pytest.MonkeyPatch) -> None:
    # a None entry in sys.modules makes ``import pyvolr`` raise ImportError, as if it were not installed
    monkeypatch.setitem(sys.modules, "pyvolr", None)
    monkeypatch.setitem(sys.modules, "iv_engine", None)
    result = CliRunner().invoke(app, [*TINY, "--threads", "1"])
    assert result.exit_code == 0, result.output
    assert "not installed: pip install volengine[bench]" in result.output
    assert "n/a (peer not installed)" in result.output


def test_bench_kernels_rejects_bad_threads() -> None:
    result = CliRunner().invoke(app, [*TINY, "--threads", "two"])
    assert result.exit_code != 0


def test_parity_flags_a_unit_slip() -> None:
    from volengine.bench.baselines import Book, make_book, mpmath_reference, numpy_greeks
    from volengine.bench.kernels import greeks_parity
    from volengine.bench.peers import Library, load_volengine

    def vega_per_point(b: Book) -> dict[str, np.ndarray]:
        g = numpy_greeks(b)
        return {**g, "vega": g["vega"] / 100.0}

    book = make_book(30, 5)
    libs = {"volengine": load_volengine(), "slip": Library("slip", "slip", "1", greeks=vega_per_point)}
    report = greeks_parity(libs, book, mpmath_reference(book))
    assert report["volengine"]["ok"]
    assert not report["slip"]["ok"]
    assert any("vega median ratio 0.01" in p for p in report["slip"]["problems"])
