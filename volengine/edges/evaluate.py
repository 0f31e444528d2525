"""Score detector output against labelled truth: day-level precision and recall, episode-level recall.

A *day* is a row of the edges frame, i.e. a trading day of one underlying: episode windows are measured in
the days the detectors actually saw, so weekends and holidays never count as missed. Each scored detector
maps to one truth kind and the signal kinds that count as a detection (:data:`SCORING`):

* vrp (any signal) → ``vrp_rich`` episodes; term (TERM_BACKWARDATION only) → ``backwardation``;
  skew (SKEW_STEEP only) → ``steep_skew``; event → ``event_premium``. ``vrp_cheap`` has no detector;
* gamma (GAMMA_NEGATIVE) has no episodes: with a per-day ``truth`` frame it is scored against
  ``dealer_gex < 0`` on the days that have a truth value, and each run of consecutive negative days of one
  underlying is one episode.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import polars as pl

from volengine.config.enums import EdgeType, SignalKind
from volengine.edges._common import KEY_COLUMNS
from volengine.edges.detectors import DETECTORS
from volengine.errors import DataError, SchemaError


class EpisodeKind(StrEnum):
    """Kinds of labelled truth episodes (``truth_episodes.kind``)."""

    VRP_RICH = "vrp_rich"
    VRP_CHEAP = "vrp_cheap"
    BACKWARDATION = "backwardation"
    STEEP_SKEW = "steep_skew"
    EVENT_PREMIUM = "event_premium"


@dataclass(frozen=True)
class ScoringTarget:
    """What one detector is scored against.

    Parameters
    ----------
    edge : EdgeType
        The detector.
    signals : tuple of SignalKind
        Fired signals that count as a detection (others of the same detector are ignored).
    episode_kind : EpisodeKind or None
        Truth episodes of this kind, or None for a per-day truth column.
    truth_column : str or None
        Per-day truth column; a day is positive when it is < 0.
    """

    edge: EdgeType
    signals: tuple[SignalKind, ...]
    episode_kind: EpisodeKind | None = None
    truth_column: str | None = None

    @property
    def truth_label(self) -> str:
        """``episode_kind`` or ``"<truth_column> < 0"``."""
        return self.episode_kind.value if self.episode_kind is not None else f"{self.truth_column} < 0"


#: detector → truth it is scored against (read by reports and walk-forward code)
SCORING: dict[EdgeType, ScoringTarget] = {
    EdgeType.VRP: ScoringTarget(EdgeType.VRP, (SignalKind.VRP,), EpisodeKind.VRP_RICH),
    EdgeType.TERM_STRUCTURE: ScoringTarget(
        EdgeType.TERM_STRUCTURE, (SignalKind.TERM_BACKWARDATION,), EpisodeKind.BACKWARDATION
    ),
    EdgeType.SKEW_EXTREME: ScoringTarget(EdgeType.SKEW_EXTREME, (SignalKind.SKEW_STEEP,), EpisodeKind.STEEP_SKEW),
    EdgeType.EVENT_VOL: ScoringTarget(EdgeType.EVENT_VOL, (SignalKind.EVENT_VOL,), EpisodeKind.EVENT_PREMIUM),
    EdgeType.GAMMA_PRESSURE: ScoringTarget(
        EdgeType.GAMMA_PRESSURE, (SignalKind.GAMMA_NEGATIVE,), truth_column="dealer_gex"
    ),
}

#: columns of :func:`precision_recall`, one row per scored detector
EVAL_SCHEMA: dict[str, Any] = {
    "edge": pl.String,  # EdgeType value
    "signals": pl.String,  # signal kinds counted, comma-separated
    "truth": pl.String,  # episode kind, or "dealer_gex < 0"
    "fired_days": pl.Int64,  # scored days with a counted signal
    "hit_days": pl.Int64,  # fired days inside an episode (= episode days fired)
    "episode_days": pl.Int64,  # scored days inside at least one episode
    "precision": pl.Float64,  # hit_days / fired_days; null when nothing fired
    "day_recall": pl.Float64,  # hit_days / episode_days; null without episode days
    "episodes": pl.Int64,  # episodes with at least one scored day
    "episodes_hit": pl.Int64,  # ... of which at least one day fired
    "episode_recall": pl.Float64,  # episodes_hit / episodes; null without episodes
}
_EPISODE_COLUMNS = ("underlying", "kind", "start_date", "end_date")


def _require(frame: pl.DataFrame, columns: tuple[str, ...], source: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        msg = f"{source} frame is missing required column '{missing[0]}' (all missing: {', '.join(missing)})"
        raise SchemaError(msg, column=missing[0])


def _episodes(truth_episodes: pl.DataFrame) -> pl.DataFrame:
    _require(truth_episodes, _EPISODE_COLUMNS, "truth_episodes")
    ep = truth_episodes.select(
        pl.col("underlying").cast(pl.String),
        pl.col("kind").cast(pl.String),
        pl.col("start_date").cast(pl.Date),
        pl.col("end_date").cast(pl.Date),
    ).with_row_index("episode")
    known = [k.value for k in EpisodeKind]
    rows = ep.filter(~pl.col("kind").is_in(known).fill_null(False))
    if rows.height:
        r = rows.row(0, named=True)
        msg = f"truth_episodes column 'kind' must be one of {', '.join(known)}; got {r['kind']!r} at row {r['episode']}"
        raise DataError(msg, column="kind", row=int(r["episode"]), value=r["kind"])
    rows = ep.filter((pl.col("end_date") < pl.col("start_date")).fill_null(True))
    if rows.height:
        r = rows.row(0, named=True)
        msg = (
            f"truth_episodes row {r['episode']} must have start_date <= end_date (both set); "
            f"got {r['start_date']} > {r['end_date']}"
        )
        raise DataError(msg, column="end_date", row=int(r["episode"]), value=r["end_date"])
    return ep


def _episode_members(days: pl.DataFrame, episodes: pl.DataFrame, kind: EpisodeKind) -> pl.DataFrame:
    """(underlying, date, episode) for every scored day inside an episode window of ``kind``."""
    ep = episodes.filter(pl.col("kind") == kind.value).select("underlying", "episode", "start_date", "end_date")
    pairs = days.select(KEY_COLUMNS).join(ep, on="underlying", how="inner")
    inside = pl.col("date").is_between(pl.col("start_date"), pl.col("end_date"))
    return pairs.filter(inside).select(*KEY_COLUMNS, "episode")


def _truth_members(days: pl.DataFrame, truth: pl.DataFrame, column: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Scored days (those with a truth value) and runs of consecutive negative truth as episodes."""
    _require(truth, (*KEY_COLUMNS, column), "truth")
    values = truth.select(pl.col("underlying").cast(pl.String), pl.col("date").cast(pl.Date), pl.col(column))
    values = values.with_columns(pl.col(column).cast(pl.Float64).fill_nan(None)).drop_nulls(column)
    scored = days.join(values, on=list(KEY_COLUMNS), how="inner").sort(KEY_COLUMNS)
    neg = pl.col(column) < 0
    new_run = (neg != neg.shift(1)) | (pl.col("underlying") != pl.col("underlying").shift(1))
    runs = scored.with_columns(new_run.fill_null(True).cum_sum().alias("episode"))
    members = runs.filter(neg).select(*KEY_COLUMNS, "episode")
    return scored.select(*KEY_COLUMNS, "hit"), members


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def _score(target: ScoringTarget, scored: pl.DataFrame, members: pl.DataFrame) -> dict[str, Any]:
    keys = list(KEY_COLUMNS)
    in_episode = scored.join(members.select(keys), on=keys, how="semi")
    fired_days = int(scored["hit"].sum())
    episode_days = in_episode.height
    hit_days = int(in_episode["hit"].sum())
    episodes = members["episode"].n_unique()
    episodes_hit = members.join(scored.filter("hit").select(keys), on=keys, how="semi")["episode"].n_unique()
    return {
        "edge": target.edge.value,
        "signals": ",".join(s.value for s in target.signals),
        "truth": target.truth_label,
        "fired_days": fired_days,
        "hit_days": hit_days,
        "episode_days": episode_days,
        "precision": _ratio(hit_days, fired_days),
        "day_recall": _ratio(hit_days, episode_days),
        "episodes": episodes,
        "episodes_hit": episodes_hit,
        "episode_recall": _ratio(episodes_hit, episodes),
    }


