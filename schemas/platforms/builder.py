"""Payload builders generated from the shape declarations.

``compile_resource`` turns a resource's field list into one function ``row → payload``: for
each field a getter (standard field, constant or named compute function) followed by the
declared steps (split a list, translate codes, mask, join, convert the unit) and the
formatting of its payload type. Nothing here names a platform field; the work per row is a
dict comprehension over prepared closures, so 100 000 payloads take a few seconds.

Payload values are JSON-ready: text as ``str``; dates ``YYYY-MM-DD``; decimals as ``str``
with a fixed number of places (``"0.200000"``: exact, no float rounding); integers as
``int``; booleans of the national exchange as ``是``/``否``; an empty value as ``None``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from schemas.catalog import all_fields, dataset
from schemas.code_tables import code_table
from schemas.model import FieldSpec, FieldType
from schemas.platforms.model import PayloadField, Resource
from schemas.platforms.publicity import as_codes, as_date
from schemas.platforms.transforms import COMPUTE, MASKS, PayloadError, to_wan_yuan

Builder = Callable[[dict], dict]
Step = Callable[[Any], Any]

WAN_YUAN_SCALE = 6  # 双公示 amounts in 万元 carry six decimals (decimal(18,6), §3.3)


def compile_resource(resource: Resource) -> Builder:
    """The builder of one resource: ``row`` (a core row as a dict) → the platform record."""
    standard = {f.name: f for f in all_fields(dataset(resource.dataset))}
    getters = tuple((spec.code, _compile_field(resource, spec, standard))
                    for spec in resource.fields)
    conditions = tuple((spec.code, spec.when) for spec in resource.fields if spec.when)
    # Each named function runs once per row, however many fields use it.
    computes = tuple(dict.fromkeys(spec.compute for spec in resource.fields if spec.compute))
    for name in computes:
        if name not in COMPUTE:
            raise ValueError(f"{resource.platform}/{resource.name}: unknown compute function "
                             f"{name!r}")
    functions = tuple((name, COMPUTE[name]) for name in computes)

    def build(row: dict) -> dict:
        computed = {name: function(row) for name, function in functions}
        payload = {code: get(row, computed) for code, get in getters}
        for code, when in conditions:
            if not when.holds(payload[when.field]):
                payload[code] = None
        return payload

    return build


Getter = Callable[[dict, dict], Any]


def _compile_field(resource: Resource, spec: PayloadField,
                   standard: dict[str, FieldSpec]) -> Getter:
    where = f"{resource.platform}/{resource.name}.{spec.code}"
    if spec.from_ is None and spec.compute is None:
        constant = spec.const
        return lambda row, computed: constant
    source: FieldSpec | None = None
    if spec.from_ is not None:
        if spec.from_ not in standard:
            raise ValueError(f"{where}: {resource.dataset} has no field {spec.from_!r}")
        source = standard[spec.from_]
        if _is_plain_text(spec, source):
            return _plain_text(spec.from_)
        container, key = 0, spec.from_
    else:
        container, key = 1, spec.compute
    steps = _steps(where, spec, source)

    def value(row: dict, computed: dict) -> Any:
        found = computed[key] if container else row.get(key)
        if found is None or found == "":
            return None
        for step in steps:
            found = step(found)
        return found

    return value


def _is_plain_text(spec: PayloadField, source: FieldSpec) -> bool:
    return (spec.type == "string" and spec.codes is None and spec.mask is None
            and source.type in (FieldType.STRING, FieldType.TEXT, FieldType.CODE))


def _plain_text(name: str) -> Getter:
    # The common case, kept to one lookup and one class test: text copied as it is stored.
    def value(row: dict, computed: dict) -> Any:
        found = row.get(name)
        if found.__class__ is str:
            return found or None
        return None if found is None else _text(found)

    return value


def _steps(where: str, spec: PayloadField, source: FieldSpec | None) -> tuple[Step, ...]:
    steps: list[Step] = []
    is_list = source is not None and source.type is FieldType.LIST
    if is_list:
        steps.append(as_codes)
    if spec.codes is not None:
        steps.append(_translate(where, spec.codes.table, spec.codes.to, many=is_list))
    if spec.mask is not None:
        mask = MASKS[spec.mask]
        steps.append((lambda values: [mask(v) for v in values]) if is_list
                     else (lambda v: mask(str(v))))
    if is_list:
        separator = spec.join if spec.join is not None else ","
        steps.append(separator.join)
    steps.append(_formatter(spec, source))
    return tuple(steps)


def _translate(where: str, table_name: str, to: str, *, many: bool) -> Step:
    table = code_table(table_name).labels

    def one(code: Any) -> str:
        code = str(code)
        try:
            return table[code] if to == "label" else (code if code in table else table[code])
        except KeyError:
            raise PayloadError(f"{where}: code table {table_name} has no code {code!r}") from None

    return (lambda codes: [one(c) for c in codes]) if many else one


def _formatter(spec: PayloadField, source: FieldSpec | None) -> Step:
    if spec.type == "date":
        return lambda v: v.isoformat() if v.__class__ is dt.date else as_date(v).isoformat()
    if spec.type == "integer":
        return int
    if spec.type == "decimal":
        scale = spec.scale if spec.scale is not None else (
            WAN_YUAN_SCALE if spec.unit else (source.scale if source else 2))
        if spec.unit == "万元":
            return lambda v: format(to_wan_yuan(_decimal(v), scale), "f")
        quantum = Decimal(1).scaleb(-scale)
        return lambda v: format(_decimal(v).quantize(quantum), "f")
    if source is not None and source.type is FieldType.BOOLEAN:
        return _yes_no
    return _text


def _yes_no(value: Any) -> str:
    # SQLite hands booleans back as 0/1, text sources as "true"/"false".
    if isinstance(value, str):
        return "是" if value.strip().lower() in ("true", "1", "是", "t", "y") else "否"
    return "是" if value else "否"


def _decimal(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _text(value: Any) -> str:
    # bool before int: True is an int. Booleans are 是/否 in the national exchange (§2.2).
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)
