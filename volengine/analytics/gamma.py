"""Dealer gamma exposure (GEX) from open interest: per-strike profile and per-day levels (seed-spec §2.5).

Per contract, in dollars of dealer delta change for a ``gex_move_frac`` (1 %) move of the underlying::

    GEX = sign · γ · OI · 100 · S² · gex_move_frac

with γ the Black-Scholes gamma per share (d²V/dS², canonical units), OI in contracts, 100 shares per
contract and S the underlying price. ``sign`` follows :class:`~volengine.config.enums.GammaSignConvention`:
``calls_positive`` (default) assumes dealers are long calls and short puts (calls +, puts −),
``puts_positive`` flips both.

Which contracts count (*qualifying* contracts):

* DTE > 0. Same-day (DTE 0) contracts are ignored everywhere, in the selected expiry and in
  ``gex_net_all``: an end-of-day snapshot on expiration day prices options that expire at (or have already
  expired by) the close, so their gamma describes no exposure that carries into the next session, and a BS
  gamma at t → 0 is a spike, not an estimate;
* open interest known (null means unknown and is never read as 0) and ``>= min_open_interest``;
* γ finite: the feed's ``vendor_gamma`` when ``use_feed_gamma`` and it is present and finite, else the BS
  ``gamma``; and a finite, positive ``underlying_price``.

The expiry of a day is chosen among expiries with at least one qualifying contract: the first with
0 < DTE ≤ ``max_dte_days``, else the nearest with DTE > 0. (Since the candidates all have DTE > 0 the rule
amounts to the nearest such expiry; ``max_dte_days`` is kept so the rule reads as in the spec, and
``gex_dte`` tells whether the window held an expiry.) An expiry whose contracts all lack OI is skipped, so a
new weekly with unknown OI does not blank the day.

Everything is polars expressions over the whole frame (``group_by`` / ``over``); nothing loops over days.
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from volengine.config.edges import GammaSettings
from volengine.errors import SchemaError

#: shares per listed equity/index option contract
CONTRACT_MULTIPLIER = 100.0
DAY = ("underlying", "date")
LEVEL_COLUMNS = (
    *DAY,
    "gex_expiration",
    "gex_dte",
    "gex_net",
    "gex_max_strike",
    "gex_max_abs",
    "gex_flip",
    "gex_spot",
    "gex_pin_low",
    "gex_pin_high",
    "gex_price_vs_max_pct",
    "gex_in_pin_zone",
    "max_oi_strike",
    "gex_net_all",
    "gex_n_contracts",
)
CONTRACT_COLUMNS = ("underlying", "date", "expiration", "dte", "strike", "right", "open_interest", "gamma")


def _require(frame: pl.DataFrame, columns: Iterable[str], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        msg = f"frame '{name}' needs column(s) {', '.join(missing)}; got {', '.join(frame.columns)}"
        raise SchemaError(msg, path=name, column=missing[0])


def _gamma_used(frame: pl.DataFrame, settings: GammaSettings) -> pl.Expr:
    bs = pl.col("gamma").cast(pl.Float64)
    if not settings.use_feed_gamma or "vendor_gamma" not in frame.columns:
        return bs
    feed = pl.col("vendor_gamma").cast(pl.Float64)
    return pl.when(feed.is_finite()).then(feed).otherwise(bs)


def _qualifying(contracts: pl.DataFrame, settings: GammaSettings) -> pl.LazyFrame:
    """Qualifying contracts (module docstring) with their signed ``_gex`` in dollars."""
    _require(contracts, (*CONTRACT_COLUMNS, "underlying_price"), "contracts")
    gamma = _gamma_used(contracts, settings)
    spot = pl.col("underlying_price").cast(pl.Float64)
    oi = pl.col("open_interest")
    conv = settings.sign_convention
    sign = pl.when(pl.col("right") == "C").then(pl.lit(float(conv.call_sign))).otherwise(float(conv.put_sign))
    scale = CONTRACT_MULTIPLIER * settings.gex_move_frac
    keep = (
        (pl.col("dte") > 0)
        & oi.is_not_null()
        & (oi >= settings.min_open_interest)
        & gamma.is_finite()
        & spot.is_finite()
        & (spot > 0)
    )
    return (
        contracts.lazy()
        .filter(keep.fill_null(value=False))
        .with_columns(
            (sign * gamma * oi.cast(pl.Float64) * scale * spot * spot).alias("_gex"),
            (pl.col("right") == "C").alias("_is_call"),
            spot.alias("_spot"),
        )
    )


def _selected_expiry(qualifying: pl.LazyFrame, settings: GammaSettings) -> pl.LazyFrame:
    """(underlying, date, expiration) of each day's selected expiry."""
    exp = pl.col("expiration")
    in_window = exp.filter(pl.col("dte") <= settings.max_dte_days).min()
    return qualifying.group_by(DAY).agg(pl.coalesce(in_window, exp.min()).alias("expiration"))


