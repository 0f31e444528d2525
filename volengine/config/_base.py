"""Shared pieces of the config models: the base class, strict scalar types, cross-field problems.

Unit suffixes used in field names: ``_pct`` percent (1.0 = 1 %), ``_frac`` fraction (0.01 = 1 %), ``_days``
calendar or trading days as described, ``_bars`` bars, ``_usd`` dollars, ``_points`` option or index
points (per share), ``_vol_points`` implied-vol points (5 = 0.05), ``_score`` regime score points,
``_percentile`` 0–100, ``_strength`` edge strength in [0, 1], ``_quality_points`` points of the 0–100 quality
score. Bare ``iv``/``rv`` names are annualized volatilities as decimals (0.20 = 20 vol), the project convention.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from types import NoneType, UnionType
from typing import Annotated, Any, NoReturn, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, StringConstraints
from pydantic_core import PydanticCustomError

#: A ticker symbol as written in settings and universe files: upper case, e.g. ``SPY`` or ``BRK.B``.
Symbol = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9.]{0,9}$")]

E = TypeVar("E", bound=Enum)
K = TypeVar("K")
V = TypeVar("V")


class ConfigModel(BaseModel):
    """Base of every config model: unknown keys are errors, instances are immutable, defaults validated."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


@dataclass(frozen=True)
class Problem:
    """One cross-field rule broken inside a model.

    Parameters
    ----------
    field : str or tuple of str
        Dotted path of the offending field, relative to the model that checks it (a tuple when a key
        itself contains a dot, such as the symbol ``BRK.B``).
    message : str
        The constraint, phrased to follow the field name ("must be <= total_risk_pct (10.0)").
    got : object
        The value received.
    related : tuple of str
        Other fields the rule reads; the loader uses them to name the file that set the values.
    """

    field: str | tuple[str, ...]
    message: str
    got: Any
    related: tuple[str, ...] = ()

    @property
    def path(self) -> tuple[str, ...]:
        """The field path as a tuple of keys."""
        return self.field if isinstance(self.field, tuple) else tuple(self.field.split("."))


def raise_problems(problems: Sequence[Problem]) -> None:
    """Raise one pydantic error carrying every problem, or nothing when the list is empty.

    The loader expands the error into one line per problem; a direct ``Model(...)`` call still gets a
    readable ``ValidationError`` listing them all.
    """
    if problems:
        summary = "; ".join(f"{'.'.join(p.path)}: {p.message} (got {p.got!r})" for p in problems)
        kind = "cross_field"
        raise PydanticCustomError(kind, summary, {"problems": tuple(problems)})


def check_order(model: BaseModel, names: Sequence[str], *, strict: bool, problems: list[Problem]) -> None:
    """Append a problem for each adjacent pair of fields that is out of order.

    ``strict=True`` requires ``a < b``; otherwise ``a <= b``. ``None`` values are skipped.
    """
    op = "<" if strict else "<="
    values = [(name, getattr(model, name)) for name in names]
    present = [(n, v) for n, v in values if v is not None]
    for (name_a, a), (name_b, b) in itertools.pairwise(present):
        if (a >= b) if strict else (a > b):
            problems.append(Problem(name_a, f"must be {op} {name_b} ({b})", a, (name_b,)))


def check_increasing(name: str, values: Sequence[float], problems: list[Problem]) -> None:
    """Append a problem when ``values`` is not strictly increasing."""
    if any(b <= a for a, b in itertools.pairwise(values)):
        problems.append(Problem(name, "must be strictly increasing", list(values)))


def check_complete(name: str, keys: Iterable[Any], members: Iterable[E], problems: list[Problem]) -> None:
    """Append a problem when a mapping keyed by an enum lacks some members."""
    present = set(keys)
    missing = [str(m) for m in members if m not in present]
    if missing:
        problems.append(Problem(name, f"missing keys {', '.join(missing)}", sorted(str(k) for k in present)))


def check_grade_ladder(name: str, cutoffs: Mapping[E, float], floor: E, problems: list[Problem]) -> None:
    """Append problems unless ``cutoffs`` gives every grade above ``floor`` a minimum, best grade highest.

    ``cutoffs`` maps each grade of ``floor``'s enum except ``floor`` itself to the lowest value that earns it;
    the values must fall strictly in the enum's declaration order (best grade first).
    """
    grades = [g for g in type(floor) if g is not floor]
    if floor in cutoffs:
        problems.append(Problem(f"{name}.{floor}", "is the floor grade and takes no cut-off", cutoffs[floor]))
    check_complete(name, cutoffs, grades, problems)
    present = [(g, cutoffs[g]) for g in grades if g in cutoffs]
    for (better, high), (grade, low) in itertools.pairwise(present):
        if low >= high:
            problems.append(Problem(f"{name}.{grade}", f"must be < the {better} cut-off ({high})", low))


class FrozenDict(dict[K, V]):
    """A ``dict`` that refuses changes: mapping fields stay as validated inside frozen models.

    It still pickles and deep-copies (sweeps ship settings to worker processes).
    """

    def _refuse(self, *args: Any, **kwargs: Any) -> NoReturn:
        msg = "config mappings are read-only; derive a new config with with_overrides()"
        raise TypeError(msg)

    __setitem__ = __delitem__ = __ior__ = _refuse  # type: ignore[assignment]
    clear = pop = popitem = setdefault = update = _refuse  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (dict(self),))


def enum_ordered(mapping: Mapping[E, V], enum: type[E]) -> FrozenDict[E, V]:
    """Return ``mapping`` read-only and in enum declaration order, so dumps and fingerprints are canonical."""
    return FrozenDict({member: mapping[member] for member in enum if member in mapping})


def key_ordered(mapping: Mapping[str, V]) -> FrozenDict[str, V]:
    """Return ``mapping`` read-only and sorted by key, so dumps and fingerprints ignore file order."""
    return FrozenDict(sorted(mapping.items()))


def unwrap(annotation: Any) -> Any:
    """Strip ``Annotated[...]`` and ``X | None`` from a type annotation."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, UnionType):
            members = [a for a in get_args(annotation) if a is not NoneType]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


def is_model(annotation: Any) -> bool:
    """Return True when ``annotation`` is a pydantic model class."""
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def is_mapping(annotation: Any) -> bool:
    """Return True when ``annotation`` is a ``dict[K, V]`` type."""
    return get_origin(unwrap(annotation)) is dict


def child_type(annotation: Any, key: Any) -> Any:
    """Return the type found under ``key`` of a value typed ``annotation``, or None if unknown.

    ``annotation`` is a model class (``key`` names a field) or a ``dict[K, V]`` (any key gives ``V``).
    """
    annotation = unwrap(annotation)
    if is_model(annotation):
        field = annotation.model_fields.get(key)
        return None if field is None else unwrap(field.annotation)
    if get_origin(annotation) is dict:
        return unwrap(get_args(annotation)[1])
    return None
