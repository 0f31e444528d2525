"""Whole-package structural tests: import direction, Numba flags in one place, one compiled signature per
kernel, module sizes, and a cheap CLI start-up."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import volengine
from volengine.kernels import (
    all_kernels,
    black_implied_vol,
    black_price,
    bs_greeks,
    bs_price,
    implied_vol,
    realized_vol,
)

PKG = Path(volengine.__file__).parent
FLAG_SETS = {"SCALAR", "SERIAL", "PARALLEL", "EXACT", "PARALLEL_EXACT"}


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(module, is_top_level) for every import in a file."""
    tree = ast.parse(path.read_text())
    top = {id(n) for n in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, id(node) in top) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.module, id(node) in top))
    return found


def test_kernels_import_only_numpy_numba_the_stdlib_and_themselves() -> None:
    for path in (PKG / "kernels").glob("*.py"):
        for module, top_level in _imports(path):
            root = module.split(".")[0]
            allowed = root in {"numpy", "numba", "llvmlite"} or root in sys.stdlib_module_names
            allowed = allowed or module.startswith("volengine.kernels") or module == "volengine.errors"
            # the one lazy exception: Greeks.to_polars converts a result for the data layer
            allowed = allowed or (root == "polars" and not top_level)
            assert allowed, f"{path.name} imports {module}"


def test_no_package_imports_the_cli() -> None:
    for path in PKG.rglob("*.py"):
        if "cli" in path.relative_to(PKG).parts:
            continue
        for module, _ in _imports(path):
            assert not module.startswith("volengine.cli"), f"{path} imports {module}"


def test_numba_flags_come_from_the_flags_module() -> None:
    for path in (PKG / "kernels").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg == "fastmath":
                assert not (isinstance(node.value, ast.Constant) and node.value.value is True), path.name
            if not isinstance(node, ast.FunctionDef):
                continue
            for dec in node.decorator_list:
                if isinstance(dec, ast.Call) and getattr(dec.func, "id", "") in {"njit", "jit", "vectorize"}:
                    assert not dec.args, f"{path.name}:{node.name} passes a signature string"
                    for kw in dec.keywords:
                        ok = kw.arg is None and getattr(kw.value, "id", "") in FLAG_SETS
                        assert ok, f"{path.name}:{node.name} sets a flag by hand ({kw.arg})"
                elif getattr(dec, "id", "") in {"njit", "jit"}:
                    pytest.fail(f"{path.name}:{node.name} uses a bare @{dec.id}")


def test_each_kernel_compiles_exactly_once() -> None:
    n = 6
    writable = np.linspace(90.0, 110.0, n)
    readonly = writable.copy()
    readonly.flags.writeable = False
    strided = np.linspace(90.0, 110.0, 2 * n)[::2]
    for spot in (writable, readonly, strided, list(writable), 100.0):
        price = bs_price(spot, 100.0, 0.5, 0.01, 0.0, 0.2, np.ones(n, bool))
        bs_greeks(spot, 100.0, 0.5, 0.01, 0.0, 0.2, [1] * n)
        implied_vol(price, spot, 100.0, 0.5, 0.01, 0.0, True)
        black_implied_vol(black_price(spot, 100.0, 0.5, 0.99, 0.2, False), spot, 100.0, 0.5, 0.99, False)
        close = np.asarray(writable if np.ndim(spot) == 0 else spot, dtype=float)
        for method in ("close_to_close", "yang_zhang", "parkinson"):
            realized_vol(close, close * 1.01, close * 0.99, close, 3, method=method)
    for kernel in all_kernels():
        assert len(kernel.signatures) <= 1, f"{kernel.py_func.__name__}: {kernel.signatures}"


def test_modules_stay_small() -> None:
    for path in PKG.rglob("*.py"):
        lines = len(path.read_text().splitlines())
        assert lines <= 800, f"{path.relative_to(PKG)} has {lines} lines"


def test_cli_help_is_cheap() -> None:
    code = (
        "import sys\n"
        "from volengine.cli.app import app\n"
        "heavy = [m for m in ('numba', 'vectorbt', 'quantstats', 'matplotlib', 'pandas') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"importing the CLI loads {out.stdout.strip()}"
