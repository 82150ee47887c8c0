"""Map a legacy batch to the standard frame, as a department's feed declares.

``map_batch`` turns one connector :class:`~connectors.base.Batch` (legacy column names,
values as read) into the standard in-memory frame: one column per standard field with the
standard dtypes, the exchange columns (record_id, batch_id, operation), and the provenance
columns ``_source_ref``, ``_source_hash`` (sha256 of the raw row's canonical JSON) and
``record`` (that JSON, for the raw layer and the quarantine) — the stage contract of
``schemas.frames``.

Value problems found on the way (a date that does not parse, a legacy code the value map does
not know, an amount that is not a number, a row the connector could not read) become
``issues`` — the row stays in the frame, and validation quarantines it. Nothing is dropped.

Normalisation is declared with each field (``FieldSpec.normalise``, derived from type and
rules unless the YAML says): identifiers and codes get NFKC + trim + upper-case; names and
document numbers are kept as written; dates become ISO dates, amounts exact 元, booleans
True/False, lists joined by ",".
Every step is a pandas/pyarrow column operation; the only per-row Python is the sha256 of each
row's JSON (hashlib has no vectorised form).
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from dataclasses import dataclass
from string import Formatter
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from huiju.canonical import canonical_records, error_records, legacy_text, record_hashes
from schemas.catalog import exchange_fields
from schemas.code_tables import code_table
from schemas.frames import (
    ISSUE_COLUMNS,
    RAW_COLUMNS,
    RECORD,
    ROW_ERROR_RULE,
    SOURCE_HASH,
    SOURCE_REF,
    rule_id,
)
from schemas.model import LIST_SEPARATOR, DataSetSpec, FieldSpec, FieldType, Normalise
from schemas.rules.amounts import to_yuan
from schemas.rules.convert import (
    UTC_MICROS,
    to_boolean,
    to_datetime,
    to_decimal,
    to_integer,
)
from schemas.rules.dates import parse_dates
from schemas.rules.id_card import id15_to_18
from schemas.rules.spreadsheet import date_damage
from schemas.rules.text import normalise_code

if TYPE_CHECKING:
    from collections.abc import Iterable

    from connectors.base import Batch
    from huiju.departments import Department, Feed, FieldMapping

_log = logging.getLogger(__name__)

# separators of legacy lists: 、，,;； and any space (ideographic and no-break included); the
# characters are listed, not \\s, because the RE2 \\s of Arrow is ASCII-only
DEFAULT_SPLIT = "[、，,;；\t\n\r \u3000\u00a0]+"


class MappingError(ValueError):
    """The batch does not fit the feed at all (a configured legacy column is absent)."""


@dataclass
class Mapped:
    """A batch in the standard shape, plus the value problems found while mapping it.

    ``frame``: one row per extracted row (connector row errors included, as empty rows) with
    the data set's fields, the exchange columns and ``_source_ref``, ``_source_hash``,
    ``record``. ``issues``: one row per problem — ``row`` (position in ``frame``), ``field``
    (None for a whole-row problem), ``rule_id``, ``family``, ``message_zh``, ``message_en``,
    ``raw_value``.
    """

    frame: pd.DataFrame
    issues: pd.DataFrame


def frame_dtype(field: FieldSpec):
    """The pandas dtype of ``field`` in the standard frame."""
    kind = field.type
    if kind is FieldType.DATE:
        return "datetime64[s]"
    if kind is FieldType.DATETIME:
        return UTC_MICROS
    if kind is FieldType.DECIMAL:
        return pd.ArrowDtype(pa.decimal128(field.precision, field.scale))
    if kind is FieldType.INTEGER:
        return "Int64"
    if kind is FieldType.BOOLEAN:
        return "boolean"
    return "str"


def is_code_like(field: FieldSpec) -> bool:
    """Fields normalised with NFKC + trim + upper-case (codes and identifiers, not names).

    Declared with the field (``normalise``), so an identifier is cleaned the same way in every
    data set whatever rule — or conditional rule — later judges it.
    """
    return field.normalise in (Normalise.IDENTIFIER, Normalise.CODE)


# --------------------------------------------------------------------------- raw values


def _repeat(value: str | None, n: int) -> pd.Series:
    """A ``str`` column of ``n`` copies of ``value`` (built in Arrow: no Python list)."""
    if value is None:
        return pd.Series(pa.nulls(n, pa.large_string()), dtype="str")
    return pd.Series(pa.repeat(pa.scalar(value, pa.large_string()), n), dtype="str")


def _strings(values: list[str]) -> pd.Series:
    return pd.Series(pa.array(values, type=pa.large_string()), dtype="str")


def _blank_to_missing(text: pd.Series) -> pd.Series:
    return text.mask(text.str.strip() == "")


# --------------------------------------------------------------------------- issues


class _Issues:
    def __init__(self, dataset: str) -> None:
        self.dataset = dataset
        self.parts: list[pd.DataFrame] = []

    def add(self, mask: np.ndarray, raw: pd.Series, field: str | None, kind: str, family: str,
            zh: str, en: str) -> None:
        rows = np.flatnonzero(mask)
        if len(rows) == 0:
            return
        rule = ROW_ERROR_RULE if field is None and kind == "PARSE" else \
            rule_id(family, kind, self.dataset, (field,))
        self.parts.append(pd.DataFrame({
            "row": rows.astype(np.int64),
            "rule_id": rule, "family": family,
            "field": pd.Series([field] * len(rows), dtype="str"),
            "message_zh": zh, "message_en": en,
            "raw_value": raw.iloc[rows].reset_index(drop=True).astype("str"),
        }))

    def frame(self) -> pd.DataFrame:
        if not self.parts:
            empty = {c: pd.Series(dtype="str") for c in ISSUE_COLUMNS}
            empty["row"] = pd.Series(dtype=np.int64)
            return pd.DataFrame(empty)
        issues = pd.concat(self.parts, ignore_index=True)
        for column in ISSUE_COLUMNS[1:]:
            issues[column] = issues[column].astype("str")
        return issues.sort_values(["row", "rule_id"], kind="stable", ignore_index=True)


# --------------------------------------------------------------------------- fields


def _nfkc_key(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip()


def _source_values(rule: FieldMapping, texts: dict[str, pd.Series], n: int) -> pd.Series:
    if rule.column is not None:
        values = texts[rule.column]
    elif rule.const is not None:
        const = rule.const
        text = ("true" if const else "false") if isinstance(const, bool) else str(const)
        values = _repeat(text, n)
    else:
        values = None
        for literal, name, _, _ in Formatter().parse(rule.template or ""):
            piece = _repeat(literal, n) if literal else None
            if name:
                column = _blank_to_missing(texts[name]).fillna("")
                piece = column if piece is None else piece + column
            if piece is not None:
                values = piece if values is None else values + piece
        # a template whose every column is empty is missing, not its literal text
        empty = np.ones(n, dtype=bool)
        for name in rule.template_columns:
            empty &= _blank_to_missing(texts[name]).isna().to_numpy()
        values = values.mask(pd.Series(empty, index=values.index))
    values = _blank_to_missing(values)
    if rule.default is not None:
        values = values.fillna(rule.default)
    return values


def _translate(values: pd.Series, rule: FieldMapping, field: FieldSpec) -> tuple[
        pd.Series, np.ndarray]:
    """Apply the value map and code-table labels; return (values, unmapped mask).

    A value the map and the labels do not know is left as it is; when the field has a code
    table and it is not already one of its codes, it is ``unmapped``.
    """
    table = code_table(field.code_table) if field.code_table else None
    unmapped = np.zeros(len(values), dtype=bool)
    if not rule.values and not rule.labels:
        return values, unmapped
    keys = values.str.normalize("NFKC").str.strip()
    lookup: dict[str, str] = {}
    if rule.labels and table is not None:
        lookup.update({_nfkc_key(label): code for code, label in table.labels.items()})
    lookup.update({_nfkc_key(k): v for k, v in (rule.values or {}).items()})
    translated = keys.map(lookup)
    hit = translated.notna()
    result = values.where(~hit, translated).astype("str")
    if table is not None:
        normalised = normalise_code(keys) if is_code_like(field) else keys
        known = normalised.isin(list(table.codes))
        unmapped = (values.notna() & ~hit & ~known).to_numpy(dtype=bool)
    return result, unmapped


def _split_pattern(rule: FieldMapping) -> str:
    if rule.split is False:
        return re.escape(LIST_SEPARATOR)
    if isinstance(rule.split, str):
        return "[" + re.escape(rule.split) + "]+"
    return DEFAULT_SPLIT


def _to_list(values: pd.Series, rule: FieldMapping, field: FieldSpec) -> tuple[
        pd.Series, np.ndarray]:
    """Split each value into elements, clean (and for code lists translate) them, join by ",".

    Returns the joined values and the rows holding an element the value map and code table
    do not know. Arrow list kernels do the split and the join; no Python loop per value.
    """
    n = len(values)
    text = pa.array(values.to_numpy(dtype=object, na_value=None), type=pa.large_string())
    lists = pc.split_pattern_regex(text, _split_pattern(rule))
    parents = pc.list_parent_indices(lists).to_numpy()
    parts = pd.Series(pc.list_flatten(lists).to_pandas(), dtype="str").str.strip()
    parts = parts.mask(parts == "")
    unmapped_rows = np.zeros(n, dtype=bool)
    if field.code_table:
        parts, unmapped = _translate(parts, rule, field)
        unmapped_rows[parents[unmapped]] = True
    if is_code_like(field):   # each element of a list of codes or identifiers, the same way
        parts = normalise_code(parts)
    keep = parts.notna().to_numpy(dtype=bool)
    counts = np.bincount(parents[keep], minlength=n)
    offsets = pa.array(np.concatenate([[0], np.cumsum(counts)]).astype(np.int64))
    elements = pa.array(parts[keep].to_numpy(dtype=object), type=pa.large_string())
    joined = pc.binary_join(pa.LargeListArray.from_arrays(offsets, elements),
                            pa.scalar(LIST_SEPARATOR, pa.large_string()))
    joined = pc.if_else(pa.array(counts > 0), joined, pa.scalar(None, pa.large_string()))
    return pd.Series(joined.to_pandas(), dtype="str"), unmapped_rows


def _to_amount(text: pd.Series, rule: FieldMapping, field: FieldSpec) -> tuple[
        pd.Series, np.ndarray]:
    unit = rule.unit or field.unit or "元"
    values, bad = to_yuan(text, unit)
    dtype = pd.ArrowDtype(pa.decimal128(field.precision, field.scale))
    if values.dtype != dtype:
        values = values.astype(dtype)
    return values.reset_index(drop=True), np.asarray(bad, dtype=bool)


def _typed(table: pa.Table, rule: FieldMapping) -> pa.ChunkedArray | None:
    """The legacy column as the connector typed it (SQL dates, timestamps), if there is one."""
    if rule.column is None or rule.column not in table.column_names or rule.values:
        return None
    return table.column(rule.column)


ValueProblem = tuple[np.ndarray, str, str, str, str]  # (mask, kind, family, message zh, en)


def _kept_as_written(field: FieldSpec, rule: FieldMapping) -> bool:
    """Whether ``_convert`` gives back the legacy text as it is, finding no problem: names,
    document numbers and free text with no value map. Such a column is neither factorised
    nor converted (its values are mostly distinct: 19 ms per 60,000 rows for nothing)."""
    return (field.type in (FieldType.STRING, FieldType.TEXT, FieldType.CODE)
            and not (rule.values or rule.labels or rule.id15to18 or is_code_like(field)))


def _convert(field: FieldSpec, rule: FieldMapping, values: pd.Series) -> tuple[
        pd.Series, list[ValueProblem]]:
    """Standard values of ``field`` from legacy text, and the problems found (one mask each).

    A pure function of each value, so the caller runs it once per distinct value.
    """
    if _kept_as_written(field, rule):
        return values.reset_index(drop=True).astype(frame_dtype(field)), []
    kind = field.type
    label = f"{field.zh}（{field.name}）"
    problems: list[ValueProblem] = []
    if kind is FieldType.LIST:
        joined, unmapped = _to_list(values, rule, field)
        problems.append((unmapped, "VALUEMAP", "01",
                         f"{label}含有值映射和代码表均无法识别的旧系统代码",
                         f"{field.name} holds a legacy value neither the value map nor the "
                         f"code table {field.code_table} knows"))
        return joined, problems

    translated, unmapped = _translate(values, rule, field)
    problems.append((unmapped, "VALUEMAP", "01",
                     f"{label}的旧系统值不在值映射或代码表{field.code_table}中",
                     f"{field.name}: legacy value not in the value map or code table "
                     f"{field.code_table}"))
    if kind is FieldType.DATE:
        converted, bad = parse_dates(translated, formats=rule.date_format)
        converted = converted.astype("datetime64[s]")
        problems.append((np.asarray(bad, dtype=bool), "DATE", "10", f"{label}无法识别为日期",
                         f"{field.name} is not a recognisable date"))
        problems.append(_year_as_date(translated, bad, label, field.name))
    elif kind is FieldType.DATETIME:
        converted, bad = to_datetime(translated, None)
        problems.append((bad, "DATETIME", "10", f"{label}无法识别为日期时间",
                         f"{field.name} is not a recognisable timestamp"))
    elif kind is FieldType.DECIMAL and (rule.unit is not None
                                        or field.normalise is Normalise.AMOUNT):
        converted, bad = _to_amount(translated, rule, field)
        problems.append((bad, "AMOUNT", "01", f"{label}不是有效金额",
                         f"{field.name} is not a valid amount"))
    elif kind is FieldType.DECIMAL:
        converted, bad = to_decimal(translated, field.precision, field.scale)
        problems.append((bad, "DECIMAL", "01", f"{label}不是有效数值",
                         f"{field.name} is not a valid number"))
    elif kind is FieldType.INTEGER:
        converted, bad = to_integer(translated)
        problems.append((bad, "INTEGER", "01", f"{label}不是整数",
                         f"{field.name} is not an integer"))
    elif kind is FieldType.BOOLEAN:
        converted, bad = to_boolean(translated)
        problems.append((bad, "BOOLEAN", "01", f"{label}应为是/否",
                         f"{field.name} is not a yes/no value (是/否)"))
    elif is_code_like(field) or rule.id15to18:  # an ID number is an identifier wherever it is
        converted = normalise_code(translated)
        if rule.id15to18:
            converted = id15_to_18(converted)
    else:  # names, document numbers, free text: kept as written
        converted = translated
    return converted.reset_index(drop=True).astype(frame_dtype(field)), problems


def _year_as_date(text: pd.Series, bad, label: str, name: str) -> ValueProblem:
    """A year (or year.month) where a date belongs: Excel reads ``2021`` as day 2021 of its
    calendar (1905-07-13), so the date "parses" — and is wrong. Told to the clerk as such."""
    mask = date_damage(text).to_numpy(dtype=bool) & ~np.asarray(bad, dtype=bool)
    return (mask, "DATEYEAR", "10",
            f"{label}只填了年份（或年月）：表格会把这个数字当成日期序号（如2021会变成1905-07-13）。"
            "请填写完整日期（如2021-03-26），并把这一列设置为“日期”或“文本”格式后重新导出",
            f"{name} holds only a year (or year.month): a spreadsheet reads such a number as "
            "a day count (2021 becomes 1905-07-13). Enter the full date (e.g. 2021-03-26), "
            "format the column as Date or Text and export again")


def _map_field(field: FieldSpec, rule: FieldMapping, texts: dict[str, pd.Series],
               table: pa.Table, n: int, issues: _Issues) -> pd.Series:
    """One standard column. Conversion runs once per distinct legacy value, then is spread
    back over the rows: codes, dates and labels repeat a lot, and NFKC is per value in pandas."""
    raw = _source_values(rule, texts, n)
    typed = _typed(table, rule)
    if typed is not None and (pa.types.is_date(typed.type) or pa.types.is_timestamp(typed.type)):
        if field.type is FieldType.DATE:
            return parse_dates(typed.to_pandas())[0].reset_index(drop=True)
        if field.type is FieldType.DATETIME:
            return to_datetime(raw, typed)[0].reset_index(drop=True)
    if _kept_as_written(field, rule):
        return _convert(field, rule, raw)[0]
    codes, uniques = pd.factorize(raw, use_na_sentinel=True)
    distinct = pd.Series(uniques, dtype="str").reset_index(drop=True)
    converted, problems = _convert(field, rule, distinct)
    present = codes >= 0
    for mask, kind, family, zh, en in problems:
        if mask.any():
            rows = np.zeros(n, dtype=bool)
            rows[present] = mask[codes[present]]
            issues.add(rows, raw, field.name, kind, family, zh, en)
    return pd.Series(converted.array.take(codes, allow_fill=True), dtype=frame_dtype(field))


# --------------------------------------------------------------------------- batch


def _empty(field: FieldSpec, n: int) -> pd.Series:
    """An all-missing column of ``field``'s dtype (an optional field the feed does not map)."""
    dtype = frame_dtype(field)
    if dtype == "str":
        return _repeat(None, n)
    if isinstance(dtype, pd.ArrowDtype):
        return pd.Series(pa.nulls(n, dtype.pyarrow_dtype), dtype=dtype)
    missing = np.ones(n, dtype=bool)
    if dtype == "Int64":
        return pd.Series(pd.arrays.IntegerArray(np.zeros(n, dtype=np.int64), missing))
    if dtype == "boolean":
        return pd.Series(pd.arrays.BooleanArray(np.zeros(n, dtype=bool), missing))
    if dtype == UTC_MICROS:
        return pd.Series(np.full(n, np.datetime64("NaT"), "datetime64[us]")).dt.tz_localize("UTC")
    return pd.Series(np.full(n, np.datetime64("NaT"), dtype))


