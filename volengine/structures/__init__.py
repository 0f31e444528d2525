"""Defined-risk structure builders (seed-spec §2.7, §2.8), vectorised over whole chain histories.

* :func:`build_structures`: one structure per request row (any number of underlyings and days) from the
  per-contract analytics frame → ``(structures, legs)``;
* :data:`BUILDERS`: the registry of buildable :class:`~volengine.config.StructureChoice` values;
* :func:`payoff_extremes`, :func:`expiry_payoff`, :func:`calendar_model`: expiry payoff tools;
* the column schemas of requests, structures and legs.
"""

from __future__ import annotations

from volengine.kernels.structures import BuildStatus, FailDetail
from volengine.structures.builders import build_structures, chain_book
from volengine.structures.payoff import PayoffStatus, calendar_model, expiry_payoff, payoff_extremes
from volengine.structures.registry import BUILDERS, UNSUPPORTED, StructureSpec
from volengine.structures.requests import prepare_requests, resolve_liquidity
from volengine.structures.schema import LEG_SCHEMA, OVERRIDE_SCHEMA, REQUEST_SCHEMA, STRUCTURE_SCHEMA

__all__ = [
    "BUILDERS",
    "LEG_SCHEMA",
    "OVERRIDE_SCHEMA",
    "REQUEST_SCHEMA",
    "STRUCTURE_SCHEMA",
    "UNSUPPORTED",
    "BuildStatus",
    "FailDetail",
    "PayoffStatus",
    "StructureSpec",
    "build_structures",
    "calendar_model",
    "chain_book",
    "expiry_payoff",
    "payoff_extremes",
    "prepare_requests",
    "resolve_liquidity",
]
