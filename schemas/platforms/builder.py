"""Payload builders generated from the shape declarations.

``compile_resource`` turns a resource's field list into one generated function
``row → payload``: for each field its value (standard field, constant or named compute
function, each compute run once per row) followed by the declared steps (split a list,
translate codes, mask, join, convert the unit) and the formatting of its payload type.
Nothing here names a platform field; the generated body is one dict display, so 100 000
payloads take a few seconds.

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
    """The builder of one resource: ``row`` (a core row as a dict) → the platform record.

    The builder is generated Python: one function whose body is a dict display with one
    expression per payload field, so a row costs a lookup per field plus the declared steps,
    without a call per field. ``builder_source`` shows the text."""
    source, namespace = _generate(resource)
    exec(compile(source, f"<payload builder {resource.platform}/{resource.name}>", "exec"),
         namespace)
    return namespace["build"]


def builder_source(resource: Resource) -> str:
    """The generated source of a resource's builder (for reading and debugging)."""
    return _generate(resource)[0]


def _generate(resource: Resource) -> tuple[str, dict[str, Any]]:
    where = f"{resource.platform}/{resource.name}"
    standard = {f.name: f for f in all_fields(dataset(resource.dataset))}
    namespace: dict[str, Any] = {"_blank": _blank}
    lines = ["def build(row):", "    get = row.get"]
    # Each named function runs once per row, however many fields use it.
    computes = list(dict.fromkeys(spec.compute for spec in resource.fields if spec.compute))
    for number, name in enumerate(computes):
        if name not in COMPUTE:
            raise ValueError(f"{where}: unknown compute function {name!r}")
        namespace[f"_f{number}"] = COMPUTE[name]
        lines.append(f"    c{number} = _f{number}(row)")
    lines.append("    payload = {")
    for number, spec in enumerate(resource.fields):
        expression = _expression(where, number, spec, standard, computes, namespace)
        lines.append(f"        {spec.code!r}: {expression},")
    lines.append("    }")
    for number, spec in enumerate(resource.fields):
        if spec.when is not None:
            namespace[f"_w{number}"] = spec.when.holds
            lines.append(f"    if not _w{number}(payload[{spec.when.field!r}]):")
            lines.append(f"        payload[{spec.code!r}] = None")
    lines.append("    return payload")
    return "\n".join(lines) + "\n", namespace


def _expression(where: str, number: int, spec: PayloadField, standard: dict[str, FieldSpec],
                computes: list[str], namespace: dict[str, Any]) -> str:
    if spec.from_ is None and spec.compute is None:
        namespace[f"_k{number}"] = spec.const
        return f"_k{number}"
    source: FieldSpec | None = None
    if spec.from_ is not None:
        if spec.from_ not in standard:
            raise ValueError(f"{where}.{spec.code}: the data set has no field {spec.from_!r}")
        source = standard[spec.from_]
        value = f"get({spec.from_!r})"
        if _is_plain_text(spec, source):
            # The common case: text copied as stored, one lookup and one class test.
            return f"(_v if (_v := {value}).__class__ is str and _v else _blank(_v))"
    else:
        value = f"c{computes.index(spec.compute)}"
    call = "_v"
    for position, step in enumerate(_steps(f"{where}.{spec.code}", spec, source)):
        namespace[f"_s{number}_{position}"] = step
        call = f"_s{number}_{position}({call})"
    return f"(None if (_v := {value}) is None or _v == '' else {call})"


def _blank(value: Any) -> Any:
    return None if value is None or value == "" else _text(value)


def _is_plain_text(spec: PayloadField, source: FieldSpec) -> bool:
    return (spec.type == "string" and spec.codes is None and spec.mask is None
            and source.type in (FieldType.STRING, FieldType.TEXT, FieldType.CODE))


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
        # A translation may map two codes to one (2021 types → national codes): send it once.
        steps.append(lambda values: separator.join(dict.fromkeys(values)))
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
