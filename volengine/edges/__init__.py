"""Edge detectors: five vectorised rules over a per-(underlying, date) feature frame (seed-spec §2.5).

* :func:`detect` runs every detector of :data:`DETECTORS` and returns one wide row per (underlying, date):
  ``{p}_fired``, ``{p}_signal``, ``{p}_direction``, ``{p}_strength``, ``{p}_history_mode``, ``{p}_rationale``
  and the metrics behind each rule, for p in ``vrp``, ``term``, ``skew``, ``event``, ``gamma``;
* :func:`detect_one` runs one detector; :func:`to_long` keeps fired signals, one row per edge;
* :func:`precision_recall` scores fired days against labelled truth episodes.

Every threshold comes from :class:`~volengine.config.edges.EdgesSettings`; every percentile is
:func:`volengine.kernels.trailing_percentile` within one underlying, so a row depends on rows dated ≤ it only.
"""

from __future__ import annotations

from volengine.edges._common import KEY_COLUMNS, SIGNAL_SCHEMA, Detector
from volengine.edges.detectors import DETECTORS, LONG_SCHEMA, detect, detect_one, get_detector, to_long
from volengine.edges.evaluate import EVAL_SCHEMA, SCORING, EpisodeKind, ScoringTarget, precision_recall

#: every feature column read by any detector
REQUIRED_COLUMNS: tuple[str, ...] = tuple(dict.fromkeys(c for d in DETECTORS.values() for c in d.required))

__all__ = [
    "DETECTORS",
    "EVAL_SCHEMA",
    "KEY_COLUMNS",
    "LONG_SCHEMA",
    "REQUIRED_COLUMNS",
    "SCORING",
    "SIGNAL_SCHEMA",
    "Detector",
    "EpisodeKind",
    "ScoringTarget",
    "detect",
    "detect_one",
    "get_detector",
    "precision_recall",
    "to_long",
]
