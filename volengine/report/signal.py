"""The daily signal view: one record per underlying from the last row of the pipeline.

:func:`signal_records` turns rows of :func:`volengine.pipeline.signal` into JSON-ready dicts (dates as ISO
strings, NaN as null): the regime with its reason, the features a desk reads first, and each of the five
edges with its numbers, fired or not. The CLI prints the same records as a table or as JSON.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import polars as pl

#: edge prefix -> the metric columns shown beside it
EDGE_METRICS: dict[str, tuple[str, ...]] = {
    "vrp": ("atm_iv", "vrp_rv", "vrp_ratio", "vrp_ratio_percentile", "vrp_iv_percentile", "vrp_history"),
    "term": ("ts_front_iv", "ts_front_dte", "ts_back_iv", "ts_back_dte", "term_spread_pct", "term_state"),
    "skew": ("skew_put_iv_25d", "skew_call_iv_25d", "skew_value", "skew_percentile", "skew_dte", "skew_history"),
    "event": (
        "event_date",
        "event_kind",
        "event_days",
        "event_iv",
        "event_baseline_iv",
        "event_premium_pct",
        "event_implied_move_pct",
        "event_hist_move_pct",
    ),
    "gamma": ("gex_net", "gex_max_strike", "gex_flip", "gex_price_vs_max_pct", "gex_in_pin_zone", "gex_dte"),
}
#: the features shown with the regime
KEY_FEATURES = (
    "spot", "atm_iv_30d", "mfiv_30d", "vix", "vol_index_source", "rv_cc_20d", "rv_yz_20d", "vrp_spread_30d",
    "iv_rank", "iv_percentile", "term_slope", "term_ratio", "rr_25d_30d", "bf_25d_30d", "rr_25d_percentile",
    "drawdown", "return_20d", "price_vs_ma50", "price_vs_ma200",
)  # fmt: skip
EDGE_FIELDS = ("fired", "signal", "direction", "strength", "history_mode", "rationale")


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def signal_records(rows: pl.DataFrame) -> list[dict[str, Any]]:
    """JSON-ready records, one per row (underlying) of a :func:`volengine.pipeline.signal` frame."""
    out = []
    for row in rows.sort("underlying").iter_rows(named=True):  # one row per underlying, a handful at most
        edges = {}
        for p, metrics in EDGE_METRICS.items():
            rec = {f: _clean(row.get(f"{p}_{f}")) for f in EDGE_FIELDS}
            rec["metrics"] = {m: _clean(row.get(m)) for m in metrics if m in row}
            edges[p] = rec
        out.append({
            "underlying": str(row["underlying"]),
            "date": _clean(row["date"]),
            "regime": {
                "regime": _clean(row.get("regime")),
                "confidence": _clean(row.get("regime_confidence")),
                "reason": _clean(row.get("regime_reason")),
            },
            "features": {k: _clean(row.get(k)) for k in KEY_FEATURES if k in row},
            "edges": edges,
        })  # fmt: skip
    return out
