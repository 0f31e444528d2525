"""Regime engine (seed-spec §2.4): features from bars and a vol index, the score table, the decision, hysteresis.

Public API (stable names; other packages call them):

* :data:`REGIME_STATES`, :data:`RegimeDtype`: the values of the ``regime`` column (``WARMUP`` + 5 regimes);
* :func:`regime_features`: every feature per bar, from data dated <= that bar;
* :func:`classify`: regime, confidence, rationale, scores, raw winner, change flag and features per bar;
* :func:`classify_features`, :func:`scoring_rules`, :func:`feature_names`: the pieces, for tests and reports;
* :mod:`volengine.regime.evaluate`: :func:`confusion`, :func:`balanced_accuracy`, :func:`transition_counts`.
"""

from __future__ import annotations

from volengine.regime.classify import (
    REGIME_STATES,
    SCORE_COLUMNS,
    RegimeDtype,
    Rule,
    classify,
    classify_features,
    scoring_rules,
)
from volengine.regime.evaluate import balanced_accuracy, confusion, transition_counts
from volengine.regime.features import FeatureNames, VixSource, feature_names, regime_features

__all__ = [
    "REGIME_STATES",
    "SCORE_COLUMNS",
    "FeatureNames",
    "RegimeDtype",
    "Rule",
    "VixSource",
    "balanced_accuracy",
    "classify",
    "classify_features",
    "confusion",
    "feature_names",
    "regime_features",
    "scoring_rules",
    "transition_counts",
]
