"""The one exception hierarchy of VolEngine.

Every error a user can cause by input (a file, a config value, an array passed to a kernel wrapper) is a
:class:`VolEngineError`. Messages follow one grammar: what, where, the constraint, the value received.
"""

from __future__ import annotations

from typing import Any


class VolEngineError(Exception):
    """Base class of every error VolEngine raises on purpose."""


class ConfigError(VolEngineError, ValueError):
    """Invalid settings or universe configuration.

    ``problems`` holds one line per problem, each ``file: section.field: message (got value)``.
    """

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class DataError(VolEngineError, ValueError):
    """A market-data file or frame violates its schema or domain rules."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        column: str | None = None,
        row: int | None = None,
        value: Any = None,
    ) -> None:
        self.path = path
        self.column = column
        self.row = row
        self.value = value
        super().__init__(message)


class SchemaError(DataError):
    """Missing or mistyped columns."""


class KernelInputError(VolEngineError, ValueError):
    """Arrays passed to a public kernel wrapper cannot be used (shape, dtype, ``out`` buffer)."""


class StoreError(VolEngineError):
    """The store cannot do what was asked: a closed transaction, an unreadable manifest, an I/O failure."""


class StoreLockError(StoreError, TimeoutError):
    """Another writer holds the store's lock for longer than the timeout."""
