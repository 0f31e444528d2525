"""Strict YAML reading for config files: duplicate keys are errors, ``1e3`` is a float, errors carry lines.

Error lines name the file, line and column and the parser's problem, never the offending text, so a
secrets file cannot leak through a syntax error.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError

_MERGE_TAG = "tag:yaml.org,2002:merge"


# libyaml's parser when present (about 10x faster); construction and resolvers stay in Python either way
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class StrictLoader(_SafeLoader):  # type: ignore[misc,valid-type]
    """``SafeLoader`` that rejects duplicate mapping keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:  # noqa: FBT001 - PyYAML API
        """Build a mapping, raising on a key given twice (PyYAML silently keeps the last one)."""
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                is_duplicate = key in seen
            except TypeError:  # unhashable key: SafeLoader reports it below
                continue
            if is_duplicate:
                context = "while constructing a mapping"
                raise ConstructorError(context, node.start_mark, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


# YAML 1.1 wants a dot in a float ("1.0e3"); people write 1e3 and 2e-2
StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def parse_yaml(text: str, label: str) -> tuple[Any, list[str]]:
    """Parse YAML ``text``; return ``(value, problems)`` with problems as ``label: line N, ...`` lines."""
    try:
        return yaml.load(text, Loader=StrictLoader), []
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "cannot parse"
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        return None, [f"{label}: {where}invalid YAML: {problem}"]
    except yaml.reader.ReaderError as exc:
        return None, [f"{label}: invalid YAML: unacceptable character #x{exc.character:04x}"]
    except yaml.YAMLError:
        return None, [f"{label}: invalid YAML"]


def read_yaml_mapping(path: str | Path) -> tuple[dict[Any, Any], list[str]]:
    """Read a YAML file whose top level is a mapping (an empty file is an empty mapping).

    Returns
    -------
    tuple of (dict, list of str)
        The mapping (empty on failure) and the problem lines (missing, unreadable, invalid, not a mapping).
    """
    label = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}, [f"{label}: file not found"]
    except IsADirectoryError:
        return {}, [f"{label}: is a directory, not a YAML file"]
    except UnicodeDecodeError as exc:
        return {}, [f"{label}: not UTF-8 text (byte offset {exc.start})"]
    except OSError as exc:
        return {}, [f"{label}: cannot read ({exc.strerror})"]
    return mapping_from_text(text, label)


def mapping_from_text(text: str, label: str) -> tuple[dict[Any, Any], list[str]]:
    """Parse ``text`` as a top-level YAML mapping; see :func:`read_yaml_mapping`."""
    data, problems = parse_yaml(text, label)
    if problems:
        return {}, problems
    if data is None:
        return {}, []
    if not isinstance(data, dict):
        return {}, [f"{label}: top level must be a mapping of sections (got a {type(data).__name__})"]
    return data, []
