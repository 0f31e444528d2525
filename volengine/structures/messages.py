"""Human-readable ``message`` column: every width attempt of a request and why it failed, in one line.

Built with polars expressions from the kernel's per-attempt codes (no Python loop over requests). A first-
attempt success has no message; otherwise each attempt reads ``w=5: LIQUIDITY_FAIL (volume 3 below
min_volume at 115 P)`` and attempts are joined with ``"; "``. Requests that never reached the kernel (no chain,
unsupported choice, width above the maximum) and expiry failures get one sentence.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from volengine.kernels.structures import BuildStatus, FailDetail

_S = BuildStatus
_D = FailDetail
_NAMES = {int(c): c.name for c in BuildStatus}


def _num(name: str) -> pl.Expr:
    """A float column as short text (4 decimals, no trailing zeros)."""
    return pl.col(name).round(4).cast(pl.String).str.replace(r"\.0$", "")


def _where() -> pl.Expr:
    """'at 115 P' for the leg an attempt failed on."""
    right = pl.when(pl.col("side") == 0).then(pl.lit(" C")).when(pl.col("side") == 1).then(pl.lit(" P"))
    return pl.concat_str(pl.lit(" at "), _num("strike"), right.otherwise(pl.lit("")))


def _detail() -> pl.Expr:
    """The parenthesised explanation of one attempt's code and detail."""
    code, detail = pl.col("code"), pl.col("detail")
    right = pl.when(pl.col("side") == 1).then(pl.lit("put")).otherwise(pl.lit("call"))
    not_found = code.is_in([int(_S.SHORT_STRIKE_NOT_FOUND), int(_S.LONG_STRIKE_NOT_FOUND)])
    return (
        pl.when(not_found & (detail == _D.SUBSTITUTION))
        .then(pl.concat_str(pl.lit("target "), _num("value"), pl.lit(", nearest listed "), _num("strike"),
                            pl.lit(" is beyond max_substitution_points")))
        .when(not_found & (detail == _D.NO_STRIKE) & pl.col("strike").is_not_nan())
        .then(pl.concat_str(pl.lit("no listed "), right, pl.lit(" strike beyond "), _num("strike"),
                            pl.lit(" (target "), _num("value"), pl.lit(")")))
        .when(not_found & (detail == _D.NO_STRIKE))
        .then(pl.concat_str(pl.lit("no listed "), right, pl.lit(" strike for target "), _num("value")))
        .when(not_found & (detail == _D.CROSSED))
        .then(pl.concat_str(pl.lit("short put "), _num("value"), pl.lit(" above short call "), _num("strike")))
        .when(code == _S.INVALID_QUOTE)
        .then(pl.concat_str(pl.lit("no valid quote (bid > 0, ask > 0, bid <= ask)"), _where()))
        .when(code == _S.CREDIT_NONPOSITIVE)
        .then(pl.concat_str(pl.lit("credit "), _num("value"), pl.lit(" <= 0 at bid/ask")))
        .when(code == _S.DEBIT_NONPOSITIVE)
        .then(pl.concat_str(pl.lit("debit "), _num("value"), pl.lit(" <= 0 at bid/ask")))
        .when(detail == _D.VOLUME)
        .then(pl.concat_str(pl.lit("volume "), _num("value").fill_null("unknown"), pl.lit(" below min_volume"),
                            _where()))
        .when(detail == _D.OPEN_INTEREST)
        .then(pl.concat_str(pl.lit("open interest "), _num("value").fill_null("unknown"),
                            pl.lit(" below min_open_interest"), _where()))
        .when(detail == _D.SPREAD)
        .then(pl.concat_str(pl.lit("bid-ask "), (pl.col("value") * 100).round(2).cast(pl.String),
                            pl.lit("% above max_bid_ask_pct"), _where()))
        .when(detail == _D.UNBOUNDED_LOSS).then(pl.lit("unbounded loss (a net short call)"))
        .when(detail == _D.MAX_LOSS_NONPOSITIVE)
        .then(pl.concat_str(pl.lit("max loss "), _num("value"), pl.lit(" <= 0 (credit >= width "), _num("strike"),
                            pl.lit(")")))
        .when(detail == _D.MAX_PROFIT_NONPOSITIVE)
        .then(pl.concat_str(pl.lit("max profit "), _num("value"), pl.lit(" <= 0 (debit >= width "),
                            _num("strike"), pl.lit(")")))
        .when(detail == _D.VERTICAL_MISMATCH)
        .then(pl.concat_str(pl.lit("payoff extreme "), _num("value"), pl.lit(" != closed form "), _num("strike")))
        .when(detail == _D.CREDIT_WIDTH)
        .then(pl.concat_str(pl.lit("credit/width "), _num("value"), pl.lit(" below min_credit_width_ratio "),
                            _num("strike")))
        .when(detail == _D.REWARD_RISK)
        .then(pl.concat_str(pl.lit("reward/risk "), _num("value"), pl.lit(" below min_reward_risk_ratio "),
                            _num("strike")))
        .when(detail == _D.LOSS_CAP)
        .then(pl.concat_str(pl.lit("max loss $"), _num("value"), pl.lit(" above max_loss_cap_usd "),
                            _num("strike")))
        .when(detail == _D.MARGIN)
        .then(pl.concat_str(pl.lit("margin $"), _num("value"), pl.lit(" above max_margin_equity_pct of equity ($"),
                            _num("strike"), pl.lit(")")))
        .when(detail == _D.MULTIPLIER)
        .then(pl.concat_str(pl.lit("legs have different multipliers ("), _num("value"), _where(), pl.lit(")")))
    )  # fmt: skip


