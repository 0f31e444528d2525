"""Benchmark peers: each library's user-facing price, Greeks and IV calls bound to a :class:`Book`.

Conversions a user would make (flag encodings, call/put splits, forwards, undiscounting, unit changes) live
inside the bound calls so that they are timed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

from volengine._typing import AnyArray, FloatArray, Int8Array
from volengine.bench.baselines import GREEKS, Book, numpy_greeks, numpy_implied_vol, numpy_price

INSTALL_HINT = "not installed: pip install volengine[bench]"


@dataclass
class Library:
    """One implementation under test: user-facing calls bound to a :class:`Book`."""

    key: str
    label: str
    threads: str
    price: Callable[[Book], Any] | None = None
    greeks: Callable[[Book], Any] | None = None
    canon: Callable[[Any], dict[str, AnyArray]] = dict
    iv: Callable[[FloatArray, Book], Any] | None = None
    names: dict[str, str] = field(default_factory=dict)
    units: str = ""
    missing: str | None = None
    module: Any = None


def pkg_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def rayon_threads() -> str:
    return f"{os.environ.get('RAYON_NUM_THREADS') or cpu_count()} (rayon)"


def load_volengine() -> Library:
    """VolEngine's kernels, compiled (``warmup()``); raises ``ImportError`` if they cannot be imported."""
    import volengine.kernels as vk

    vk.warmup()
    return Library(
        "volengine",
        f"volengine {pkg_version('volengine')}",
        "numba",
        price=lambda b: vk.bs_price(b.spot, b.strike, b.t, b.rate, b.div, b.vol, b.is_call),
        greeks=lambda b: vk.bs_greeks(b.spot, b.strike, b.t, b.rate, b.div, b.vol, b.is_call),
        canon=lambda g: {name: np.asarray(getattr(g, name)) for name in GREEKS},
        iv=lambda p, b: vk.implied_vol(p, b.spot, b.strike, b.t, b.rate, b.div, b.is_call),
        names={"price": "bs_price", "greeks": "bs_greeks (price + 8 Greeks)", "iv": "implied_vol"},
        units="canonical",
        module=vk,
    )


def load_pyvolr() -> Library:
    """pyvolr's ``bs`` module (Rust + rayon); flags converted from 1/0 to +1/-1 inside the timed call."""
    try:
        import pyvolr
        from pyvolr import bs
    except ImportError:
        return Library("pyvolr", "pyvolr", "-", missing=INSTALL_HINT)

    def flag(b: Book) -> Int8Array:
        return np.where(b.is_call != 0, np.int8(1), np.int8(-1))

    return Library(
        "pyvolr",
        f"pyvolr {pyvolr.__version__}",
        rayon_threads(),
        price=lambda b: bs.price(flag(b), b.spot, b.strike, b.t, b.rate, b.vol, b.div),
        greeks=lambda b: bs.greeks(flag(b), b.spot, b.strike, b.t, b.rate, b.vol, b.div),
        canon=lambda g: {name: np.asarray(g[name]) for name in ("delta", "gamma", "vega", "theta", "rho")},
        iv=lambda p, b: bs.implied_vol(p, flag(b), b.spot, b.strike, b.t, b.rate, b.div, on_error="ignore"),
        names={
            "price": "bs.price",
            "greeks": "bs.greeks (5 Greeks, no price)",
            "iv": "bs.implied_vol(on_error='ignore')",
        },
        units="canonical as documented (vega per 1.00 vol, theta per year, rho per 1.00 rate); no conversion",
    )


def load_iv_engine() -> Library:
    """iv-engine's batch API (Rust + rayon): a scalar ``is_call`` per call, so calls and puts are split; IV
    takes undiscounted Black prices on the forward ``S e^{(r-q)T}``."""
    try:
        import iv_engine
        from iv_engine import batch
    except ImportError:
        return Library("iv-engine", "iv-engine", "-", missing=INSTALL_HINT)

    def price(b: Book) -> FloatArray:
        c = b.is_call != 0
        out = np.empty(b.n)
        for mask, is_call in ((c, True), (~c, False)):
            out[mask] = batch.black_scholes_prices(
                b.spot[mask], b.strike[mask], b.t[mask], b.rate[mask], b.div[mask], b.vol[mask], is_call
            )
        return out

    def iv(p: FloatArray, b: Book) -> FloatArray:
        fwd = b.spot * np.exp((b.rate - b.div) * b.t)
        undisc = p * np.exp(b.rate * b.t)
        c = b.is_call != 0
        out = np.empty(b.n)
        for mask, is_call in ((c, True), (~c, False)):
            out[mask] = batch.implied_volatilities(undisc[mask], fwd[mask], b.strike[mask], b.t[mask], is_call)
        return out

    return Library(
        "iv-engine",
        f"iv-engine {iv_engine.__version__}",
        rayon_threads(),
        price=price,
        iv=iv,
        names={
            "price": "black_scholes_prices (call/put split)",
            "iv": "implied_volatilities (forward, undiscount, call/put split)",
        },
        units="prices only (batch Greeks are Black-76 forward Greeks without theta/rho: not compared)",
    )


def load_numpy() -> Library:
    """The plain numpy + scipy baseline of this module."""
    return Library(
        "numpy",
        f"numpy {np.__version__} + scipy {pkg_version('scipy')}",
        "1",
        price=numpy_price,
        greeks=numpy_greeks,
        iv=numpy_implied_vol,
        names={
            "price": "ndtr textbook",
            "greeks": "ndtr textbook (price + 8 Greeks)",
            "iv": "vectorised bracketed log-Newton",
        },
        units="canonical",
    )


def load_libraries(*, peers: bool = True) -> dict[str, Library]:
    """VolEngine first, then the peers (a missing peer is kept with its install hint)."""
    libs = {"volengine": load_volengine()}
    if peers:
        for loader in (load_pyvolr, load_iv_engine, load_numpy):
            lib = loader()
            libs[lib.key] = lib
    return libs


# ------------------------------------------------------------------------------------------------ parity


def cpu_counters() -> tuple[float, float] | None:
    """(busy CPU seconds of the CPUs we may run on, CPU seconds of this process) or None off Linux."""
    try:
        lines = Path("/proc/stat").read_text().splitlines()
        allowed = {f"cpu{c}" for c in os.sched_getaffinity(0)}
    except (OSError, AttributeError):
        return None
    busy = 0
    for line in lines:
        parts = line.split()
        if parts and parts[0] in allowed:
            ticks = [int(v) for v in parts[1:9]]
            busy += sum(ticks) - ticks[3] - ticks[4]
    own = os.times()
    return busy / os.sysconf("SC_CLK_TCK"), own.user + own.system