def precision_recall(
    edges: pl.DataFrame, truth_episodes: pl.DataFrame, *, truth: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Day-level precision and recall and episode-level recall of each detector against labelled truth.

    Parameters
    ----------
    edges : polars.DataFrame
        Output of :func:`volengine.edges.detect` (detectors whose columns are absent are skipped); its rows
        are the scored days.
    truth_episodes : polars.DataFrame
        ``underlying``, ``kind`` (an :class:`EpisodeKind` value), ``start_date``, ``end_date`` (inclusive).
    truth : polars.DataFrame, optional
        Per-day ``underlying``, ``date``, ``dealer_gex``; without it gamma is not scored.

    Returns
    -------
    polars.DataFrame
        One row per scored detector with the columns of :data:`EVAL_SCHEMA`.

    Raises
    ------
    SchemaError
        A required column is missing.
    DataError
        An episode has an unknown kind or ends before it starts.

    Notes
    -----
    precision = hit_days / fired_days, day_recall = hit_days / episode_days, episode_recall =
    episodes_hit / episodes, where hit_days are fired days inside an episode of the detector's kind, and an
    episode counts only when it covers at least one scored day. Overlapping episodes count a day once.
    """
    _require(edges, KEY_COLUMNS, "edges")
    episodes = _episodes(truth_episodes)
    rows = []
    for target in SCORING.values():
        p = DETECTORS[target.edge].prefix
        if f"{p}_fired" not in edges.columns or f"{p}_signal" not in edges.columns:
            continue
        hit = pl.col(f"{p}_fired").fill_null(False) & pl.col(f"{p}_signal").is_in([s.value for s in target.signals])
        scored = edges.select(pl.col("underlying").cast(pl.String), "date", hit.fill_null(False).alias("hit"))
        if target.episode_kind is not None:
            members = _episode_members(scored, episodes, target.episode_kind)
        elif truth is not None and target.truth_column is not None:
            scored, members = _truth_members(scored, truth, target.truth_column)
        else:
            continue
        rows.append(_score(target, scored, members))
    return pl.DataFrame(rows, schema=EVAL_SCHEMA)