def _profile(qualifying: pl.LazyFrame, selected: pl.LazyFrame) -> pl.LazyFrame:
    gex = pl.col("_gex")
    return (
        qualifying.join(selected, on=[*DAY, "expiration"], how="semi")
        .group_by([*DAY, "expiration", "strike"])
        .agg(
            gex.filter(pl.col("_is_call")).sum().alias("gex_call"),
            gex.filter(~pl.col("_is_call")).sum().alias("gex_put"),
        )
        .with_columns((pl.col("gex_call") + pl.col("gex_put")).alias("gex"))
        .sort([*DAY, "strike"])
        .with_columns(pl.col("gex").cum_sum().over(DAY).alias("cum_gex"))
    )


def gamma_profile(contracts: pl.DataFrame, settings: GammaSettings | None = None) -> pl.DataFrame:
    """Per-strike dealer gamma exposure on each day's selected expiry.

    Parameters
    ----------
    contracts : polars.DataFrame
        Per-contract frame with ``underlying``, ``date``, ``expiration``, ``dte`` (calendar days), ``strike``,
        ``right`` ("C"/"P"), ``open_interest`` (nullable), ``gamma`` (BS, per share), optional
        ``vendor_gamma`` and ``underlying_price`` (spot, dollars).
    settings : GammaSettings, optional
        Thresholds and sign convention; defaults to ``GammaSettings()``.

    Returns
    -------
    polars.DataFrame
        One row per (underlying, date, expiration, strike) with at least one qualifying contract on the
        day's selected expiry, sorted by (underlying, date, strike): ``gex_call`` and ``gex_put`` (signed
        dollars per 1 % move, 0.0 when the strike has no qualifying call or put), ``gex`` (their sum) and
        ``cum_gex`` (cumulative ``gex`` in ascending strike within the day).

    Raises
    ------
    SchemaError
        A required column is missing.

    Notes
    -----
    GEX = sign · γ · OI · 100 · S² · 0.01; selection rules in the module docstring. See e.g. SqueezeMetrics,
    "The Implied Order Book" (2020), https://squeezemetrics.com/monitor/download/pdf/white_paper.pdf.
    """
    s = settings if settings is not None else GammaSettings()
    qualifying = _qualifying(contracts, s)
    return _profile(qualifying, _selected_expiry(qualifying, s)).collect()


def _levels(profile: pl.LazyFrame, settings: GammaSettings) -> pl.LazyFrame:
    """Net, K*, |GEX| at K* and the flip level per day, from the per-strike profile."""
    absgex = pl.col("gex").abs()
    excess = pl.col("cum_gex") - settings.flip_threshold_usd
    prev_excess = pl.col("cum_gex").shift(1).over(DAY) - settings.flip_threshold_usd
    # "above" is strict, so a cumulative sum landing exactly on the threshold has not crossed it yet
    crossed = prev_excess.is_not_null() & ((excess > 0) != (prev_excess > 0))
    midpoint = (pl.col("strike") + pl.col("strike").shift(1).over(DAY)) / 2.0
    return (
        profile.with_columns(pl.when(crossed).then(midpoint).alias("_flip"))
        .group_by(DAY)
        .agg(
            pl.col("gex").sum().alias("gex_net"),
            # ties in abs(GEX) go to the lowest strike, so the level does not depend on row order
            pl.col("strike").filter(absgex == absgex.max()).min().alias("gex_max_strike"),
            absgex.max().alias("gex_max_abs"),
            pl.col("_flip").drop_nulls().last().alias("gex_flip"),
        )
    )


