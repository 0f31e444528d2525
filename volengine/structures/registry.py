"""The registry of structure builders: one :class:`StructureSpec` per buildable :class:`StructureChoice`.

A spec names the kernel's structure kind, its legs and the :class:`~volengine.config.StrikeSettings` fields
that give its defaults (preferred width, offset k, target delta). Contract tests iterate over
:data:`BUILDERS`, so a new structure is tested as soon as it is registered here.
"""

from __future__ import annotations

from dataclasses import dataclass

from volengine.config.enums import StructureChoice, StructureType
from volengine.kernels.structures import Kind


@dataclass(frozen=True)
class StructureSpec:
    """How one structure choice is built.

    Attributes
    ----------
    choice : StructureChoice
        The edge-map value.
    kind : Kind
        The kernel's structure kind.
    legs : str
        The legs in output order (seed-spec §2.7 notation).
    is_credit : bool
        True when the entry must be a credit (> 0), False when a debit.
    width_setting, offset_setting, delta_setting : str or None
        ``StrikeSettings`` fields of the default preferred width, offset k (None = 0: the body at ATM or at the
        requested centre) and target abs(delta) (None: delta mode places the body like offset mode).
    """

    choice: StructureChoice
    kind: Kind
    legs: str
    is_credit: bool
    width_setting: str | None
    offset_setting: str | None
    delta_setting: str | None

    @property
    def structure_type(self) -> StructureType:
        """The structure family."""
        return self.choice.structure_type

    @property
    def n_legs(self) -> int:
        """Number of legs."""
        return len(self.legs.split(", "))


_C = StructureChoice
_SPECS = (
    StructureSpec(_C.PUT_CREDIT_SPREAD, Kind.PUT_CREDIT, "-1 P(Ks), +1 P(Ks - w)", True,
                  "credit_spread_width_points", "credit_spread_offset_widths", "credit_spread_short_delta_abs"),
    StructureSpec(_C.CALL_CREDIT_SPREAD, Kind.CALL_CREDIT, "-1 C(Ks), +1 C(Ks + w)", True,
                  "credit_spread_width_points", "credit_spread_offset_widths", "credit_spread_short_delta_abs"),
    StructureSpec(_C.PUT_DEBIT_SPREAD, Kind.PUT_DEBIT, "+1 P(Kl), -1 P(Kl - w)", False,
                  "preferred_width_points", "debit_spread_offset_widths", "debit_spread_long_delta_abs"),
    StructureSpec(_C.CALL_DEBIT_SPREAD, Kind.CALL_DEBIT, "+1 C(Kl), -1 C(Kl + w)", False,
                  "preferred_width_points", "debit_spread_offset_widths", "debit_spread_long_delta_abs"),
    StructureSpec(_C.IRON_CONDOR, Kind.IRON_CONDOR, "+1 P(Kp - w), -1 P(Kp), -1 C(Kc), +1 C(Kc + w)", True,
                  "iron_condor_wing_width_points", "iron_condor_offset_widths", "iron_condor_short_delta_abs"),
    StructureSpec(_C.IRON_BUTTERFLY, Kind.IRON_BUTTERFLY, "+1 P(K - w), -1 P(K), -1 C(K), +1 C(K + w)", True,
                  "butterfly_wing_width_points", None, None),
    StructureSpec(_C.CALL_BUTTERFLY, Kind.CALL_BUTTERFLY, "+1 C(K - w), -2 C(K), +1 C(K + w)", False,
                  "butterfly_wing_width_points", None, None),
    StructureSpec(_C.PUT_BUTTERFLY, Kind.PUT_BUTTERFLY, "+1 P(K - w), -2 P(K), +1 P(K + w)", False,
                  "butterfly_wing_width_points", None, None),
    StructureSpec(_C.CALENDAR, Kind.CALENDAR, "-1 front(K), +1 back(K)", False, None, None, None),
    StructureSpec(_C.DIAGONAL, Kind.DIAGONAL, "-1 front(Ks), +1 back(Ks -/+ w)", False,
                  "diagonal_width_points", "diagonal_offset_widths", "diagonal_short_delta_abs"),
)  # fmt: skip
#: every buildable choice
BUILDERS: dict[StructureChoice, StructureSpec] = {spec.choice: spec for spec in _SPECS}

#: choices that are recognised but never built (UNSUPPORTED_EDGE rows)
UNSUPPORTED = {"none": "choice 'none' is not traded"}