def mapped_columns(feed: Feed) -> list[str]:
    """Every legacy column the feed's mapping, record id and operation flag read."""
    names = [c for rule in feed.mapping.values() for c in rule.columns]
    names += [c for c in (feed.record_id.column, feed.operation.column) if c]
    return list(dict.fromkeys(names))


def absent_columns_message(feed: Feed, missing: list[str], present: list[str]) -> str:
    """The sentence naming mapped legacy columns the source lacks, with the closest it has."""
    import difflib

    hints = []
    for name in missing:
        close = difflib.get_close_matches(name, present, n=3, cutoff=0.5)
        hints.append(f"{name!r} (closest: {', '.join(close)})" if close else repr(name))
    return (f"feed {feed.dataset}: mapped legacy column(s) {', '.join(hints)} not in the "
            f"source (it has {', '.join(present)})")


def _check_columns(feed: Feed, spec: DataSetSpec, table: pa.Table,
                   sparse: bool = False) -> list[str]:
    """Legacy columns the feed reads that the batch lacks.

    A source with a fixed set of columns (a table, a file's header) must have every mapped
    column: a misspelled one would otherwise load empty values over real ones. Only a
    ``sparse`` source (a JSON API leaves out null keys) may lack a column feeding optional
    fields: it reads as missing values and is returned. A column feeding a required field, the
    record id or the operation flag must always be there.
    """
    present = set(table.column_names)
    needed = {c for name, rule in feed.mapping.items() for c in rule.columns
              if spec.field(name).required or not sparse}
    needed |= {c for c in (feed.record_id.column, feed.operation.column) if c}
    optional = {c for rule in feed.mapping.values() for c in rule.columns} - needed
    missing = sorted(needed - present)
    if missing and table.num_rows:
        raise MappingError(absent_columns_message(feed, missing, list(table.column_names)))
    return sorted((optional | needed) - present)