def attempt_messages(att_code: np.ndarray[Any, Any], att_detail: np.ndarray[Any, Any],
                     att_num: np.ndarray[Any, Any], n_att: np.ndarray[Any, Any],
                     status: np.ndarray[Any, Any]) -> pl.Series:  # fmt: skip
    """One message per request from the kernel's attempt arrays (null for a first-attempt success)."""
    n, a = att_code.shape
    used = np.arange(a)[None, :] < n_att[:, None]
    r, j = np.nonzero(used)
    long = pl.DataFrame(
        {
            "r": r.astype(np.int64),
            "code": att_code[r, j].astype(np.int16),
            "detail": att_detail[r, j].astype(np.int16),
            "w": att_num[r, j, 0],
            "value": att_num[r, j, 1],
            "strike": att_num[r, j, 2],
            "side": att_num[r, j, 3],
        }
    ).with_columns(pl.col("w", "value", "strike").fill_nan(None))
    name = pl.col("code").replace_strict(_NAMES, default="?", return_dtype=pl.String)
    text = (
        pl.when(pl.col("code") == _S.OK)
        .then(pl.lit("ok"))
        .otherwise(pl.concat_str(name, pl.concat_str(pl.lit(" ("), _detail(), pl.lit(")")).fill_null("")))
    )
    prefix = pl.when(pl.col("w").is_not_null()).then(pl.concat_str(pl.lit("w="), _num("w"), pl.lit(": ")))
    joined = (
        long.with_columns(pl.concat_str(prefix.otherwise(pl.lit("")), text).alias("part"))
        .group_by("r", maintain_order=True)
        .agg(pl.col("part").str.join("; "))
    )
    first_ok = (status == _S.OK) & (n_att == 1)
    base = pl.DataFrame({"r": np.arange(n, dtype=np.int64), "first_ok": first_ok})
    out = base.join(joined, on="r", how="left", maintain_order="left")
    return out.select(pl.when(pl.col("first_ok")).then(None).otherwise(pl.col("part")).alias("message")).to_series()


def preset_messages(requests: pl.DataFrame, status: np.ndarray[Any, Any], detail: np.ndarray[Any, Any],
                    n_att: np.ndarray[Any, Any], max_width: float) -> pl.Series:  # fmt: skip
    """Messages of requests decided without a width attempt (null elsewhere)."""
    frame = requests.select(
        "underlying", "date", "choice", "width_points", "min_dte_days", "max_dte_days", "target_dte_days",
        "front_min_dte_days", "back_gap_days",
    ).with_columns(pl.Series("status", status.astype(np.int16)), pl.Series("detail", detail.astype(np.int16)),
                   pl.Series("n_att", n_att))  # fmt: skip
    code, det = pl.col("status"), pl.col("detail")
    window = pl.concat_str(pl.lit("["), _num("min_dte_days"), pl.lit(", "), _num("max_dte_days"), pl.lit("]"))
    expr = (
        pl.when(pl.col("n_att") > 0).then(pl.lit(None, dtype=pl.String))
        .when(det == _D.NO_CHAIN)
        .then(pl.concat_str(pl.lit("no chain for "), pl.col("underlying"), pl.lit(" on "),
                            pl.col("date").cast(pl.String)))
        .when((code == _S.NO_EXPIRY) & pl.col("choice").is_in(["calendar", "diagonal"]))
        .then(pl.concat_str(pl.lit("no front expiry with DTE in ["), _num("front_min_dte_days"), pl.lit(", "),
                            _num("max_dte_days"), pl.lit("] followed by a back expiry with DTE >= front + "),
                            _num("back_gap_days")))
        .when(code == _S.NO_EXPIRY)
        .then(pl.concat_str(pl.lit("no expiry with DTE in "), window, pl.lit(" (target "),
                            _num("target_dte_days"), pl.lit(")")))
        .when(det == _D.NOT_TRADED).then(pl.lit("choice 'none' is not traded"))
        .when(det == _D.WIDTH_ABOVE_MAX)
        .then(pl.concat_str(pl.lit("width "), _num("width_points"), pl.lit(f" above max_width_points {max_width:g}")))
    )  # fmt: skip
    return frame.select(expr.alias("message")).to_series()
