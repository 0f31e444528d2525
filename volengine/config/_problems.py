"""Turn pydantic validation errors into ``ConfigError`` lines: ``source: section.field: message (got value)``.

The source is the file or environment variable that set the value; :class:`Provenance` remembers which
layer set each path while the loader merges them.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from enum import Enum
from typing import Any

from pydantic import ValidationError

from volengine.config._base import Problem, child_type, is_model

Path = tuple[Any, ...]

_MAX_VALUE_CHARS = 80
_NO_VALUE = object()


class Provenance:
    """Which source (file path or env var name) set each key path of a merged config.

    Parameters
    ----------
    default : str
        Label of values no layer set (the model defaults or the packaged file).
    """

    def __init__(self, default: str) -> None:
        self.default = default
        self._labels: list[str] = []
        self._by_path: dict[Path, int] = {}

    def record(self, label: str, data: Mapping[Any, Any]) -> None:
        """Note that ``label`` set every leaf of ``data`` (later layers win)."""
        if label not in self._labels:
            self._labels.append(label)
        index = self._labels.index(label)
        for path in _leaf_paths(data, ()):
            self._by_path[path] = index

    def label_for(self, paths: Iterable[Path]) -> str:
        """Name the sources of ``paths``: the layer that set each, its prefix, or something below it."""
        found: set[int] = set()
        for path in paths:
            hits = [self._by_path[path[:n]] for n in range(len(path), 0, -1) if path[:n] in self._by_path]
            if hits:
                found.add(hits[0])
            else:
                found.update(i for p, i in self._by_path.items() if p[: len(path)] == path)
        return ", ".join(self._labels[i] for i in sorted(found)) or self.default


def _leaf_paths(data: Mapping[Any, Any], prefix: Path) -> Iterable[Path]:
    if not data:
        yield prefix
    for key, value in data.items():
        if isinstance(value, Mapping) and value:
            yield from _leaf_paths(value, (*prefix, key))
        else:
            yield (*prefix, key)


def dotted(path: Sequence[Any]) -> str:
    """Format a key path as ``section.field[0].sub``."""
    out = ""
    for key in path:
        if isinstance(key, int) and not isinstance(key, bool):
            out += f"[{key}]"
        else:
            out += f".{key}" if out else str(key)
    return out


def format_value(value: Any) -> str:
    """Short ``repr`` of a received value, enums by their value."""
    if isinstance(value, Enum):
        value = value.value
    text = repr(value)
    return text if len(text) <= _MAX_VALUE_CHARS else text[: _MAX_VALUE_CHARS - 3] + "..."


def problem_line(source: str, path: Sequence[Any], message: str, got: Any = _NO_VALUE) -> str:
    """One ``ConfigError`` line; ``got`` is left out when not given (redacted or missing)."""
    where = dotted(path)
    line = f"{source}: {where}: {message}" if where else f"{source}: {message}"
    return line if got is _NO_VALUE else f"{line} (got {format_value(got)})"


def validation_lines(
    exc: ValidationError,
    provenance: Provenance,
    *,
    model: Any = None,
    redact: bool = False,
) -> list[str]:
    """Return one line per problem in ``exc``.

    Parameters
    ----------
    exc : ValidationError
        The error raised by ``model.model_validate``.
    provenance : Provenance
        Sources of the merged input.
    model : type, optional
        The validated model class; used to suggest valid keys for an unknown one.
    redact : bool
        Leave every received value out (secrets).
    """
    lines: list[str] = []
    for error in exc.errors(include_url=False):
        loc: Path = tuple(error["loc"])
        if error["type"] == "cross_field":
            for problem in error["ctx"]["problems"]:
                lines.append(_cross_field_line(loc, problem, provenance, redact=redact))
            continue
        is_key = bool(loc) and loc[-1] == "[key]"
        if is_key:
            loc = loc[:-1]
        message = _message(error, loc, model, is_key=is_key)
        got = _NO_VALUE if redact or error["type"] == "missing" else error.get("input")
        lines.append(problem_line(provenance.label_for([loc]), loc, message, got))
    return lines


def _cross_field_line(loc: Path, problem: Problem, provenance: Provenance, *, redact: bool) -> str:
    path = (*loc, *problem.path)
    related = [(*loc, *name.split(".")) for name in problem.related]
    source = provenance.label_for([path, *related])
    return problem_line(source, path, problem.message, _NO_VALUE if redact else problem.got)


def _message(error: Mapping[str, Any], loc: Path, model: Any, *, is_key: bool) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return _unknown_key_message(loc, model)
    if kind == "missing":
        return "required key is missing"
    message = str(error["msg"]).removeprefix("Value error, ")
    message = message[:1].lower() + message[1:]
    return f"invalid key: {message}" if is_key else message


def _unknown_key_message(loc: Path, model: Any) -> str:
    key = loc[-1] if loc else "?"
    message = f"unknown key {str(key)!r}"
    parent = model
    for part in loc[:-1]:
        parent = child_type(parent, part)
    if not is_model(parent):
        return message
    valid = list(parent.model_fields)
    close = difflib.get_close_matches(str(key), valid, n=1)
    if close:
        return f"{message} (did you mean {close[0]!r}?)"
    return f"{message}; valid keys: {', '.join(valid)}"
