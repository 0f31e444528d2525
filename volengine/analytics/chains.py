"""The chain stage of the pipeline (quotes → per-chain and per-day surface frames), with a content cache.

Everything this stage computes for a day depends on that day's quotes and rates alone, so the stage can
run on any slice of days (one stored year partition at a time, which also bounds memory) and a slice's
result can be cached: the key is the partition's content hash, the rates it read, the effective end date,
the settings that shape the stage, :data:`STAGE_VERSION` and a fingerprint of the code
(:func:`code_fingerprint`). A changed partition, setting, version or source file is simply a different key; a
cached result is always exactly what a fresh run would give.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from volengine.analytics.contracts import contract_analytics
from volengine.analytics.gamma import dealer_gamma
from volengine.analytics.surface import daily_surface, expiry_summary
from volengine.config import Settings
from volengine.data.atomic import write_parquet_atomic

if TYPE_CHECKING:
    from volengine.data.store import Store

#: bump when the chain stage's output changes for the same input (the code fingerprint also catches edits)
STAGE_VERSION = 1


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """Hash of the source of every module that shapes a pipeline result, so a code change is a new cache key."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for sub in ("analytics", "kernels", "regime", "edges", "config", "data"):
        for path in sorted((root / sub).rglob("*.py")):
            h.update(path.relative_to(root).as_posix().encode())
            h.update(path.read_bytes())
    for name in ("pipeline.py",):
        h.update((root / name).read_bytes())
    return h.hexdigest()[:16]


_PARTS = ("expiries", "surface", "gamma")


@dataclass(frozen=True)
class ChainStage:
    """Per-chain smile summaries, per-day surface columns and per-day dealer gamma of some days."""

    expiries: pl.DataFrame
    surface: pl.DataFrame
    gamma: pl.DataFrame

    @staticmethod
    def concat(parts: list[ChainStage]) -> ChainStage:
        """Stack the stages of consecutive slices."""
        frames = {p: [getattr(x, p) for x in parts if getattr(x, p).height] for p in _PARTS}
        return ChainStage(
            **{p: pl.concat(f, how="diagonal_relaxed") if f else pl.DataFrame() for p, f in frames.items()}
        )


def chain_stage(
    quotes: pl.DataFrame, rates: pl.DataFrame | None, settings: Settings, *, timings: dict[str, float] | None = None
) -> ChainStage:
    """Run the chain stage on ``quotes`` (any days, one or more underlyings); ``timings`` gets kernel seconds."""
    if quotes.height == 0:
        return ChainStage(pl.DataFrame(), pl.DataFrame(), pl.DataFrame())
    contracts = contract_analytics(quotes, rates, settings, timings=timings)
    expiries = expiry_summary(contracts, settings)
    return ChainStage(expiries, daily_surface(expiries, settings), dealer_gamma(contracts, settings.edges.gamma))


def cache_dir() -> Path:
    """``$VOLENGINE_CACHE/derived``, else ``~/.cache/volengine/derived``."""
    base = os.environ.get("VOLENGINE_CACHE")
    return (Path(base) if base else Path.home() / ".cache" / "volengine") / "derived"


def stage_fingerprint(settings: Settings) -> str:
    """Hash of the settings sections the chain stage reads."""
    used = {k: getattr(settings, k).model_dump(mode="json") for k in ("analytics", "market", "edges")}
    return hashlib.sha256(json.dumps(used, sort_keys=True).encode()).hexdigest()[:16]


