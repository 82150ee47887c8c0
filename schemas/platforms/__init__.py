"""Payload shapes of the receiving platforms, declared as data, and their builders.

One YAML file per platform (``national.yaml`` 国家互联网+监管系统, ``gsxt.yaml``
国家企业信用信息公示系统(甘肃), ``creditchina.yaml`` 信用中国(甘肃)) maps the standard data
sets to the platform's field codes. The delivery side calls:

- ``load_platforms()`` — every platform by name;
- ``resources_for(dataset)`` — the resources (of all platforms) built from a data set;
- ``build_payload(resource, row)`` — a core row (standard field names plus ``record_id``,
  ``batch_id``, ``operation``, ``department_code``, ``division_code``) → the platform record;
- ``publicity_end(row)`` — the last day a 双公示 penalty is public (withdraw after it);
- ``Resource.applies_to(row)`` — whether the platform receives the row at all.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import yaml

from schemas.platforms.builder import Builder, compile_resource
from schemas.platforms.model import PLATFORM_NAMES, PayloadField, Platform, Resource
from schemas.platforms.publicity import publicity_end
from schemas.platforms.transforms import PayloadError

__all__ = ["PLATFORM_NAMES", "PayloadError", "PayloadField", "Platform", "Resource",
           "build_payload", "builder_for", "load_platforms", "publicity_end", "resources_for"]

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
