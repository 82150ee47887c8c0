"""Payload shapes of the receiving platforms, declared as data, and their builders.

One YAML file per platform (``national.yaml`` 国家互联网+监管系统, ``gsxt.yaml``
国家企业信用信息公示系统(甘肃), ``creditchina.yaml`` 信用中国(甘肃)) maps the standard data
sets to the platform's field codes. The delivery side calls:

- ``load_platforms()`` — every platform by name;
- ``resources_for(dataset)`` — the resources (of all platforms) built from a data set;
- ``build_payload(resource, row)`` — a core row (standard field names plus ``record_id``,
  ``batch_id``, ``operation``, ``department_code``, ``division_code``) → the platform record;
- ``publicity_end(row)`` — the last day a 双公示 penalty is public (withdraw after it);
- ``publicity_over(resource, row, day)`` — whether ``day`` is past that end for a resource
  declared ``publicity: penalty`` (then the record must be withdrawn, or not sent);
- ``Resource.applies_to(row)`` — whether the platform receives the row at all;
- ``payload_problems(resource, payload)`` — what the platform's per-record check would reject
  (required, required_when, type, max_length), read from the same declarations.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib import resources

import yaml

from schemas.platforms.builder import Builder, compile_resource
from schemas.platforms.model import PLATFORM_NAMES, PayloadField, Platform, Resource
from schemas.platforms.publicity import publicity_end
from schemas.platforms.transforms import PayloadError

__all__ = ["PLATFORM_NAMES", "PayloadError", "PayloadField", "Platform", "Resource",
           "build_payload", "builder_for", "load_platforms", "payload_problems", "publicity_end",
           "publicity_over", "resources_for"]

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@cache
def _platforms() -> dict[str, Platform]:
    found: dict[str, Platform] = {}
    for name in PLATFORM_NAMES:
        entry = resources.files("schemas.platforms").joinpath(f"{name}.yaml")
        if not entry.is_file():
            continue
        try:
            data = yaml.load(entry.read_text(encoding="utf-8"), Loader=_LOADER)
            for item in data.get("resources", ()):
                item["platform"] = name
            platform = Platform.model_validate(data)
        except ValueError as error:
            raise ValueError(f"schemas/platforms/{name}.yaml: {error}") from error
        if platform.platform != name:
            raise ValueError(f"schemas/platforms/{name}.yaml declares {platform.platform!r}")
        found[name] = platform
    return found


def load_platforms() -> dict[str, Platform]:
    """Every declared platform by name (``national``, ``gsxt``, ``creditchina``)."""
    return dict(_platforms())


def resources_for(dataset: str) -> list[Resource]:
    """The resources built from ``dataset``, over all platforms (each knows its platform)."""
    return [resource for platform in _platforms().values()
            for resource in platform.resources if resource.dataset == dataset]


@cache
def _builder(platform: str, name: str) -> Builder:
    return compile_resource(_platforms()[platform].resource(name))


def builder_for(resource: Resource) -> Builder:
    """The compiled builder of a resource (compiled once, then reused)."""
    return _builder(resource.platform, resource.name)


def build_payload(resource: Resource, row: dict) -> dict:
    """The platform record for ``row``, keyed by the platform's field codes.

    Raises ``PayloadError`` when the row cannot become a record for a reason no department
    can fix (a code missing from a code table, no division code to form ``cd_source``)."""
    return builder_for(resource)(row)


def publicity_over(resource: Resource, row: dict, day: dt.date) -> bool:
    """Whether the record's 公示期 has ended by ``day`` (a resource with ``publicity``): the
    platform must no longer show it — withdraw it, or do not send it."""
    if resource.publicity is None:
        return False
    end = publicity_end(row)
    return end is not None and day > end


def payload_problems(resource: Resource, payload: dict) -> list[tuple[str, str]]:
    """``(field code, reason)`` for each field of ``payload`` the shape's declarations reject:
    a required value missing (also ``required_when``), a value of the wrong type, or longer
    than ``max_length``. Empty when the record passes."""
    problems = []
    for spec in resource.fields:
        value = payload.get(spec.code)
        when = spec.required_when
        needed = spec.required or (when is not None and when.holds(payload.get(when.field)))
        if value is None or value == "":
            if needed:
                problems.append((spec.code, "required"))
            continue
        if not _has_type(spec.type, value):
            problems.append((spec.code, f"not a {spec.type}"))
        elif spec.max_length and isinstance(value, str) and len(value) > spec.max_length:
            problems.append((spec.code, f"longer than {spec.max_length}"))
    return problems


def _has_type(kind: str, value) -> bool:
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if not isinstance(value, str):
        return kind == "decimal" and isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "date":
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            return False
        return len(value) == 10
    if kind == "decimal":
        try:
            return Decimal(value).is_finite()
        except InvalidOperation:
            return False
    return True
