"""A user cache of generated synthetic-market Stores, one per (seed, parameter hash, range, underlyings).

``make demo`` and notebooks call :func:`cached_market_store` and get a ready Store path; generation runs
once, into a temporary directory that is renamed into place, so a crashed run never leaves a half store.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from volengine.datasets.synthetic.params import SyntheticParams, params_hash, resolve_params

_DONE = "COMPLETE"


def cache_root() -> Path:
    """``$VOLENGINE_CACHE`` (its ``synthetic/`` subfolder), else ``~/.cache/volengine/synthetic``."""
    base = os.environ.get("VOLENGINE_CACHE")
    return Path(base) / "synthetic" if base else Path.home() / ".cache" / "volengine" / "synthetic"


def cache_key(seed: int, p: SyntheticParams, start: str, end: str, underlyings: Sequence[str], *,
              with_chains: bool) -> str:  # fmt: skip
    """Directory name of one cached market: readable prefix plus a hash of everything that shapes it."""
    text = f"{seed}|{params_hash(p)}|{start}|{end}|{','.join(underlyings)}|{int(with_chains)}"
    return f"seed{seed}-{params_hash(p)}-{hashlib.sha256(text.encode()).hexdigest()[:10]}"


def cached_market_store(
    seed: int = 0,
    params: SyntheticParams | Mapping[str, Any] | None = None,
    *,
    start: str = "2012-01-03",
    end: str = "2024-12-31",
    underlyings: Sequence[str] = ("SPY",),
    with_chains: bool = True,
) -> Path:
    """Path of a Store holding the synthetic market of ``(seed, params, range, underlyings)``; generated once.

    The Store is built in a temporary sibling directory and renamed to ``cache_root()/<key>`` when complete
    (a ``COMPLETE`` marker records it); concurrent callers may both generate, and the first rename wins.

    Examples
    --------
    >>> path = cached_market_store(seed=1, start="2020-01-02", end="2020-02-28", with_chains=False)  # doctest: +SKIP
    """
    from volengine.datasets.synthetic.store_io import generate_into_store

    p = resolve_params(params)
    names = tuple(str(u).upper() for u in underlyings)
    target = cache_root() / cache_key(seed, p, start, end, names, with_chains=with_chains)
    if (target / _DONE).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        generate_into_store(tmp, seed, names, start, end, p, with_chains=with_chains)
        (tmp / _DONE).write_text(f"seed={seed} params={params_hash(p)} {start}..{end} {','.join(names)}\n")
        try:
            tmp.replace(target)
        except OSError:
            if not (target / _DONE).is_file():  # a stale partial directory without the marker: replace it
                shutil.rmtree(target, ignore_errors=True)
                tmp.replace(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
