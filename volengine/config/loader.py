"""Load settings and universe: packaged defaults, then a user YAML file, then ``VOLENGINE_*`` variables.

Environment overrides are spelled ``VOLENGINE_<SECTION>__<FIELD>[__<SUB>...]=value``: a double underscore
descends one level, names are case-insensitive, and the value is parsed as a YAML scalar or flow list
(``VOLENGINE_RISK__PER_TRADE_RISK_PCT=0.5``, ``VOLENGINE_REGIME__SIZE_MULTIPLIERS__CHOP=0.25``,
``VOLENGINE_STRESS__GAP_SCENARIOS_FRAC=[0.03, 0.06]``). Universe overrides use the prefix
``VOLENGINE_UNIVERSE__`` (``VOLENGINE_UNIVERSE__SYMBOLS__IWM__ENABLED=false``).

Every problem of one load, across all sources, is raised as one :class:`~volengine.errors.ConfigError`
with one line per problem: ``<file or env var>: section.field: message (got value)``.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import os
import re
from collections.abc import Mapping
from importlib.resources import files
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from volengine.config._base import child_type, is_mapping
from volengine.config._problems import Provenance, problem_line, validation_lines
from volengine.config._yaml import mapping_from_text, parse_yaml, read_yaml_mapping
from volengine.config.settings import Settings
from volengine.config.universe import Universe
from volengine.errors import ConfigError

M = TypeVar("M", bound=BaseModel)
Layer = tuple[str, dict[Any, Any]]

ENV_PREFIX = "VOLENGINE_"
UNIVERSE_ENV_PREFIX = "VOLENGINE_UNIVERSE__"
SECRET_ENV_VARS = (
    "POLYGON_API_KEY",
    "TRADIER_API_KEY",
    "POLYGON_S3_ACCESS_KEY_ID",
    "POLYGON_S3_SECRET_ACCESS_KEY",
)

_CREDENTIAL_KEY = re.compile(r"api[_-]?key|secret|token|passw(?:or)?d|access[_-]?key|credential", re.IGNORECASE)
_DEFAULTS_LABEL = "defaults"
_CREDENTIAL_MESSAGE = (
    "credentials are not allowed in config files or VOLENGINE_* variables; set "
    f"{', '.join(SECRET_ENV_VARS)} in the environment or put them in a secrets file "
    "(VOLENGINE_SECRETS_FILE, read by load_secrets)"
)


def deep_merge(base: Mapping[Any, Any], patch: Mapping[Any, Any]) -> dict[Any, Any]:
    """Return ``base`` updated by ``patch``, merging nested mappings key by key.

    Non-mapping values of ``patch`` (scalars, lists) replace those of ``base``. Neither input is modified.

    Examples
    --------
    >>> deep_merge({"risk": {"a": 1, "b": 2}}, {"risk": {"b": 3}})
    {'risk': {'a': 1, 'b': 3}}
    """
    out = dict(base)
    for key, value in patch.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_settings(path: str | Path | None = None, *, env: Mapping[str, str] | None = None) -> Settings:
    """Load the effective settings.

    Parameters
    ----------
    path : str or Path, optional
        A ``settings.yaml`` deep-merged over the packaged defaults; only the keys it names change.
    env : mapping of str to str, optional
        Environment to read ``VOLENGINE_<SECTION>__<FIELD>`` overrides from; ``os.environ`` when None.
        Pass ``{}`` to ignore the environment.

    Returns
    -------
    Settings
        The validated, frozen settings.

    Raises
    ------
    ConfigError
        One line per problem: missing or unreadable file, invalid YAML (with its line), unknown key, bad
        value, broken cross-field rule, or a credential placed in the file.

    Examples
    --------
    >>> load_settings(env={"VOLENGINE_RISK__PER_TRADE_RISK_PCT": "0.5"}).risk.per_trade_risk_pct
    0.5
    """
    return _load(Settings, "settings.yaml", path, env, ENV_PREFIX, skip_prefix=UNIVERSE_ENV_PREFIX)


def load_universe(path: str | Path | None = None, *, env: Mapping[str, str] | None = None) -> Universe:
    """Load the effective universe: packaged ``universe.yaml``, then ``path``, then ``VOLENGINE_UNIVERSE__*``.

    Parameters
    ----------
    path : str or Path, optional
        A ``universe.yaml`` deep-merged over the packaged one (symbols are added or overridden, never
        removed: disable one with ``enabled: false``).
    env : mapping of str to str, optional
        Environment for ``VOLENGINE_UNIVERSE__<FIELD>[__<SUB>]`` overrides; ``os.environ`` when None.

    Returns
    -------
    Universe
        The validated, frozen universe.

    Raises
    ------
    ConfigError
        As :func:`load_settings`, plus a listed event calendar file that does not exist.
    """
    universe = _load(Universe, "universe.yaml", path, env, UNIVERSE_ENV_PREFIX)
    source = str(path) if path is not None else _DEFAULTS_LABEL
    missing = [
        problem_line(source, ("events", "calendar_files", i), "file not found", str(file))
        for i, file in enumerate(universe.events.calendar_files)
        if not file.is_file()
    ]
    if missing:
        raise ConfigError(missing)
    return universe


def with_overrides(settings: M, patch: Mapping[str, Any]) -> M:
    """Return a validated copy of ``settings`` with ``patch`` deep-merged in (for sweeps).

    Unlike ``model_copy(update=...)``, every field and cross-field rule is validated again.

    Parameters
    ----------
    settings : Settings or Universe
        The base configuration; it is not modified.
    patch : mapping
        Nested overrides, e.g. ``{"risk": {"per_trade_risk_pct": 0.5}}``.

    Raises
    ------
    ConfigError
        One line per problem, each naming the source ``override``.

    Examples
    --------
    >>> s = with_overrides(Settings(), {"backtest": {"exits": {"credit": {"take_profit_pct": 65.0}}}})
    >>> s.backtest.exits.credit.take_profit_pct
    65.0
    """
    return _validate(type(settings), settings.model_dump(), [("override", dict(patch))])


def settings_fingerprint(settings: BaseModel) -> str:
    """Return the sha256 hex digest of ``settings.model_dump_json()`` (the audit config hash).

    Mapping fields are stored in a canonical order, so two files differing only in key order agree.
    """
    return hashlib.sha256(settings.model_dump_json().encode("utf-8")).hexdigest()


def _load(
    model: type[M],
    packaged_name: str,
    path: str | Path | None,
    env: Mapping[str, str] | None,
    prefix: str,
    *,
    skip_prefix: str | None = None,
) -> M:
    base = _packaged(packaged_name)
    layers: list[Layer] = []
    problems: list[str] = []
    if path is not None:
        data, problems = read_yaml_mapping(path)
        layers.append((str(path), data))
    merged = deep_merge(base, layers[0][1]) if layers else base
    env_layers, env_problems = _env_layers(os.environ if env is None else env, prefix, skip_prefix, model, merged)
    problems += env_problems
    if problems:
        raise ConfigError(problems)
    return _validate(model, base, layers + env_layers)


def _validate(model: type[M], base: Mapping[Any, Any], layers: list[Layer]) -> M:
    provenance = Provenance(_DEFAULTS_LABEL)
    problems: list[str] = []
    merged = dict(base)
    for label, data in layers:
        clean = _drop_credentials(data, label, (), problems)
        merged = deep_merge(merged, clean)
        provenance.record(label, clean)
    try:
        result = model.model_validate(merged)
    except ValidationError as exc:
        problems += validation_lines(exc, provenance, model=model)
        raise ConfigError(problems) from None
    if problems:
        raise ConfigError(problems)
    return result


def _packaged(name: str) -> dict[Any, Any]:
    return copy.deepcopy(_parsed_packaged(name))


@functools.cache
def _parsed_packaged(name: str) -> dict[Any, Any]:
    text = files("volengine.config").joinpath(name).read_text(encoding="utf-8")
    data, problems = mapping_from_text(text, f"volengine/config/{name} (packaged)")
    if problems:  # a packaging bug, caught by the tests
        raise ConfigError(problems)
    return data


def _drop_credentials(
    data: Mapping[Any, Any], label: str, prefix: tuple[Any, ...], problems: list[str]
) -> dict[Any, Any]:
    """Copy ``data`` without credential-like keys, adding a problem (without the value) for each."""
    clean: dict[Any, Any] = {}
    for key, value in data.items():
        path = (*prefix, key)
        if isinstance(key, str) and _CREDENTIAL_KEY.search(key):
            problems.append(problem_line(label, path, _CREDENTIAL_MESSAGE))
        elif isinstance(value, Mapping):
            clean[key] = _drop_credentials(value, label, path, problems)
        else:
            clean[key] = value
    return clean


def _env_layers(
    env: Mapping[str, str],
    prefix: str,
    skip_prefix: str | None,
    model: type[BaseModel],
    base: Mapping[Any, Any],
) -> tuple[list[Layer], list[str]]:
    """Turn ``<prefix>A__B__C=value`` variables into one layer each, in name order (deeper names last)."""
    layers: list[Layer] = []
    problems: list[str] = []
    for name in sorted(env):
        if not name.startswith(prefix) or (skip_prefix and name.startswith(skip_prefix)):
            continue
        rest = name[len(prefix) :]
        if prefix == ENV_PREFIX and "__" not in rest:
            continue  # VOLENGINE_SECRETS_FILE and other plain variables are not overrides
        segments = rest.split("__")
        if not all(segments):
            problems.append(f"{name}: malformed override name; use {prefix}<SECTION>__<FIELD>[__<SUB>]")
            continue
        path = _resolve_env_path(model, base, segments)
        if any(isinstance(key, str) and _CREDENTIAL_KEY.search(key) for key in path):
            problems.append(problem_line(name, path, _CREDENTIAL_MESSAGE))
            continue
        value, parse_problems = parse_yaml(env[name], name)
        if parse_problems:
            problems.extend(f"{line} (got {env[name]!r})" for line in parse_problems)
            continue
        for key in reversed(path):
            value = {key: value}
        layers.append((name, value))
    return layers, problems


def _resolve_env_path(model: type[BaseModel], base: Mapping[Any, Any], segments: list[str]) -> tuple[str, ...]:
    """Map upper-case env segments onto the real keys: field names, or existing mapping keys."""
    node_type: Any = model
    node_data: Any = base
    path: list[str] = []
    for segment in segments:
        if is_mapping(node_type):  # keys such as CHOP, SPY or vrp: match an existing key, else keep as typed
            existing = node_data if isinstance(node_data, Mapping) else {}
            key = next((str(k) for k in existing if str(k).lower() == segment.lower()), segment)
        else:  # field names are lower case
            key = segment.lower()
        path.append(key)
        node_type = child_type(node_type, key)
        node_data = node_data.get(key) if isinstance(node_data, Mapping) else None
    return tuple(path)


__all__ = [
    "ENV_PREFIX",
    "SECRET_ENV_VARS",
    "UNIVERSE_ENV_PREFIX",
    "deep_merge",
    "load_settings",
    "load_universe",
    "settings_fingerprint",
    "with_overrides",
]
