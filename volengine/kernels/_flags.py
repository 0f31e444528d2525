"""Numba compilation flags, in one place.

A test fails on any ``@njit`` / ``@vectorize`` in ``volengine.kernels`` that does not take its flags from here.

* ``cache=True``: compiled code is written next to the source (or ``NUMBA_CACHE_DIR``) so later processes
  start in milliseconds.
* ``nogil=True``: kernels release the GIL, so callers may run them from threads.
* ``error_model="numpy"``: division by zero gives inf/NaN instead of raising ``ZeroDivisionError``.
* ``fastmath``: the subset that keeps NaN/inf semantics. ``fastmath=True`` would add ``nnan``/``ninf``,
  which lets LLVM delete ``isnan`` checks; we rely on them for the NaN-on-ill-posed-input contract.
"""

from __future__ import annotations

from typing import Any

FASTMATH: frozenset[str] = frozenset({"nsz", "arcp", "contract", "afn", "reassoc"})

#: flags for scalar helpers, inlined into their callers
SCALAR: dict[str, Any] = {"cache": True, "nogil": True, "error_model": "numpy", "fastmath": set(FASTMATH)}
#: scalar maths of ``_simd`` (Cody-Waite reductions, split products): only ``contract`` (FMA), since
#: ``reassoc`` would undo the error-compensating order of operations. LLVM keeps these per-instruction flags
#: when it inlines helpers, but Numba-level inlining gives the callee the caller's flags (see below).
EXACT: dict[str, Any] = {
    "cache": True,
    "nogil": True,
    "error_model": "numpy",
    "fastmath": {"contract"},
    "inline": "always",
}
#: array kernels built on the ``_simd`` maths: Numba-level inlining (``inline="always"`` above) lets LLVM see
#: the whole loop body at once, which it must to vectorise it (left to LLVM's inliner, a body with two erfc
#: calls exceeds its threshold and the loop stays scalar); the inlined code takes the caller's flags, hence
#: no ``reassoc`` here either
PARALLEL_EXACT: dict[str, Any] = {
    "cache": True,
    "nogil": True,
    "error_model": "numpy",
    "fastmath": {"contract"},
    "parallel": True,
}
#: flags for serial array kernels
SERIAL: dict[str, Any] = dict(SCALAR)
#: flags for array kernels whose outer loop is a ``prange``
PARALLEL: dict[str, Any] = {**SCALAR, "parallel": True}
