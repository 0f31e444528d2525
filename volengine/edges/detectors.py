"""The detector registry and the frame-level entry points: :func:`detect`, :func:`detect_one`, :func:`to_long`."""

from __future__ import annotations

from typing import Any

import polars as pl

from volengine.config.edges import EdgesSettings
from volengine.config.enums import EdgeType
from volengine.config.settings import Settings
from volengine.edges import event, gamma, skew, term, vrp
from volengine.edges._common import KEY_COLUMNS, SIGNAL_SCHEMA, Detector, edges_settings, prepare
from volengine.errors import ConfigError, SchemaError

#: every edge detector, in report order; contract tests iterate over it
DETECTORS: dict[EdgeType, Detector] = {
    d.name: d for d in (vrp.DETECTOR, term.DETECTOR, skew.DETECTOR, event.DETECTOR, gamma.DETECTOR)
}

#: columns of :func:`to_long` after the key
LONG_SCHEMA: dict[str, Any] = {"edge": pl.String, **{k: v for k, v in SIGNAL_SCHEMA.items() if k != "fired"}}


def get_detector(name: EdgeType | str) -> Detector:
    """The registered detector for an :class:`EdgeType`, its value (``term_structure``) or its prefix (``term``)."""
    for det in DETECTORS.values():
        if name in (det.name, det.name.value, det.prefix):
            return det
    known = ", ".join(f"{d.name.value} ({d.prefix})" for d in DETECTORS.values())
    msg = f"unknown edge detector {name!r}; known: {known}"
    raise ConfigError(msg)


def _run(features: pl.DataFrame, detectors: list[Detector], settings: Settings | EdgesSettings | None) -> pl.DataFrame:
    cfg = edges_settings(settings)
    required = [c for d in detectors for c in d.required]
    frame = prepare(features, required)
    parts = [frame.select(KEY_COLUMNS), *(d(frame, cfg) for d in detectors)]
    return pl.concat(parts, how="horizontal")


def detect(features: pl.DataFrame, settings: Settings | EdgesSettings | None = None) -> pl.DataFrame:
    """Run the five edge detectors on a per-(underlying, date) feature frame.

    Parameters
    ----------
    features : polars.DataFrame
        One row per (underlying, date), with the columns of every detector's ``REQUIRED_COLUMNS``
        (NaN or null = unavailable that day). Rows are sorted by (underlying, date) here if they are not.
    settings : Settings or EdgesSettings, optional
        Thresholds; defaults when omitted.

    Returns
    -------
    polars.DataFrame
        ``underlying``, ``date``, then for each prefix p of :data:`DETECTORS` the columns ``p_fired``,
        ``p_signal``, ``p_direction``, ``p_strength``, ``p_history_mode``, ``p_rationale`` and its metrics;
        sorted by (underlying, date). Each row depends on rows of the same underlying dated ≤ its date only.

    Raises
    ------
    SchemaError
        A required column is missing or has an unusable dtype.
    DataError
        A key is null or repeats.

    Examples
    --------
    >>> import datetime as dt
    >>> import polars as pl
    >>> from volengine.edges import REQUIRED_COLUMNS
    >>> row = {c: [None] for c in REQUIRED_COLUMNS} | {"underlying": ["SPY"], "date": [dt.date(2024, 1, 2)]}
    >>> out = detect(pl.DataFrame(row))
    >>> out.select(pl.col("^.*_fired$")).row(0)
    (False, False, False, False, False)
    """
    return _run(features, list(DETECTORS.values()), settings)


def detect_one(
    name: EdgeType | str, features: pl.DataFrame, settings: Settings | EdgesSettings | None = None
) -> pl.DataFrame:
    """Run one detector (by :class:`EdgeType`, its value or its prefix); keys plus that detector's columns.

    Only that detector's ``REQUIRED_COLUMNS`` must be present.
    """
    return _run(features, [get_detector(name)], settings)


def to_long(edges: pl.DataFrame) -> pl.DataFrame:
    """Fired signals only, one row per (underlying, date, edge).

    Parameters
    ----------
    edges : polars.DataFrame
        Output of :func:`detect` or :func:`detect_one` (detectors whose columns are absent are skipped).

    Returns
    -------
    polars.DataFrame
        ``underlying``, ``date``, ``edge`` (an :class:`EdgeType` value), ``signal``, ``direction``,
        ``strength``, ``history_mode``, ``rationale``; sorted by (underlying, date, registry order).
    """
    missing = [c for c in KEY_COLUMNS if c not in edges.columns]
    if missing:
        msg = f"edges frame is missing key column '{missing[0]}'"
        raise SchemaError(msg, column=missing[0])
    parts = []
    for order, det in enumerate(DETECTORS.values()):
        p = det.prefix
        if f"{p}_fired" not in edges.columns:
            continue
        cols = [pl.col(f"{p}_{k}").cast(v).alias(k) for k, v in LONG_SCHEMA.items() if k != "edge"]
        parts.append(
            edges.filter(pl.col(f"{p}_fired")).select(
                *KEY_COLUMNS, pl.lit(det.name.value).alias("edge"), *cols, pl.lit(order).alias("__order")
            )
        )
    if not parts:
        schema = {**edges.select(KEY_COLUMNS).schema, **LONG_SCHEMA}
        return pl.DataFrame(schema=schema)
    out = pl.concat(parts, how="vertical")
    return out.sort([*KEY_COLUMNS, "__order"], maintain_order=True).drop("__order")
