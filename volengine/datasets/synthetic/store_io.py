"""Write a generated synthetic market into a Parquet Store, plus its truth next to it (atomic files)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from volengine.data.atomic import write_parquet_atomic
from volengine.datasets.synthetic.market import calendar, events_table, generate_underlying, rates_table
from volengine.datasets.synthetic.params import GENERATOR_VERSION, SyntheticParams, params_hash

Stage = Callable[[str, str, float], None]


def end_for_years(start: str, years: float) -> str:
    """ISO end date ``years`` (365.25-day) years after ``start``, minus one day."""
    days = round(years * 365.25) - 1
    return str(np.datetime64(str(start), "D") + np.timedelta64(max(days, 1), "D"))


def generate_into_store(
    root: Path, seed: int, underlyings: Sequence[str], start: str, end: str, p: SyntheticParams, *,
    with_chains: bool = True, stage: Stage | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Generate each underlying and write every canonical table into the Store at ``root`` in one transaction.

    The truth goes to ``root/truth/<UNDERLYING>.parquet`` (per day), ``<UNDERLYING>_events.parquet``,
    ``<UNDERLYING>_episodes.parquet`` and ``<UNDERLYING>_surface.parquet``. ``stage(underlying, stage,
    fraction)`` reports progress. Returns row counts per table.
    """
    from volengine.data.store import Store

    dates, ext = calendar(start, end)
    counts: dict[str, int] = {}
    earnings = []
    note = (f"synthetic market seed={seed} generator=v{GENERATOR_VERSION} params={params_hash(p)} {start}..{end} "
            f"{','.join(underlyings)}")  # fmt: skip
    with Store(root).transaction(note=note) as tx:
        for u in underlyings:
            cb = (lambda s, f, u=u: stage(u, s, f)) if stage is not None else None
            part = generate_underlying(seed, u, dates, ext, p, with_chains=with_chains, progress=cb)
            for table, frame in (("option_quotes", part.quotes), ("bars", part.bars), ("vol_index", part.vol_index),
                                 ("dividends", part.dividends)):  # fmt: skip
                if frame.height:
                    tx.write(table, frame, validated=table == "option_quotes", source=f"synthetic {u} {table}")
                counts[table] = counts.get(table, 0) + frame.height
            truth_dir = Path(root) / "truth"
            write_parquet_atomic(part.truth, truth_dir / f"{u}.parquet")
            write_parquet_atomic(part.truth_events, truth_dir / f"{u}_events.parquet")
            write_parquet_atomic(part.truth_episodes, truth_dir / f"{u}_episodes.parquet")
            if part.truth_surface.height:
                write_parquet_atomic(part.truth_surface, truth_dir / f"{u}_surface.parquet")
            if not p.profile(u).is_index:
                earnings.append(part.truth_events)
            if stage is not None:
                stage(u, "written", 1.0)
        events = events_table(ext, dates.size, earnings)
        rates = rates_table(dates)
        tx.write("events", events, source="synthetic events")
        tx.write("rates", rates, source="synthetic rates")
        counts["events"] = events.height
        counts["rates"] = rates.height
    return counts