def _operation(feed: Feed, texts: dict[str, pd.Series], n: int, issues: _Issues) -> pd.Series:
    rule = feed.operation
    default = _repeat(rule.default, n)
    if rule.column is None or rule.column not in texts:
        return default
    raw = _blank_to_missing(texts[rule.column])
    keys = raw.str.normalize("NFKC").str.strip()
    lookup = {_nfkc_key(k): v for k, v in rule.values.items()}
    flags = keys.map(lookup)
    direct = keys.str.lower().where(keys.str.lower().isin(["i", "u", "d"]))
    flags = flags.fillna(direct)
    bad = (keys.notna() & flags.isna()).to_numpy(dtype=bool)
    issues.add(bad, raw, "operation", "OPERATION", "02",
               "操作标识无法映射为 i/u/d", "operation flag does not map to i/u/d")
    return flags.fillna(rule.default).astype("str")


def _record_id(feed: Feed, spec: DataSetSpec, department: Department, frame: pd.DataFrame,
               texts: dict[str, pd.Series]) -> pd.Series:
    if feed.record_id.column is not None and feed.record_id.column in texts:
        return _blank_to_missing(texts[feed.record_id.column]).str.strip().astype("str")
    key = None
    for name in spec.business_key:
        column = frame[name]
        if pd.api.types.is_datetime64_any_dtype(column.dtype):
            text = column.dt.strftime("%Y-%m-%d")
        else:
            text = column.astype("str")
        text = text.fillna("")
        key = text if key is None else key + "|" + text
    derived = (department.code + ":" + key).astype("str")
    # a long business key would overflow 记录唯一标识: those ids carry the key's sha256 instead
    limit = next(f.length for f in exchange_fields() if f.name == "record_id") or 64
    long = (derived.str.len() > limit).to_numpy(dtype=bool)
    if long.any():
        digests = [hashlib.sha256(k.encode("utf-8")).hexdigest() for k in key[long]]
        prefix = department.code + ":#"
        derived[long] = [prefix + d[: limit - len(prefix)] for d in digests]
    return derived