def cached_chain_stage(
    store: Store,
    underlying: str,
    rates: pl.DataFrame | None,
    settings: Settings,
    end: date | None,
    *,
    use_cache: bool = True,
    columns: list[str] | None = None,
    timings: dict[str, float] | None = None,
    rows: dict[str, int] | None = None,
) -> ChainStage:
    """The chain stage of one underlying from a Store, one year partition at a time, through the cache.

    Parameters
    ----------
    store : Store
    underlying : str
    rates : polars.DataFrame or None
        The rates the run uses (already cut at ``end``).
    settings : Settings
    end : date or None
        Last day read; a partition reaching past it is computed (and cached) for the days up to it.
    use_cache : bool, keyword-only
        False computes every partition afresh and writes nothing.
    columns : list of str, optional
        Quote columns read.
    timings, rows : dict, optional
        Receive the seconds spent reading quotes (``read``), in the kernels, and the quote rows computed.
    """
    parts = store.manifest()["datasets"].get("option_quotes", {}).get("partitions", {})
    rate_parts = store.manifest()["datasets"].get("rates", {}).get("partitions", {})
    fp = stage_fingerprint(settings)
    out = []
    for key, entry in sorted(parts.items()):
        if not key.startswith(f"underlying={underlying}/"):
            continue
        lo, hi = date.fromisoformat(entry["min_date"]), date.fromisoformat(entry["max_date"])
        if end is not None and lo > end:
            continue
        upto = hi if end is None or end >= hi else end
        rates_used = sorted(v["sha256"] for v in rate_parts.values() if date.fromisoformat(v["min_date"]) <= upto)
        text = json.dumps([STAGE_VERSION, code_fingerprint(), entry["sha256"], upto.isoformat(), rates_used, fp])
        digest = hashlib.sha256(text.encode()).hexdigest()[:24]
        paths = {p: cache_dir() / f"{underlying}-{lo.year}-{digest}-{p}.parquet" for p in _PARTS}
        if use_cache and all(path.exists() for path in paths.values()):
            out.append(ChainStage(**{p: pl.read_parquet(path) for p, path in paths.items()}))
            continue
        t0 = time.perf_counter()
        quotes = store.read("option_quotes", underlyings=[underlying], start=lo, end=upto, columns=columns)
        if timings is not None:
            timings["read"] = timings.get("read", 0.0) + time.perf_counter() - t0
        if rows is not None:
            rows["quotes"] = rows.get("quotes", 0) + quotes.height
        stage = chain_stage(quotes, rates, settings, timings=timings)
        if use_cache and stage.expiries.height:
            for p, path in paths.items():
                write_parquet_atomic(getattr(stage, p), path)
        out.append(stage)
    return ChainStage.concat(out)


#: result-cache entries kept (oldest pruned first); each holds one run's per-day and per-chain frames
RESULT_CACHE_KEEP = 32


def result_key(store: Store, underlyings: tuple[str, ...], end: date | None, fingerprint: str) -> str:
    """Content key of a whole pipeline run on ``store``: every stored partition it can read (up to ``end``),
    the underlyings, the end date, the settings/universe ``fingerprint`` and :data:`STAGE_VERSION`."""
    used = []
    for name, ds in sorted(store.manifest()["datasets"].items()):
        for key, entry in sorted(ds.get("partitions", {}).items()):
            if end is not None and name != "events" and date.fromisoformat(entry["min_date"]) > end:
                continue
            used.append((name, key, entry["sha256"]))
    text = json.dumps([STAGE_VERSION, code_fingerprint(), list(underlyings), None if end is None else end.isoformat(),
                       fingerprint, used])  # fmt: skip
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def read_result(key: str) -> dict[str, pl.DataFrame] | None:
    """The frames cached under ``key`` (``features``, ``expiries``), or None."""
    paths = {p: cache_dir() / "results" / f"{key}-{p}.parquet" for p in ("features", "expiries")}
    if not all(path.exists() for path in paths.values()):
        return None
    return {p: pl.read_parquet(path) for p, path in paths.items()}


def write_result(key: str, frames: dict[str, pl.DataFrame]) -> None:
    """Cache a run's frames under ``key`` (atomic writes) and prune the oldest entries."""
    root = cache_dir() / "results"
    for p, frame in frames.items():
        write_parquet_atomic(frame, root / f"{key}-{p}.parquet")
    entries = sorted(root.glob("*-features.parquet"), key=lambda q: q.stat().st_mtime)
    for old in entries[:-RESULT_CACHE_KEEP]:
        for p in frames:
            (root / old.name.replace("-features.parquet", f"-{p}.parquet")).unlink(missing_ok=True)
