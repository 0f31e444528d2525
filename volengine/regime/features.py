"""Regime features from bars (and a vol index) dated <= d: moving averages, realized vol, drawdown, returns, VIX.

Definitions (seed-spec §2.4), with the windows of ``settings.regime.features``:

* ``maN`` = mean of the last N prices; ``price_vs_maN = P / maN - 1``; ``maA_maB = maA / maB`` for the
  (short, medium) and (medium, long) pairs;
* ``rvN`` = sample std (ddof 1) of the last N log returns x sqrt(annualization_days); ``rvA_rvB = rvA / rvB``,
  1 where ``rvB`` is 0;
* ``drawdown = P / max(last drawdown_lookback_days prices) - 1`` and ``days_since_high`` (bars since the most
  recent bar at that high), both missing until that many bars exist (never a shorter "52-week" window);
* ``return_Kd = P_t / P_(t-K) - 1``;
* ``vix``: the vol index close on the bar's date, or where it has none (``vol_index_proxy.mode``) the stand-in
  ``100 x rv(rv_window_days) x implied_to_realized_ratio``; ``vix_source`` says which ("index", "proxy",
  "none"); ``vix_percentile`` = 100 x share of the previous ``vix_percentile_lookback_days`` values strictly
  below today's (:func:`volengine.kernels.trailing_percentile`); ``vix_change_Kd = vix_t - vix_(t-K)``.

P is ``adj_close`` when the bars carry it (see :func:`regime_features`), else ``close``. A feature without
enough history is **null** (never a default, never NaN: polars orders NaN above every number, so a NaN
would trip every ``>=`` rule). Every value on row d reads rows <= d of its own underlying only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from volengine.config.enums import VolIndexProxyMode
from volengine.config.regime import RegimeSettings
from volengine.config.settings import Settings, settings_section
from volengine.errors import DataError, SchemaError
from volengine.kernels.regime import trailing_high, trailing_log_vol
from volengine.kernels.rolling import trailing_percentile

#: values of the ``vix_source`` column
VixSource = pl.Enum(["index", "proxy", "none"])
_SEG = "__segment"
_PRICE = "__price"


@dataclass(frozen=True)
class FeatureNames:
    """Column names of the features, spelled from the configured windows (``ma20`` for a 20-bar MA).

    Each tuple is (short, medium, long) in the order of the config; ratios are (short/medium, medium/long).
    """

    ma: tuple[str, str, str]
    price_vs_ma: tuple[str, str, str]
    ma_ratio: tuple[str, str]
    rv: tuple[str, str, str]
    rv_ratio: tuple[str, str]
    returns: tuple[str, str, str]
    vix_change: str
    drawdown: str = "drawdown"
    days_since_high: str = "days_since_high"
    vix: str = "vix"
    vix_percentile: str = "vix_percentile"
    vix_source: str = "vix_source"

    @property
    def columns(self) -> list[str]:
        """Every feature column, in output order."""
        return [
            *self.ma,
            *self.price_vs_ma,
            *self.ma_ratio,
            *self.rv,
            *self.rv_ratio,
            self.drawdown,
            self.days_since_high,
            *self.returns,
            self.vix,
            self.vix_percentile,
            self.vix_change,
            self.vix_source,
        ]


def regime_settings(settings: RegimeSettings | Settings | None) -> RegimeSettings:
    """The regime section of ``settings`` (defaults when ``None``)."""
    return settings_section(settings, RegimeSettings, "regime", TypeError)


def feature_names(settings: RegimeSettings | Settings | None = None) -> FeatureNames:
    """Feature column names for ``settings`` (e.g. ``rv5, rv20, rv60`` for the default rv windows)."""
    f = regime_settings(settings).features
    ma = tuple(f"ma{n}" for n in f.ma_periods_days)
    rv = tuple(f"rv{n}" for n in f.rv_windows_days)
    k = f.return_horizons_days
    return FeatureNames(
        ma=(ma[0], ma[1], ma[2]),
        price_vs_ma=(f"price_vs_{ma[0]}", f"price_vs_{ma[1]}", f"price_vs_{ma[2]}"),
        ma_ratio=(f"{ma[0]}_{ma[1]}", f"{ma[1]}_{ma[2]}"),
        rv=(rv[0], rv[1], rv[2]),
        rv_ratio=(f"{rv[0]}_{rv[1]}", f"{rv[1]}_{rv[2]}"),
        returns=(f"return_{k[0]}d", f"return_{k[1]}d", f"return_{k[2]}d"),
        vix_change=f"vix_change_{f.vix_change_days}d",
    )


# ------------------------------------------------------------------------------------------------ inputs


def _first_bad_row(frame: pl.DataFrame, bad: pl.Expr) -> int | None:
    hits = frame.select(pl.arg_where(bad.fill_null(value=True)).first()).item()
    return None if hits is None else int(hits)


def _prepare_bars(bars: Any) -> tuple[pl.DataFrame, bool]:
    """Bars sorted by (underlying, date) with a segment id and the price P; True when ``underlying`` was given."""
    if not isinstance(bars, pl.DataFrame):
        msg = f"regime bars must be a polars DataFrame with columns date and close; got {type(bars).__name__}"
        raise SchemaError(msg)
    for name in ("date", "close"):
        if name not in bars.columns:
            msg = f"regime bars: required column '{name}' is missing (columns: {bars.columns})"
            raise SchemaError(msg, column=name)
    if bars.schema["date"] != pl.Date:
        msg = f"regime bars: column 'date' must be of dtype Date (exchange dates); got {bars.schema['date']}"
        raise SchemaError(msg, column="date")
    has_underlying = "underlying" in bars.columns
    keep = ["date", "close", *(c for c in ("underlying", "adj_close") if c in bars.columns)]
    try:
        frame = bars.select(keep).with_columns(
            pl.col(c).cast(pl.Float64) for c in ("close", "adj_close") if c in bars.columns
        )
    except pl.exceptions.PolarsError as exc:
        msg = f"regime bars: columns 'close' and 'adj_close' must be numeric; {exc}"
        raise SchemaError(msg) from exc
    key = pl.col("underlying").cast(pl.String) if has_underlying else pl.lit("")
    frame = frame.with_columns(key.alias(_SEG)).sort([_SEG, "date"])
    for name, bad in (
        ("date", pl.col("date").is_null()),
        ("close", ~(pl.col("close").is_finite() & (pl.col("close") > 0))),
        (
            "adj_close",
            pl.col("adj_close").is_not_null() & ~(pl.col("adj_close").is_finite() & (pl.col("adj_close") > 0)),
        ),
    ):
        if name not in frame.columns:
            continue
        row = _first_bad_row(frame, bad)
        if row is not None:
            value = frame[name][row]
            msg = f"regime bars: column '{name}' must be a finite price > 0; got {value!r} at row {row} (sorted)"
            raise DataError(msg, column=name, row=row, value=value)
    dup = _first_bad_row(frame, pl.struct(_SEG, "date").is_duplicated())
    if dup is not None:
        day = frame["date"][dup]
        msg = f"regime bars: (underlying, date) must be unique; {frame[_SEG][dup]!r} {day} appears twice"
        raise DataError(msg, column="date", row=dup, value=day)
    # P = adj_close; where a bar has none, close times the latest known adj/close factor (1 before any), so
    # a missing adjustment never fakes a return and nothing reads a later bar
    if "adj_close" in frame.columns:
        factor = (pl.col("adj_close") / pl.col("close")).forward_fill().over(_SEG).fill_null(1.0)
        price = pl.col("close") * factor
    else:
        price = pl.col("close")
    # rows are sorted by underlying, so the run id of the underlying is a contiguous segment id
    frame = frame.with_columns(price.alias(_PRICE), pl.col(_SEG).rle_id().cast(pl.Int64).alias(_SEG))
    return frame, has_underlying


def _prepare_vol_index(vol_index: Any) -> pl.DataFrame | None:
    """Vol-index closes by date (missing values dropped), or None."""
    if vol_index is None:
        return None
    if not isinstance(vol_index, pl.DataFrame) or not {"date", "close"} <= set(vol_index.columns):
        cols = vol_index.columns if isinstance(vol_index, pl.DataFrame) else type(vol_index).__name__
        msg = f"regime vol_index must be a polars DataFrame with columns date and close; got {cols}"
        raise SchemaError(msg)
    if vol_index.schema["date"] != pl.Date:
        msg = f"regime vol_index: column 'date' must be of dtype Date; got {vol_index.schema['date']}"
        raise SchemaError(msg, column="date")
    frame = (
        vol_index.select("date", pl.col("close").cast(pl.Float64).alias("__index"))
        .filter(pl.col("date").is_not_null() & pl.col("__index").is_not_null() & pl.col("__index").is_not_nan())
        .sort("date")
    )
    row = _first_bad_row(frame, ~(pl.col("__index").is_finite() & (pl.col("__index") > 0)))
    if row is not None:
        value = frame["__index"][row]
        msg = f"regime vol_index: column 'close' must be finite index points > 0; got {value!r} on {frame['date'][row]}"
        raise DataError(msg, column="close", row=row, value=value)
    dup = _first_bad_row(frame, pl.col("date").is_duplicated())
    if dup is not None:
        day = frame["date"][dup]
        msg = f"regime vol_index: one close per date expected (one index); {day} appears more than once"
        raise DataError(msg, column="date", row=dup, value=day)
    return frame


# -------------------------------------------------------------------------------------------- features


def _nan_to_null(values: np.ndarray[Any, Any]) -> pl.Series:
    return pl.Series(values, dtype=pl.Float64).fill_nan(None)


def _vix_columns(frame: pl.DataFrame, index: pl.DataFrame | None, cfg: RegimeSettings) -> pl.DataFrame:
    proxy_cfg = cfg.vol_index_proxy
    seg = frame[_SEG].to_numpy()
    price = frame[_PRICE].to_numpy()
    rv = trailing_log_vol(
        price, proxy_cfg.rv_window_days, segment=seg, periods_per_year=cfg.features.annualization_days
    )
    frame = frame.with_columns(_nan_to_null(100.0 * proxy_cfg.implied_to_realized_ratio * rv).alias("__proxy"))
    if index is None:
        frame = frame.with_columns(pl.lit(None, dtype=pl.Float64).alias("__index"))
    else:
        frame = frame.join(index, on="date", how="left", maintain_order="left")
    mode = proxy_cfg.mode
    idx, proxy = pl.col("__index"), pl.col("__proxy")
    if mode is VolIndexProxyMode.ALWAYS:
        idx = pl.lit(None, dtype=pl.Float64)
    elif mode is VolIndexProxyMode.NEVER:
        proxy = pl.lit(None, dtype=pl.Float64)
    source = (
        pl.when(idx.is_not_null())
        .then(pl.lit("index"))
        .when(proxy.is_not_null())
        .then(pl.lit("proxy"))
        .otherwise(pl.lit("none"))
    )
    return frame.with_columns(pl.coalesce(idx, proxy).alias("vix"), source.cast(VixSource).alias("vix_source"))


def _compute(frame: pl.DataFrame, cfg: RegimeSettings, names: FeatureNames) -> pl.DataFrame:
    f = cfg.features
    seg = frame[_SEG].to_numpy()
    price = frame[_PRICE].to_numpy()
    p = pl.col(_PRICE)
    ma_exprs = [p.rolling_mean(n).over(_SEG).alias(name) for n, name in zip(f.ma_periods_days, names.ma, strict=True)]
    frame = frame.with_columns(ma_exprs)
    rvs = {
        name: trailing_log_vol(price, n, segment=seg, periods_per_year=f.annualization_days)
        for n, name in zip(f.rv_windows_days, names.rv, strict=True)
    }
    drawdown, days = trailing_high(price, f.drawdown_lookback_days, segment=seg)
    frame = frame.with_columns(
        *(_nan_to_null(v).alias(k) for k, v in rvs.items()),
        _nan_to_null(drawdown).alias(names.drawdown),
        _nan_to_null(days).cast(pl.Int64).alias(names.days_since_high),
    )
    ma, rv = names.ma, names.rv
    frame = frame.with_columns(
        *((p / pl.col(m) - 1.0).alias(name) for m, name in zip(ma, names.price_vs_ma, strict=True)),
        (pl.col(ma[0]) / pl.col(ma[1])).alias(names.ma_ratio[0]),
        (pl.col(ma[1]) / pl.col(ma[2])).alias(names.ma_ratio[1]),
        *(
            pl.when(pl.col(b) == 0.0).then(1.0).otherwise(pl.col(a) / pl.col(b)).alias(name)
            for a, b, name in ((rv[0], rv[1], names.rv_ratio[0]), (rv[1], rv[2], names.rv_ratio[1]))
        ),
        *(
            (p / p.shift(k).over(_SEG) - 1.0).alias(name)
            for k, name in zip(f.return_horizons_days, names.returns, strict=True)
        ),
    )
    vix = frame["vix"].fill_null(np.nan).to_numpy()
    pct = trailing_percentile(vix, f.vix_percentile_lookback_days, segment=seg)
    return frame.with_columns(
        _nan_to_null(pct).alias(names.vix_percentile),
        (pl.col("vix") - pl.col("vix").shift(f.vix_change_days).over(_SEG)).alias(names.vix_change),
    )


def _features_frame(bars: Any, vol_index: Any, cfg: RegimeSettings) -> tuple[pl.DataFrame, bool, FeatureNames]:
    """Features with the internal segment column kept (for the classifier)."""
    names = feature_names(cfg)
    frame, has_underlying = _prepare_bars(bars)
    frame = _vix_columns(frame, _prepare_vol_index(vol_index), cfg)
    frame = _compute(frame, cfg, names)
    keys = ["date", "underlying"] if has_underlying else ["date"]
    return frame.select(*keys, _SEG, *names.columns), has_underlying, names


def regime_features(
    bars: pl.DataFrame,
    vol_index: pl.DataFrame | None = None,
    settings: RegimeSettings | Settings | None = None,
) -> pl.DataFrame:
    """Every regime feature per bar, from data dated <= each bar's date.

    Parameters
    ----------
    bars : polars.DataFrame
        Daily bars: ``date`` (Date) and ``close`` required; ``underlying`` (several symbols are computed
        separately) and ``adj_close`` optional, other columns ignored. P is ``adj_close`` where given; a bar
        without one uses ``close`` times the latest known ``adj_close / close`` factor (1 before the first).
    vol_index : polars.DataFrame, optional
        ``date`` and ``close`` in index points (VIX 16.2); joined on date, so one index serves every
        underlying. Null/NaN closes count as missing; other columns (``symbol``) are ignored.
    settings : RegimeSettings or Settings, optional
        Windows (``features``) and the proxy (``vol_index_proxy``); defaults when ``None``.

    Returns
    -------
    polars.DataFrame
        One row per bar, sorted by (underlying, date): ``date``, [``underlying``], then
        :attr:`FeatureNames.columns` (Float64, ``days_since_high`` Int64, ``vix_source`` Enum); null where
        a feature lacks history.

    Raises
    ------
    SchemaError
        A required column is missing or mistyped.
    DataError
        A close or adj_close that is not a finite positive price, a duplicate (underlying, date), a vol-index
        close <= 0 or a date given twice in the vol index (the message names the row and value).

    Examples
    --------
    >>> import datetime as dt
    >>> bars = pl.DataFrame({"date": [dt.date(2024, 1, 2) + dt.timedelta(days=i) for i in range(30)],
    ...                      "close": [100.0 + i for i in range(30)]})
    >>> regime_features(bars)["ma20"].null_count()
    19
    """
    cfg = regime_settings(settings)
    frame, _, _ = _features_frame(bars, vol_index, cfg)
    return frame.drop(_SEG)