def _pad(table: pa.Table, n: int) -> pa.Table:
    """``table`` with null rows appended up to ``n`` rows (one per unreadable row)."""
    if table.num_rows == n or table.num_columns == 0:
        return table
    extra = n - table.num_rows
    return pa.table({
        name: pa.chunked_array([*table.column(name).chunks,
                                pa.nulls(extra, table.column(name).type)],
                               type=table.column(name).type)
        for name in table.column_names})


def map_batch(batch: Batch, feed: Feed, spec: DataSetSpec, department: Department,
              batch_id: str, sparse: bool = False) -> Mapped:
    """Map one legacy batch to the standard frame of ``spec`` as ``feed`` declares.

    Rows the connector could not read (``batch.errors``) are appended as empty rows with
    their source reference and raw text, each with a ``01-PARSE-row`` issue, so that every
    extracted row is accounted for downstream. Raises MappingError when a configured legacy
    column is absent from a non-empty batch (for a ``sparse`` source, one feeding a required
    field).
    """
    table = batch.table
    absent = _check_columns(feed, spec, table, sparse)
    n_read = table.num_rows
    error_refs = [error.ref for error in batch.errors]
    n = n_read + len(error_refs)
    issues = _Issues(spec.name)

    texts = {name: legacy_text(table.column(name)) for name in table.column_names}
    records = pa.concat_arrays([canonical_records(table, texts),
                                pa.array(error_records(batch.errors), type=pa.large_string())])
    if n_read < n:  # connector row errors: the mapped columns see them as missing values
        texts = {name: pd.concat([text, _repeat(None, n - n_read)], ignore_index=True)
                 for name, text in texts.items()}
    padded = _pad(table, n)
    if absent and n_read:  # an empty batch (an API with nothing new) has no columns at all
        _log.warning("feed %s of %s: legacy columns %s absent from the batch; read as empty",
                     spec.name, department.code, absent)
    for name in absent:
        texts[name] = _repeat(None, n)

    columns: dict[str, pd.Series] = {}
    for field in spec.fields:
        rule = feed.mapping.get(field.name)
        if rule is None:
            columns[field.name] = _empty(field, n)
        else:
            columns[field.name] = _map_field(field, rule, texts, padded, n, issues).reset_index(
                drop=True)
    frame = pd.DataFrame(columns, index=pd.RangeIndex(n))

    frame["record_id"] = _record_id(feed, spec, department, frame, texts).to_numpy()
    frame["batch_id"] = _repeat(batch_id, n)
    frame["operation"] = _operation(feed, texts, n, issues)
    for field in exchange_fields():
        frame[field.name] = frame[field.name].astype("str")
    frame[SOURCE_REF] = _strings([*batch.refs, *error_refs])
    frame[RECORD] = pd.Series(records, dtype="str")
    frame[SOURCE_HASH] = pd.Series(record_hashes(records), dtype="str")
    frame = frame[[f.name for f in spec.fields] + [f.name for f in exchange_fields()]
                  + list(RAW_COLUMNS)]

    if error_refs:
        rows = np.zeros(n, dtype=bool)
        rows[n_read:] = True
        raw = pd.Series([None] * n_read + [e.raw for e in batch.errors], dtype="str")
        messages = [e.message for e in batch.errors]
        issues.add(rows, raw, None, "PARSE", "01", "该行无法读取", "the row could not be read")
        # keep the connector's own explanation for each unreadable row
        part = issues.parts[-1]
        part["message_en"] = [f"the row could not be read: {m}" for m in messages]
        part["message_zh"] = [f"该行无法读取：{m}" for m in messages]
    return Mapped(frame=frame, issues=issues.frame())