def _max_oi_strike(contracts: pl.DataFrame, selected: pl.LazyFrame) -> pl.LazyFrame:
    """Strike with the largest call + put open interest (known OI, any size) on the selected expiry."""
    total = pl.col("_oi_total")
    return (
        contracts.lazy()
        .filter(pl.col("open_interest").is_not_null())
        .join(selected, on=[*DAY, "expiration"], how="semi")
        .group_by([*DAY, "strike"])
        .agg(pl.col("open_interest").sum().alias("_oi_total"))
        .group_by(DAY)
        .agg(pl.col("strike").filter(total == total.max()).min().alias("max_oi_strike"))
    )


def dealer_gamma(contracts: pl.DataFrame, settings: GammaSettings | None = None) -> pl.DataFrame:
    """Dealer gamma levels per (underlying, date): net GEX, max-gamma strike, pin zone and flip.

    Parameters
    ----------
    contracts : polars.DataFrame
        Per-contract frame, as for :func:`gamma_profile`.
    settings : GammaSettings, optional
        Thresholds and sign convention; defaults to ``GammaSettings()``.

    Returns
    -------
    polars.DataFrame
        One row per (underlying, date) of ``contracts``, in input order. Days without a qualifying contract
        keep their row with nulls (and ``gex_n_contracts`` 0). Columns:

        * ``gex_expiration`` (Date), ``gex_dte`` (Int32): the selected expiry;
        * ``gex_net``: Σ GEX over the selected expiry (dollars per 1 % move);
        * ``gex_max_strike``: K*, the strike with the largest abs(GEX) (ties: lowest strike);
          ``gex_max_abs``: that abs(GEX);
        * ``gex_flip``: midpoint of the two adjacent strikes between which the cumulative GEX (ascending in
          strike) crosses ``flip_threshold_usd``, the last (highest-strike) crossing; null if none;
        * ``gex_spot``: median ``underlying_price`` of the selected expiry's qualifying contracts;
        * ``gex_pin_low`` / ``gex_pin_high``: K* ∓ ``pin_zone_width_pct`` % of spot;
        * ``gex_price_vs_max_pct``: (S − K*)/S × 100; ``gex_in_pin_zone``: low ≤ S ≤ high;
        * ``max_oi_strike``: strike with the largest call + put OI on the selected expiry (all contracts
          with known OI, below ``min_open_interest`` too; ties: lowest strike);
        * ``gex_net_all``: Σ GEX over every qualifying contract of the day (all expiries, DTE > 0);
        * ``gex_n_contracts`` (Int32): qualifying contracts on the selected expiry.

    Raises
    ------
    SchemaError
        A required column is missing.

    Notes
    -----
    Rules and units in the module docstring and seed-spec §2.5 ("Gamma pressure").
    """
    s = settings if settings is not None else GammaSettings()
    qualifying = _qualifying(contracts, s)
    selected = _selected_expiry(qualifying, s)
    on_selected = qualifying.join(selected, on=[*DAY, "expiration"], how="semi")
    per_day = on_selected.group_by(DAY).agg(
        pl.col("expiration").first().alias("gex_expiration"),
        pl.col("dte").first().cast(pl.Int32).alias("gex_dte"),
        pl.col("_spot").median().alias("gex_spot"),
        pl.len().cast(pl.Int32).alias("gex_n_contracts"),
    )
    net_all = qualifying.group_by(DAY).agg(pl.col("_gex").sum().alias("gex_net_all"))
    days = contracts.lazy().select(DAY).unique(maintain_order=True)
    spot, kstar = pl.col("gex_spot"), pl.col("gex_max_strike")
    half_width = spot * (s.pin_zone_width_pct / 100.0)
    out = (
        days.join(per_day, on=DAY, how="left", maintain_order="left")
        .join(_levels(_profile(qualifying, selected), s), on=DAY, how="left", maintain_order="left")
        .join(_max_oi_strike(contracts, selected), on=DAY, how="left", maintain_order="left")
        .join(net_all, on=DAY, how="left", maintain_order="left")
        .with_columns(
            (kstar - half_width).alias("gex_pin_low"),
            (kstar + half_width).alias("gex_pin_high"),
            ((spot - kstar) / spot * 100.0).alias("gex_price_vs_max_pct"),
            pl.col("gex_n_contracts").fill_null(0),
        )
        .with_columns(spot.is_between(pl.col("gex_pin_low"), pl.col("gex_pin_high")).alias("gex_in_pin_zone"))
    )
    return out.select(LEVEL_COLUMNS).collect()
