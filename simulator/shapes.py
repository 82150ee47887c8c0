"""The receiving platforms' record shapes, read from ``schemas/platforms/<platform>.yaml``, and
the per-record schema check the simulator applies to each payload.

Only the parts of a shape file that a receiving platform checks are read: ``platform``,
``resources[].name``, ``resources[].dataset`` and per field ``code``, ``type``, ``max_length``,
``required`` and ``required_when``. How a payload is *built* (``from``, ``const``, ``compute``,
units, masks) is the sender's business and ignored here.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from importlib import resources as importlib_resources
from pathlib import Path
from typing import Any

import yaml

PLATFORMS = ("national", "gsxt", "creditchina")
PLATFORM_NAMES = {
    "national": "国家互联网+监管系统",
    "gsxt": "国家企业信用信息公示系统(甘肃)",
    "creditchina": "信用中国(甘肃)",
}
FIELD_TYPES = ("string", "date", "datetime", "decimal", "integer")

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"(\d{4}-\d{2}-\d{2})[ T]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?")
_INTEGER = re.compile(r"-?\d+")
_DECIMAL = re.compile(r"-?\d+(\.\d+)?")


class ShapeError(ValueError):
    """A shape file the simulator cannot use; the message names the file and the field."""


@dataclass(frozen=True)
class FieldShape:
    """One field of a resource as the receiving platform checks it."""

    code: str
    type: str = "string"
    max_length: int | None = None
    required: bool = False
    required_when: tuple[str, tuple[Any, ...]] | None = None   # (field code, values)


@dataclass(frozen=True)
class ResourceShape:
    """One endpoint of a platform: ``POST /api/{platform}/{name}``."""

    platform: str
    name: str
    dataset: str | None
    fields: tuple[FieldShape, ...]
    zh: str | None = None
    # checks beyond the field shapes (e.g. "this lead exists"), run when the fields pass
    extra_check: Callable[[dict[str, Any]], list[RecordError]] | None = field(
        default=None, compare=False, repr=False)
    by_code: dict[str, FieldShape] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self.by_code.update({f.code: f for f in self.fields})


@dataclass(frozen=True)
class RecordError:
    """Why a platform refuses one record: a code, the field it concerns, a reason."""

    code: str
    field: str | None
    reason: str

    def as_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "field": self.field, "reason": self.reason}


def default_shapes_dir() -> Path:
    """``schemas/platforms/`` of the installed ``schemas`` package."""
    return Path(str(importlib_resources.files("schemas"))) / "platforms"


def read_shape_document(path: Path, document: Any) -> tuple[str, dict[str, ResourceShape]]:
    """The platform and resources of one parsed shape document (``path`` names it in
    errors)."""
    if not isinstance(document, dict):
        raise ShapeError(f"{path}: expected a mapping with 'platform' and 'resources'")
    platform = document.get("platform")
    if platform not in PLATFORMS:
        raise ShapeError(f"{path}: platform {platform!r} is not one of {', '.join(PLATFORMS)}")
    resources: dict[str, ResourceShape] = {}
    for entry in document.get("resources") or []:
        name = entry.get("name") if isinstance(entry, dict) else None
        if not name or not isinstance(name, str) or "/" in name:
            raise ShapeError(f"{path}: a resource needs a name without '/': {entry!r}")
        if name in resources:
            raise ShapeError(f"{path}: resource {name!r} declared twice")
        fields = tuple(_read_field(path, name, item) for item in entry.get("fields") or [])
        codes = [f.code for f in fields]
        if len(set(codes)) != len(codes):
            twice = sorted({c for c in codes if codes.count(c) > 1})
            raise ShapeError(f"{path}: resource {name}: field codes declared twice: {twice}")
        resources[name] = ResourceShape(platform, name, entry.get("dataset"), fields,
                                        zh=entry.get("zh"))
    return platform, resources


def load_shapes(directory: Path | str | None = None) -> dict[str, dict[str, ResourceShape]]:
    """``{platform: {resource name: ResourceShape}}`` for the three platforms, read from the
    ``*.yaml`` files of ``directory`` (default: ``schemas/platforms/``) that have a
    ``platform`` key. A platform without a file has no resources (every POST to it answers
    404); a malformed shape file raises ShapeError naming the file and field."""
    directory = Path(directory) if directory is not None else default_shapes_dir()
    shapes: dict[str, dict[str, ResourceShape]] = {name: {} for name in PLATFORMS}
    if not directory.is_dir():
        return shapes
    for path in sorted(directory.glob("*.yaml")):
        read = _read_file(path)
        if read is None:
            continue
        platform, resources = read
        if shapes[platform]:
            raise ShapeError(f"{path}: platform {platform!r} is declared by another file too")
        shapes[platform] = resources
    return shapes


def _read_file(path: Path) -> tuple[str, dict[str, ResourceShape]] | None:
    """A shape file's platform and resources; None for another YAML file of the folder
    (one without ``platform``, such as the publicity rules)."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ShapeError(f"{path}: not valid YAML ({error})") from error
    if not isinstance(document, dict) or "platform" not in document:
        return None
    return read_shape_document(path, document)


