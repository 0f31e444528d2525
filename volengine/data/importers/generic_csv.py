"""Any long-format option CSV (IB dumps, HistoricalOptionData L2, home-made files) through a YAML column mapping.

The mapping file (all sections but ``columns`` optional)::

    columns:            # canonical option_quotes column: source column name
      date: DataDate
      underlying: UnderlyingSymbol
      occ_symbol: OptionSymbol     # fills root/expiration/right/strike when those are not mapped
      strike: Strike
      expiration: Expiration
      right: Type                  # call/put, C/P (any case), or see ``rights``
      bid: Bid
      ask: Ask
      volume: Volume
      open_interest: OpenInterest
      vendor_iv: IV
    constants:          # canonical column: value for every row
      snapshot: eod
      quote_time: "16:00"          # ET wall time on each date (or map a column + date_formats.quote_time)
      oi_asof: prev_night
    date_formats:       # strptime formats (default %Y-%m-%d; quote_time default %Y-%m-%d %H:%M:%S, naive = ET)
      date: "%m/%d/%Y"
      expiration: "%m/%d/%Y"
    scale:              # multiply a numeric column, e.g. IVs given in percent
      vendor_iv: 0.01
    rights: {"1": C, "2": P}       # extra source values of ``right``
    delimiter: ","
    source: hod                    # adapter id stored in ``source`` (default "csv")

Defaults: ``underlying`` from ``--underlying`` or the root; ``root`` from the OCC symbol or the calendar rule;
``style``/``settlement`` from the root; ``snapshot`` ``eod``; ``quote_time`` the session close; ``multiplier`` 100.
A mapping error raises :class:`~volengine.errors.ConfigError`, one line per problem:
``map.yaml: columns.strik: unknown canonical column (got 'strik')``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from volengine.data import schema
from volengine.data.importers._common import (
    BAD,
    LINE,
    Field,
    Importer,
    ImportOptions,
    ReadStats,
    Source,
    add_bad,
    csv_batches,
    finish,
    infer_roots,
    occ_parts,
    occ_symbol,
    problem,
    raise_bad_value,
    read_header,
    settlement_expr,
    style_expr,
    underlying_from_root,
    whole,
    with_quote_time,
)
from volengine.errors import ConfigError, DataError

NAME = "csv"
SECTIONS = ("columns", "constants", "date_formats", "scale", "rights", "delimiter", "source")
CANONICAL = tuple(c for c in schema.OPTION_QUOTES if c != "source")
_DATES = ("date", "expiration", "quote_time")
_FLOATS = tuple(c for c, t in schema.OPTION_QUOTES.items() if t == pl.Float64)
_INTS = tuple(c for c, t in schema.OPTION_QUOTES.items() if t in (pl.Int64, pl.Int32))
_ENUMS = {"right": ("C", "P"), "style": ("american", "european"), "settlement": ("AM", "PM")}
_ENUMS["oi_asof"] = ("prev_night", "start_of_day", "eod")
_DEFAULT_FORMATS = {"date": "%Y-%m-%d", "expiration": "%Y-%m-%d", "quote_time": "%Y-%m-%d %H:%M:%S"}
_RIGHTS = {"C": "C", "CALL": "C", "P": "P", "PUT": "P"}
_SRC = "_src_"
_TRUE = ("true", "1", "yes", "y", "t")
_FALSE = ("false", "0", "no", "n", "f", "")


@dataclass(frozen=True)
class ColumnMapping:
    """A validated column mapping (see the module docstring)."""

    path: str
    columns: dict[str, str]
    constants: dict[str, Any] = field(default_factory=dict)
    date_formats: dict[str, str] = field(default_factory=dict)
    scale: dict[str, float] = field(default_factory=dict)
    rights: dict[str, str] = field(default_factory=dict)
    delimiter: str = ","
    source: str = NAME

    def has(self, column: str) -> bool:
        """Whether the mapping fills ``column`` from a source column or a constant."""
        return column in self.columns or column in self.constants


def load_mapping(path: Path) -> ColumnMapping:
    """Read and validate a YAML column mapping; every problem becomes one line of a :class:`ConfigError`."""
    import yaml

    where = str(path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        msg = f"{where}: mapping file not found"
        raise ConfigError(msg) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"line {mark.line + 1}: " if mark is not None else ""
        msg = f"{where}: {at}invalid YAML ({getattr(exc, 'problem', exc)})"
        raise ConfigError(msg) from None
    if not isinstance(doc, dict):
        msg = f"{where}: a column mapping must be a YAML mapping with a 'columns' section"
        raise ConfigError(msg)
    problems = [
        f"{where}: {key}: unknown section (got {key!r}); known: {', '.join(SECTIONS)}"
        for key in doc
        if key not in SECTIONS
    ]
    columns = _section(doc, "columns", where, problems, str)
    constants = _section(doc, "constants", where, problems, (str, int, float, bool))
    formats = _section(doc, "date_formats", where, problems, str)
    scale = _section(doc, "scale", where, problems, (int, float))
    rights = {str(k).strip().upper(): v.upper() for k, v in _section(doc, "rights", where, problems, str).items()}
    for key in columns.keys() & constants.keys():
        problems.append(f"{where}: constants.{key}: '{key}' is also mapped in columns; keep one")
    problems += [
        f"{where}: date_formats.{k}: only {', '.join(_DATES)} take a format" for k in formats if k not in _DATES
    ]
    problems += [
        f"{where}: date_formats.{k}: must be a strptime format such as %m/%d/%Y (got {v!r})"
        for k, v in formats.items()
        if "%" not in v
    ]
    problems += [
        f"{where}: scale.{k}: only float columns can be scaled ({', '.join(_FLOATS)})"
        for k in scale
        if k not in _FLOATS
    ]
    problems += [
        f"{where}: rights.{k}: must map to C or P (got {v!r})" for k, v in rights.items() if v not in ("C", "P")
    ]
    problems += _check_constants(constants, where)
    delimiter = doc.get("delimiter", ",")
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        problems.append(f"{where}: delimiter: must be one character (got {delimiter!r})")
    source = doc.get("source", NAME)
    if not isinstance(source, str) or not source.strip():
        problems.append(f"{where}: source: must be a non-empty adapter id (got {source!r})")
    mapping = ColumnMapping(
        where,
        columns,
        constants,
        formats,
        {k: float(v) for k, v in scale.items()},
        rights,
        delimiter if isinstance(delimiter, str) else ",",
        str(source).strip(),
    )
    problems += _check_complete(mapping, where) if not problems else []
    if problems:
        raise ConfigError(problems)
    return mapping


def _section(doc: dict[str, Any], key: str, where: str, problems: list[str], kinds: Any) -> dict[str, Any]:
    value = doc.get(key, {} if key != "columns" else None)
    if value is None and key == "columns":
        problems.append(f"{where}: columns: missing; map canonical columns to source columns (e.g. strike: Strike)")
        return {}
    if not isinstance(value, dict):
        problems.append(f"{where}: {key}: must be a mapping (got {value!r})")
        return {}
    out = {}
    for k, v in value.items():
        name = str(k)
        if key in ("columns", "constants", "date_formats", "scale") and name not in CANONICAL:
            problems.append(
                f"{where}: {key}.{name}: unknown canonical column (got {name!r}); known: {', '.join(CANONICAL)}"
            )
        elif (
            not isinstance(v, kinds)
            or (isinstance(v, str) and not v.strip())
            or (key == "scale" and isinstance(v, bool))
        ):
            problems.append(f"{where}: {key}.{name}: must be {_kind_text(kinds)} (got {v!r})")
        else:
            out[name] = v.strip() if isinstance(v, str) and key != "constants" else v
    return out


def _kind_text(kinds: Any) -> str:
    return "a non-empty string" if kinds is str else "a number" if kinds == (int, float) else "a scalar"


def _check_constants(constants: dict[str, Any], where: str) -> list[str]:
    out = []
    for key, value in constants.items():
        if key in _ENUMS and value not in _ENUMS[key]:
            out.append(f"{where}: constants.{key}: must be one of {', '.join(_ENUMS[key])} (got {value!r})")
        elif key == "quote_time" and not _parse_clock(value):
            out.append(f'{where}: constants.quote_time: must be an ET wall time "HH:MM", quoted (got {value!r})')
        elif key in _FLOATS + _INTS and (isinstance(value, bool) or not isinstance(value, int | float)):
            out.append(f"{where}: constants.{key}: must be a number (got {value!r})")
        elif key in ("date", "expiration") and not _as_date(value):
            out.append(f"{where}: constants.{key}: must be a date YYYY-MM-DD (got {value!r})")
    return out


def _check_complete(m: ColumnMapping, where: str) -> list[str]:
    out = []
    if not m.has("date"):
        out.append(f"{where}: columns.date: required (map the quote-date column, or set constants.date)")
    for key in ("expiration", "strike", "right"):
        if not m.has(key) and "occ_symbol" not in m.columns:
            out.append(f"{where}: columns.{key}: required unless columns.occ_symbol is mapped")
    return out


def _parse_clock(value: Any) -> dt.time | None:
    for fmt in ("%H:%M", "%H:%M:%S"):
        try:
            return dt.datetime.strptime(str(value), fmt).time()
        except ValueError:
            continue
    return None


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


# ----------------------------------------------------------------------------------------------- reading


def _fields(m: ColumnMapping) -> dict[str, Field]:
    out: dict[str, Field] = {}
    for canon, col in m.columns.items():
        numeric = canon in _FLOATS or canon in _INTS
        if col in out and out[col].dtype != (pl.Float64 if numeric else pl.String):
            out[col] = Field(pl.String)  # one source column used as text and as a number: read as text
        else:
            out[col] = Field(pl.Float64 if numeric else pl.String, is_required=canon == "strike")
    return out


def read(src: Source, options: ImportOptions, stats: ReadStats) -> Iterator[pl.DataFrame]:
    """Canonical batches of one mapped CSV."""
    m: ColumnMapping = options.mapping
    header = read_header(src, m.delimiter)
    for canon, col in m.columns.items():
        if col not in header:
            shown = ", ".join(header[:12]) + (", ..." if len(header) > 12 else "")
            msg = (
                f"{src.name}: line 1: column '{col}' is missing (mapped to {canon} by columns.{canon} in "
                f"{m.path}); got columns: {shown}"
            )
            raise DataError(msg, path=src.name, column=col, row=1)
    if not (m.has("underlying") or options.underlying or m.has("root") or "occ_symbol" in m.columns):
        msg = f"{m.path}: columns.underlying: required (map it, set constants.underlying, or pass --underlying)"
        raise ConfigError(msg)
    fields = _fields(m)
    for raw in csv_batches(src, fields, batch_rows=options.batch_rows, stats=stats, separator=m.delimiter):
        yield to_canonical(raw, m, options, src)


def _column(canon: str, col: str, m: ColumnMapping) -> tuple[pl.Expr, pl.Expr | None]:
    """(value, row problem or None) of one mapped canonical column (source columns are read as ``_src_<col>``)."""
    c = pl.col(f"{_SRC}{col}")
    if canon in _FLOATS:
        value = c.cast(pl.Float64, strict=False) * m.scale.get(canon, 1.0)
        return value, problem(c.is_not_null() & value.is_null(), f"column '{col}' must be a number; got ", c)
    if canon in _INTS:
        value, p = whole(col, c.cast(pl.Float64, strict=False))
        return value.cast(schema.OPTION_QUOTES[canon]), p
    text = c.cast(pl.String).str.strip_chars()
    if canon in ("date", "expiration"):
        return text.str.to_date(m.date_formats.get(canon, _DEFAULT_FORMATS[canon]), strict=False), None
    if canon == "quote_time":
        fmt = m.date_formats.get(canon, _DEFAULT_FORMATS[canon])
        parsed = text.str.to_datetime(fmt, strict=False, time_unit="ns")
        if "%z" in fmt:
            parsed = parsed.dt.convert_time_zone(schema.ET)
        else:
            parsed = parsed.dt.replace_time_zone(schema.ET, ambiguous="earliest", non_existent="null")
        return parsed, problem(
            text.is_not_null() & parsed.is_null(), f"column '{col}' must be a time {fmt}; got ", text
        )
    if canon == "right":
        table = {**_RIGHTS, **m.rights}
        value = text.str.to_uppercase().replace_strict(table, default=None, return_dtype=pl.String)
        return value, problem(
            text.is_not_null() & value.is_null(), f"column '{col}' must be call/put or C/P; got ", text
        )
    if canon in _ENUMS:
        allowed = _ENUMS[canon]
        norm = (
            text.str.to_lowercase() if canon == "style" else text.str.to_uppercase() if canon == "settlement" else text
        )
        value = pl.when(norm.is_in(allowed)).then(norm)
        return value, problem(
            text.is_not_null() & value.is_null(), f"column '{col}' must be one of {'/'.join(allowed)}; got ", text
        )
    if canon == "nonstandard":
        low = text.str.to_lowercase()
        value = pl.when(low.is_in(_TRUE)).then(True).when(low.is_in(_FALSE)).then(False)
        return value, problem(text.is_not_null() & value.is_null(), f"column '{col}' must be true/false; got ", text)
    if canon == "underlying":
        return text.str.strip_prefix("^"), None
    return text, None


def to_canonical(raw: pl.DataFrame, m: ColumnMapping, options: ImportOptions, src: Source) -> pl.DataFrame:
    """One batch of mapped rows -> canonical rows."""
    raw = raw.rename({c: f"{_SRC}{c}" for c in raw.columns if c not in (LINE, BAD)})
    exprs, problems = [], []
    for canon, col in m.columns.items():
        value, p = _column(canon, col, m)
        exprs.append(value.alias(canon))
        if p is not None:
            problems.append(p)
    frame = add_bad(raw.with_columns(exprs), *problems)
    for canon in ("date", "expiration"):
        if canon in m.columns:
            col = m.columns[canon]
            bad = pl.col(f"{_SRC}{col}").is_not_null() & pl.col(canon).is_null()
            row = frame.select(pl.arg_where(bad).first()).item()
            if row is not None:
                value = frame[f"{_SRC}{col}"][int(row)]
                raise_bad_value(src, int(frame[LINE][int(row)]), col, f"a date {_fmt(m, canon)}", value)
    frame = frame.with_columns([_constant(k, v) for k, v in m.constants.items() if k != "quote_time"])
    frame = _derive(frame, m, options)
    return finish(frame.select(LINE, BAD, *(c for c in schema.OPTION_QUOTES if c in frame.columns)), source=m.source)


def _fmt(m: ColumnMapping, canon: str) -> str:
    return m.date_formats.get(canon, _DEFAULT_FORMATS[canon])


def _constant(key: str, value: Any) -> pl.Expr:
    if key in ("date", "expiration"):
        return pl.lit(_as_date(value), dtype=pl.Date).alias(key)
    if key == "underlying":
        return pl.lit(str(value).strip().upper().lstrip("^")).alias(key)
    dtype = schema.OPTION_QUOTES[key]
    return pl.lit(value).cast(pl.String if dtype in (pl.Categorical,) or key in _ENUMS else dtype).alias(key)


def _derive(frame: pl.DataFrame, m: ColumnMapping, options: ImportOptions) -> pl.DataFrame:
    """Fill what the mapping leaves out: OCC parts, underlying, root, style, settlement, snapshot, times."""
    if "occ_symbol" in m.columns:
        parts = occ_parts(pl.col("occ_symbol"))
        frame = frame.with_columns(
            pl.coalesce(pl.col(k), v).alias(k) if k in frame.columns else v.alias(k) for k, v in parts.items()
        )
        bad = pl.col("occ_symbol").is_not_null() & parts["root"].is_null()
        text = f"column '{m.columns['occ_symbol']}' is not an OCC symbol; got "
        frame = add_bad(frame, problem(bad, text, pl.col("occ_symbol")))
    if "underlying" not in frame.columns:
        if options.underlying:
            frame = frame.with_columns(pl.lit(options.underlying).alias("underlying"))
        else:
            frame = frame.with_columns(underlying_from_root(pl.col("root")).alias("underlying"))
    if "root" not in frame.columns:
        frame = infer_roots(frame)
    extra = []
    if "style" not in frame.columns:
        extra.append(style_expr())
    if "settlement" not in frame.columns:
        extra.append(settlement_expr())
    if "snapshot" not in frame.columns:
        extra.append(pl.lit("eod").alias("snapshot"))
    frame = frame.with_columns(extra)
    if "quote_time" in m.constants:
        clock = _parse_clock(m.constants["quote_time"])
        qt = pl.col("date").dt.combine(clock).dt.replace_time_zone(schema.ET, ambiguous="earliest")  # type: ignore[arg-type]
        frame = frame.with_columns(qt.dt.cast_time_unit("ns").alias("quote_time"))
    elif "quote_time" not in frame.columns:
        frame = with_quote_time(frame, "eod")
    return frame.with_columns(occ_symbol())


IMPORTER = Importer(
    name=NAME,
    summary="any long option CSV through a YAML column mapping (--mapping map.yaml)",
    layouts={},
    read=read,
)
