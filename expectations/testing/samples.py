"""Valid standard frames of any data set, generated from its schema (tests, benchmarks, demos).

``sample_frame(spec, rows)`` returns a frame that passes the data set's whole suite: every
column in its standard dtype, codes from the right code table, identifiers that pass their
value rules, dates in declared order, business keys unique, conditional rules satisfied.
Tests then break one value at a time. Generation is vectorised (pools of valid values
sampled with numpy), so a million rows take seconds.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa

from schemas.catalog import all_fields
from schemas.code_tables import code_table
from schemas.model import LIST_SEPARATOR, DataSetSpec, FieldSpec, FieldType

BASE_DATE = np.datetime64("2020-01-06", "s")
DAY = np.timedelta64(86400, "s")


def _digits(rng: np.random.Generator, width: int) -> str:
    return "".join(map(str, rng.integers(0, 10, width)))


def _uscc(rng: np.random.Generator) -> str:
    from schemas.rules.org_code import org_code_check_char
    from schemas.rules.uscc import uscc_check_char

    body = _digits(rng, 8)
    first17 = "91620102" + body + org_code_check_char(body)
    return first17 + uscc_check_char(first17)


def _id_card(rng: np.random.Generator) -> str:
    from schemas.rules.id_card import id_check_char

    born = f"{rng.integers(1950, 2000)}{rng.integers(1, 13):02d}{rng.integers(1, 29):02d}"
    first17 = "620102" + born + _digits(rng, 3)
    return first17 + id_check_char(first17)


def _org_code(rng: np.random.Generator) -> str:
    from schemas.rules.org_code import org_code_check_char

    body = _digits(rng, 8)
    return body + org_code_check_char(body)


def _division(rng: np.random.Generator) -> str:
    from schemas.rules.divisions import GANSU

    codes = sorted(GANSU)
    return codes[int(rng.integers(0, len(codes)))]


MAKERS: dict[str, Callable[[np.random.Generator], str]] = {
    "uscc": _uscc,
    "id_card": _id_card,
    "uscc_or_id_card": lambda rng: _uscc(rng) if rng.random() < 0.5 else _id_card(rng),
    "org_code": _org_code,
    "gansu_division_code": _division,
    "supervise_item_code": lambda rng: "6200" + _digits(rng, 10),
    "check_list_code": lambda rng: _uscc(rng) + str(rng.integers(1, 6)) + _digits(rng, 4),
    "year": lambda rng: str(rng.integers(2015, 2024)),
    "ratio": lambda rng: str(rng.integers(0, 101)),
    "batch_id": lambda rng: "20240512" + f"{rng.integers(1, 99999):05d}",
    "operation": lambda rng: "iu"[int(rng.integers(0, 2))],
}


def valid_values(rule: str, count: int, seed: int = 0, exact: bool = True) -> list[str]:
    """``count`` distinct values that pass ``schemas.rules.RULES[rule]`` (up to ``count`` if
    not ``exact``: some rules have few valid values, like the operation flags)."""
    from schemas.rules import RULES

    rng = np.random.default_rng(seed)
    values: dict[str, None] = {}
    for _ in range(count * 20):
        if len(values) == count:
            break
        values[MAKERS[rule](rng)] = None
    out = list(values)
    codes = RULES[rule].check(pd.Series(out, dtype="str"))
    if (exact and len(out) < count) or not out or codes.any():
        raise RuntimeError(f"could not make {count} valid {rule} values")
    return out


def _date_offsets(spec: DataSetSpec) -> dict[str, int]:
    """Days after BASE_DATE per date field so that every date_order check holds."""
    offsets: dict[str, int] = {}
    for check in spec.checks:
        if check.kind == "date_order":
            for position, name in enumerate(check.fields):
                offsets[name] = max(offsets.get(name, 0), position * 30)
    return offsets


def _column(field: FieldSpec, spec: DataSetSpec, rows: int, rng: np.random.Generator,
            offsets: dict[str, int], row_days: np.ndarray) -> pd.Series:
    positions = np.arange(rows)
    unique = field.name in spec.business_key or field.name == "record_id"
    if field.rules and field.type in (FieldType.STRING, FieldType.TEXT, FieldType.CODE):
        pool = valid_values(field.rules[0], rows if unique else min(rows, 64), exact=unique)
        picks = positions if unique else rng.integers(0, len(pool), rows)
        return pd.Series(np.asarray(pool, dtype=object)[picks], dtype="str")
    if field.type in (FieldType.STRING, FieldType.TEXT):
        if field.exact_length:
            numbers = pd.Series(positions % (10 ** min(field.length, 18)), dtype="int64")
            return numbers.astype("str").str.zfill(field.length).astype("str")
        text = f"{field.zh}" if not unique else f"{field.name[:8]}-"
        series = (text + pd.Series(positions, dtype="int64").astype("str")).astype("str")
        return series.str.slice(0, field.length) if field.length else series
    if field.type in (FieldType.CODE, FieldType.LIST):
        return _code_or_list_column(field, rows, rng)
    if field.type is FieldType.DATE:
        days = row_days + rng.integers(0, 30, rows) + offsets.get(field.name, 0)
        return pd.Series(BASE_DATE + days * DAY, dtype="datetime64[s]")
    if field.type is FieldType.DATETIME:
        stamps = (BASE_DATE + rng.integers(0, 400 * 86400, rows).astype("timedelta64[s]"))
        return pd.Series(stamps).astype("datetime64[us]").dt.tz_localize("UTC")
    if field.type is FieldType.DECIMAL:
        return _decimal_column(field, rows, rng)
    if field.type is FieldType.INTEGER:
        low, high = (2015, 2024) if "year" in field.rules else (0, 1000)
        return pd.Series(rng.integers(low, high, rows), dtype="Int64")
    if field.type is FieldType.BOOLEAN:
        return pd.Series(rng.integers(0, 2, rows).astype(bool), dtype="boolean")
    raise ValueError(f"no sample for {field.name} of type {field.type}")


def _code_or_list_column(field: FieldSpec, rows: int, rng: np.random.Generator) -> pd.Series:
    """Codes of the field's table; a list joins ``min_items`` of them (or of made-up items)."""
    count = max(field.min_items or 1, 1)
    if field.code_table is None:  # a list of free items
        items = [f"{field.zh}{k}" for k in range(count)]
        return pd.Series([LIST_SEPARATOR.join(items)] * rows, dtype="str")
    codes = np.asarray(sorted(code_table(field.code_table).codes), dtype=object)
    if field.type is FieldType.CODE:
        return pd.Series(codes[rng.integers(0, len(codes), rows)], dtype="str")
    parts = [pd.Series(codes[rng.integers(0, len(codes), rows)], dtype="str")
             for _ in range(count)]
    joined = parts[0]
    for part in parts[1:]:
        joined = joined + LIST_SEPARATOR + part
    return joined