def _read_field(path: Path, resource: str, item: Any) -> FieldShape:
    where = f"{path}: resource {resource}"
    if not isinstance(item, dict) or not isinstance(item.get("code"), str):
        raise ShapeError(f"{where}: a field needs a 'code': {item!r}")
    code = item["code"]
    kind = item.get("type", "string")
    if kind not in FIELD_TYPES:
        raise ShapeError(f"{where} field {code}: type {kind!r} is not one of "
                         f"{', '.join(FIELD_TYPES)}")
    max_length = item.get("max_length")
    if max_length is not None and (not isinstance(max_length, int) or max_length < 1):
        raise ShapeError(f"{where} field {code}: max_length must be a positive integer")
    when = item.get("required_when")
    condition = None
    if when is not None:
        if not isinstance(when, dict) or not isinstance(when.get("field"), str) \
                or not isinstance(when.get("in"), list) or set(when) != {"field", "in"}:
            raise ShapeError(f"{where} field {code}: required_when must be "
                             f"{{field: CODE, in: [values]}}, got {when!r}")
        condition = (when["field"], tuple(when["in"]))
    return FieldShape(code, kind, max_length, bool(item.get("required", False)), condition)


def check_payload(resource: ResourceShape, payload: Any) -> list[RecordError]:
    """The reasons ``resource``'s platform refuses ``payload`` (an ``i``/``u`` record's
    fields); empty when it is acceptable."""
    if not isinstance(payload, dict):
        return [RecordError("payload", None, "记录内容须为对象 (payload must be a JSON object)")]
    errors = []
    if not payload.keys() <= resource.by_code.keys():
        errors = [RecordError("unknown_field", code, f"未定义的字段 {code} (no such field in "
                                                     f"{resource.platform}/{resource.name})")
                  for code in payload if code not in resource.by_code]
    # this loop is the simulator's hot path (bench_simulator): the common cases come first
    for shape in resource.fields:
        value = payload.get(shape.code)
        if value is None or value == "" or (type(value) is str and value.isspace()):
            if shape.required:
                errors.append(RecordError("required", shape.code,
                                          f"必填字段 {shape.code} 缺失 (required field missing)"))
            elif shape.required_when is not None:
                other, values = shape.required_when
                if payload.get(other) in values:
                    errors.append(RecordError(
                        "required_when", shape.code,
                        f"{other} 为 {payload.get(other)} 时 {shape.code} 必填 "
                        f"(required when {other} is {payload.get(other)})"))
            continue
        if shape.type != "string" or type(value) is not str:
            problem = _type_problem(shape.type, value)
            if problem:
                errors.append(RecordError("type", shape.code, f"{shape.code} {problem}"))
                continue
        if shape.max_length is not None and len(str(value)) > shape.max_length:
            errors.append(RecordError(
                "max_length", shape.code,
                f"{shape.code} 长度 {len(str(value))} 超过 {shape.max_length} "
                f"(longer than {shape.max_length} characters)"))
    if not errors and resource.extra_check is not None:
        errors = resource.extra_check(payload)
    return errors


def _type_problem(kind: str, value: Any) -> str | None:
    """Why ``value`` is not of the declared ``kind``, or None."""
    if kind == "string":
        return None if isinstance(value, str) else f"须为字符串 (expected a string, got {value!r})"
    if kind in ("date", "datetime"):
        match = (_DATE if kind == "date" else _DATETIME).fullmatch(value) \
            if isinstance(value, str) else None
        if match is None and kind == "date" and isinstance(value, str):
            match = _DATETIME.fullmatch(value)   # a date field may carry a time of day
        if match is None:
            return f"须为日期 YYYY-MM-DD (expected a {kind}, got {value!r})"
        try:
            dt.date.fromisoformat(value[:10])
        except ValueError:
            return f"不是有效日期 (no such date: {value!r})"
        return None
    if isinstance(value, bool):
        return f"须为数值 (expected a {kind}, got {value!r})"
    if kind == "integer":
        if isinstance(value, int) or (isinstance(value, str) and _INTEGER.fullmatch(value)):
            return None
        return f"须为整数 (expected an integer, got {value!r})"
    # decimal: a JSON number or a plain decimal string
    if isinstance(value, int | float) or (isinstance(value, str) and _DECIMAL.fullmatch(value)):
        try:
            if Decimal(str(value)).is_finite():
                return None
        except InvalidOperation:
            pass
    return f"须为数值 (expected a decimal, got {value!r})"
