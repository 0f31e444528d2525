"""Structure requests: schema and domain checks, then every default resolved into one kernel parameter matrix.

Defaults come from ``settings.structures`` (strike mode, widths, offsets k, delta targets, expiry window,
substitution cap, validation gate), the liquidity set (see :func:`resolve_liquidity`), and, for calendars,
``settings.edges.term_structure`` (the front is the first expiry with DTE >= ``calendar_front_min_dte_days``,
the back the first with DTE >= front + ``calendar_back_gap_days``; both within the expiry window's maximum).
A request column of :data:`~volengine.structures.schema.OVERRIDE_SCHEMA` overrides its default where not null.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from volengine.config import LiquiditySettings, Settings, StrikeMode, StructureChoice, TradingMode
from volengine.errors import DataError, SchemaError
from volengine.kernels.structures import N_PARAMS, PARAM_FIELDS, BuildStatus, FailDetail, Kind
from volengine.structures.registry import BUILDERS, UNSUPPORTED
from volengine.structures.schema import OVERRIDE_SCHEMA, REQUEST_SCHEMA

Liquidity = LiquiditySettings | Mapping[str, LiquiditySettings] | None


@dataclass(frozen=True)
class RequestBatch:
    """Requests ready for the kernel.

    Attributes
    ----------
    frame : polars.DataFrame
        ``request_id, underlying, date, choice, structure_type, strike_mode`` (resolved, text) plus the other
        resolved parameters (one column per :data:`~volengine.kernels.structures.PARAM_FIELDS` name), in
        request order.
    kind : ndarray of int8
        Kernel structure kind; ``Kind.SKIP`` for rows whose outcome is already known.
    params : ndarray of shape (n, N_PARAMS)
        The parameter matrix.
    status, detail : ndarray of int8
        Outcome of the SKIP rows (``BuildStatus``, ``FailDetail``).
    """

    frame: pl.DataFrame
    kind: np.ndarray[Any, Any]
    params: np.ndarray[Any, Any]
    status: np.ndarray[Any, Any]
    detail: np.ndarray[Any, Any]


def resolve_liquidity(settings: Settings, liquidity: Liquidity, underlyings: list[str]) -> dict[str, LiquiditySettings]:
    """The liquidity set of each underlying.

    ``None`` takes ``structures.paper_liquidity`` in paper mode, else ``structures.liquidity``; one
    :class:`LiquiditySettings` applies to all; a mapping (e.g. ``resolve_symbol(...).liquidity`` per symbol,
    keys case-insensitive) applies per underlying, the mode's set to the rest.
    """
    st = settings.structures
    base = st.paper_liquidity if settings.account.mode is TradingMode.PAPER else st.liquidity
    if isinstance(liquidity, LiquiditySettings):
        return dict.fromkeys(underlyings, liquidity)
    given = {str(k).strip().upper(): v for k, v in (liquidity or {}).items()}
    return {u: given.get(u.strip().upper(), base) for u in underlyings}


def _cast(requests: pl.DataFrame) -> pl.DataFrame:
    missing = [c for c in REQUEST_SCHEMA if c not in requests.columns]
    if missing:
        msg = f"structure requests are missing required column(s) {missing}; got {requests.columns}"
        raise SchemaError(msg)
    exprs = []
    for name, dtype in {**REQUEST_SCHEMA, **OVERRIDE_SCHEMA}.items():
        if name not in requests.columns:
            exprs.append(pl.lit(None, dtype=dtype).alias(name))
            continue
        src = requests.schema[name]
        if dtype == pl.Date and isinstance(src, pl.Datetime):
            exprs.append(pl.col(name).dt.date())
        elif dtype == pl.String and not isinstance(src, (pl.String, pl.Categorical, pl.Enum, pl.Null)):
            msg = f"structure request column '{name}' must be text; got dtype {src}"
            raise SchemaError(msg, column=name)
        else:
            exprs.append(pl.col(name).cast(dtype, strict=True))
    try:
        return requests.select(exprs)
    except (pl.exceptions.InvalidOperationError, pl.exceptions.ComputeError) as exc:
        msg = f"structure requests cannot be cast to {REQUEST_SCHEMA | OVERRIDE_SCHEMA}: {exc}"
        raise SchemaError(msg) from exc


def _first_bad(frame: pl.DataFrame, bad: pl.Expr, column: str, constraint: str) -> None:
    hit = frame.with_row_index("_row").filter(bad.fill_null(False))
    if hit.height:
        row, value = int(hit["_row"][0]), hit[column][0]
        msg = f"structure request column '{column}' {constraint}; got {value!r} at row {row}"
        raise DataError(msg, column=column, row=row, value=value)


def _check(frame: pl.DataFrame) -> None:
    for name in REQUEST_SCHEMA:
        _first_bad(frame, pl.col(name).is_null(), name, "must not be null")
    _first_bad(frame, pl.col("request_id").is_duplicated(), "request_id", "must be unique")
    known = [c.value for c in StructureChoice] + list(UNSUPPORTED)
    _first_bad(frame, ~pl.col("choice").is_in(known), "choice", f"must be one of {known}")
    _first_bad(frame, ~pl.col("strike_mode").is_in([m.value for m in StrikeMode]), "strike_mode",
               "must be 'offset' or 'delta'")  # fmt: skip
    _first_bad(frame, ~pl.col("right").is_in(["C", "P"]), "right", "must be 'C' or 'P'")
    positive = ("width_points", "center_strike")
    for name in positive:
        _first_bad(frame, ~(pl.col(name) > 0), name, "must be > 0")
    _first_bad(frame, ~((pl.col("short_delta_abs") > 0) & (pl.col("short_delta_abs") < 1)), "short_delta_abs",
               "must lie in (0, 1)")  # fmt: skip
    for name in ("offset_widths", "target_dte_days", "min_dte_days", "max_dte_days", "front_min_dte_days"):
        _first_bad(frame, pl.col(name) < 0, name, "must be >= 0")
    _first_bad(frame, pl.col("back_gap_days") < 1, "back_gap_days", "must be >= 1")


def _by_choice(values: dict[str, float | None], name: str) -> pl.Expr:
    mapping = {choice: (np.nan if v is None else float(v)) for choice, v in values.items()}
    return pl.col("choice").replace_strict(mapping, default=np.nan, return_dtype=pl.Float64).alias(name)


def prepare_requests(requests: pl.DataFrame, settings: Settings, liquidity: Liquidity = None) -> RequestBatch:
    """Check the requests and resolve every parameter (see the module notes).

    Raises
    ------
    SchemaError
        A required column is missing or a column cannot be cast to its dtype.
    DataError
        A null key, a duplicate ``request_id``, an unknown choice or strike mode, or an override out of its
        domain (named with column, row and value).
    """
    frame = _cast(requests)
    _check(frame)
    st = settings.structures
    strikes, expiry, val = st.strikes, st.expiry, st.validation
    term = settings.edges.term_structure
    widths = {c.value: getattr(strikes, s.width_setting) if s.width_setting else None for c, s in BUILDERS.items()}
    offsets = {c.value: getattr(strikes, s.offset_setting) if s.offset_setting else 0.0 for c, s in BUILDERS.items()}
    deltas = {c.value: getattr(strikes, s.delta_setting) if s.delta_setting else None for c, s in BUILDERS.items()}
    underlyings = frame["underlying"].unique().to_list()
    liq = resolve_liquidity(settings, liquidity, underlyings)

    def per_underlying(field: str, scale: float = 1.0) -> pl.Expr:
        mapping = {u: float(getattr(s, field)) * scale for u, s in liq.items()}
        return pl.col("underlying").replace_strict(mapping, return_dtype=pl.Float64)

    nan = pl.lit(np.nan, dtype=pl.Float64)
    loss_cap = np.nan if val.max_loss_cap_usd is None else val.max_loss_cap_usd
    resolved = frame.with_columns(
        pl.coalesce("strike_mode", pl.lit(strikes.strike_mode.value)).alias("strike_mode"),
        pl.col("choice")
        .replace_strict(
            {c.value: s.structure_type.value for c, s in BUILDERS.items()}, default="none", return_dtype=pl.String
        )
        .alias("structure_type"),
    ).with_columns(
        (pl.col("strike_mode") == StrikeMode.DELTA.value).cast(pl.Float64).alias("p_strike_mode"),
        pl.coalesce("offset_widths", _by_choice(offsets, "k")).alias("p_offset_widths"),
        pl.coalesce("width_points", _by_choice(widths, "w")).alias("p_width_points"),
        pl.lit(strikes.min_width_points).alias("p_min_width_points"),
        pl.coalesce("short_delta_abs", _by_choice(deltas, "d")).alias("p_delta_abs"),
        pl.coalesce("target_dte_days", pl.lit(expiry.target_dte_days)).cast(pl.Float64).alias("p_target_dte_days"),
        pl.coalesce("min_dte_days", pl.lit(expiry.min_dte_days)).cast(pl.Float64).alias("p_min_dte_days"),
        pl.coalesce("max_dte_days", pl.lit(expiry.max_dte_days)).cast(pl.Float64).alias("p_max_dte_days"),
        pl.coalesce("center_strike", nan).alias("p_center_strike"),
        (pl.col("right") == "P").fill_null(False).cast(pl.Float64).alias("p_right"),
        pl.coalesce("front_min_dte_days", pl.lit(term.calendar_front_min_dte_days))
        .cast(pl.Float64)
        .alias("p_front_min_dte_days"),
        pl.coalesce("back_gap_days", pl.lit(term.calendar_back_gap_days)).cast(pl.Float64).alias("p_back_gap_days"),
        per_underlying("min_volume").alias("p_min_volume"),
        per_underlying("min_open_interest").alias("p_min_open_interest"),
        per_underlying("max_bid_ask_pct", 0.01).alias("p_max_spread_frac"),
        per_underlying("enforce_liquidity").alias("p_enforce_liquidity"),
        pl.lit(strikes.max_substitution_points).alias("p_max_substitution_points"),
        pl.lit(val.min_credit_width_ratio).alias("p_min_credit_width_ratio"),
        pl.lit(val.min_reward_risk_ratio).alias("p_min_reward_risk_ratio"),
        pl.lit(loss_cap, dtype=pl.Float64).alias("p_max_loss_cap_usd"),
        pl.lit(val.max_margin_equity_pct / 100.0 * settings.account.equity_usd).alias("p_max_margin_usd"),
        pl.lit(val.vertical_tolerance_points).alias("p_vertical_tolerance_points"),
        pl.lit(settings.market.strike_tolerance_points).alias("p_strike_tolerance_points"),
    )
    params = np.ascontiguousarray(resolved.select([f"p_{name}" for name in PARAM_FIELDS]).to_numpy(), np.float64)
    assert params.shape[1] == N_PARAMS
    choice = resolved["choice"]
    kind = choice.replace_strict({c.value: int(s.kind) for c, s in BUILDERS.items()}, default=int(Kind.SKIP),
                                 return_dtype=pl.Int8).to_numpy().copy()  # fmt: skip
    status = np.zeros(frame.height, dtype=np.int8)
    detail = np.zeros(frame.height, dtype=np.int8)
    unsupported = choice.is_in(list(UNSUPPORTED)).to_numpy()
    status[unsupported] = BuildStatus.UNSUPPORTED_EDGE
    detail[unsupported] = FailDetail.NOT_TRADED
    too_wide = (kind >= 0) & (params[:, PARAM_FIELDS.index("width_points")] > strikes.max_width_points + 1e-9)
    status[too_wide] = BuildStatus.VALIDATION_FAIL
    detail[too_wide] = FailDetail.WIDTH_ABOVE_MAX
    kind[unsupported | too_wide] = Kind.SKIP
    keep = ["request_id", "underlying", "date", "choice", "structure_type", "strike_mode"]
    out = resolved.select(*keep, *[pl.col(f"p_{name}").alias(name) for name in PARAM_FIELDS if name not in keep])
    return RequestBatch(out, kind, params, status, detail)