@dataclass
class MappedRun:
    """Every batch of one read, mapped and concatenated (issue rows renumbered to match)."""

    frame: pd.DataFrame | None  # None when the source yielded no batch
    issues: pd.DataFrame | None  # None when no batch had an issue
    rows: int
    cursor: dict | None  # the last batch's cursor
    batches: int
    drained: bool = True  # False: stopped at max_rows, the source may hold more


def map_batches(batches: Iterable[Batch], feed: Feed, spec: DataSetSpec, department: Department,
                batch_id: str, max_rows: int | None = None, sparse: bool = False,
                max_bytes: int | None = None) -> MappedRun:
    """Map every batch of a read with ``map_batch`` into one standard frame.

    With ``max_rows`` (or ``max_bytes`` of the source's Arrow tables), reading stops after the
    batch that reaches it: the cursor is that batch's, so the next read goes on from there.
    (Not one batch more is read to see whether the source is drained: a files connector takes
    being resumed past a file's last batch as leave to archive it.) This bounds what a run
    holds at once to one chunk.
    """
    frames: list[pd.DataFrame] = []
    issues: list[pd.DataFrame] = []
    rows, size, cursor, count, drained = 0, 0, None, 0, True
    for batch in batches:
        mapped = map_batch(batch, feed, spec, department, batch_id, sparse)
        if len(mapped.issues):
            issues.append(mapped.issues.assign(row=mapped.issues["row"] + rows))
        frames.append(mapped.frame)
        rows += len(mapped.frame)
        size += batch.table.nbytes + sum(len(e.raw or "") for e in batch.errors)
        cursor, count = batch.cursor, count + 1
        if (max_rows is not None and rows >= max_rows) or (
                max_bytes is not None and size >= max_bytes):
            drained = False
            break
    return MappedRun(pd.concat(frames, ignore_index=True) if frames else None,
                     pd.concat(issues, ignore_index=True) if issues else None,
                     rows, cursor, count, drained)