def _decimal_column(field: FieldSpec, rows: int, rng: np.random.Generator) -> pd.Series:
    """Exact decimals within the field's precision (a ratio stays under 100)."""
    scale = 10 ** field.scale
    whole = 10 ** max(0, min(field.precision - field.scale - 1, 6))
    cents = rng.integers(0, whole * scale, rows)
    if "ratio" in field.rules:
        cents = rng.integers(0, 100 * scale, rows)
    whole_part = pd.Series(cents // scale, dtype="int64").astype("str")
    text = whole_part if not field.scale else (
        whole_part + "." + pd.Series(cents % scale, dtype="int64").astype("str")
        .str.zfill(field.scale))
    dtype = pa.decimal128(field.precision, field.scale)
    array = pa.array(text.to_numpy(dtype=object), pa.string()).cast(dtype)
    return pd.Series(array, dtype=pd.ArrowDtype(dtype))


def sample_frame(spec: DataSetSpec, rows: int, seed: int = 0) -> pd.DataFrame:
    """``rows`` valid rows of ``spec`` as a standard frame (with provenance columns)."""
    from expectations.checks import condition_mask

    rng = np.random.default_rng(seed)
    offsets = _date_offsets(spec)
    row_days = rng.integers(0, 1500, rows)  # one base day per row keeps its dates in order
    frame = pd.DataFrame({f.name: _column(f, spec, rows, rng, offsets, row_days)
                          for f in all_fields(spec)})
    for check in spec.checks:  # make conditional rules hold
        if check.kind != "rule_when":
            continue
        when = check.when
        applies = condition_mask(frame, when.field, when.in_, when.contains, when.present)
        for name in check.fields:
            pool = np.asarray(valid_values(check.rule, 64, seed=len(name), exact=False),
                              dtype=object)
            values = frame[name].to_numpy(dtype=object)
            values[applies] = pool[rng.integers(0, len(pool), int(applies.sum()))]
            frame[name] = pd.Series(values, dtype="str")
    frame["_source_ref"] = ("sample:" + spec.name + "#row=" +
                            pd.Series(np.arange(rows), dtype="int64").astype("str")).astype("str")
    frame["_source_hash"] = pd.Series(np.arange(rows), dtype="int64").map("{:064x}".format) \
        .astype("str")
    return frame


_OTHER_RULE = {"uscc": "id_card", "id_card": "uscc", "uscc_or_id_card": None}


def _invalid(field: FieldSpec, rule: str | None):
    """A value of ``field``'s type that breaks ``rule`` (or any identifier rule)."""
    from decimal import Decimal

    if field.type is FieldType.DATE:
        return pd.Timestamp("2099-01-01")
    if field.type is FieldType.INTEGER:
        return 1999
    if field.type is FieldType.DECIMAL:
        return Decimal("150")
    other = _OTHER_RULE.get(rule or "")
    if other:
        return valid_values(other, 1)[0]
    return "X!"


def _meet_condition(frame: pd.DataFrame, when: dict, row: int) -> None:
    """Make a conditional rule's condition hold on row ``row``."""
    column = when["when_column"]
    if when.get("when_in"):
        value = when["when_in"][0]
        if pd.api.types.is_bool_dtype(frame[column].dtype):
            value = str(value).lower() in ("true", "1", "是")
        frame.loc[row, column] = value
    elif when.get("when_contains"):
        frame.loc[row, column] = when["when_contains"]
    elif when.get("when_present") is not None:
        frame.loc[row, column] = _present_value(frame[column]) if when["when_present"] else None


def _present_value(values: pd.Series):
    """A value of the column's type (a date column holds dates, a number column numbers)."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return pd.Timestamp("2021-03-26")
    if pd.api.types.is_numeric_dtype(values.dtype) or isinstance(values.dtype, pd.ArrowDtype):
        present = values.dropna()
        return present.iloc[0] if len(present) else 1
    return "X"


def break_rule(frame: pd.DataFrame, spec: DataSetSpec, meta: dict, row: int) -> None:
    """Change row ``row`` of a valid sample ``frame`` (RangeIndex) so it breaks the rule ``meta``
    (one expectation's meta from ``expectations.suites``). Other rules may break too."""
    from decimal import Decimal

    from schemas.catalog import all_fields

    fields = {f.name: f for f in all_fields(spec)}
    kind, names = meta["kind"], meta["fields"]
    if meta.get("when"):
        _meet_condition(frame, meta["when"], row)
    name = names[0]
    field = fields[name]
    if kind in ("REQUIRED", "REQUIREDWHEN"):
        for target in names:
            frame.loc[row, target] = None
    elif kind == "LENGTH":
        frame.loc[row, name] = ("1" if meta.get("exact_length") else "长") * (meta["length"] + 1)
    elif kind == "CODE":
        frame.loc[row, name] = "ZZZ"
    elif kind == "ITEMS":
        frame.loc[row, name] = "only-one"
    elif kind == "NONNEGATIVE":
        frame.loc[row, name] = Decimal("-1")
    elif kind == "DATEORDER":
        frame.loc[row, name] = frame.loc[row, names[-1]] + pd.Timedelta(days=10)
    elif kind == "LATEST":
        raise ValueError("a business key is repeated across rows, not broken in one")
    else:  # a value rule, plain or conditional
        frame.loc[row, name] = _invalid(field, meta.get("rule"))
