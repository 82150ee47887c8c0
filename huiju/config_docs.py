"""``docs/configuration.md``: the department file reference, generated from the pydantic models.

Every key of a department file is declared once, in a model (``huiju.departments``: the file,
its sources, feeds and field mappings; ``connectors.registry``: each source kind's
``connection``/``extract`` model). This module walks those models — nested models, lists and
maps of them included — and writes one table per model: key, type, default, meaning (the
field's ``description``), and an example taken from the shipped department files (else the
field's declared ``examples``). ``huiju config docs --check`` fails when the file differs from
what the models say now; a test runs it, so the reference cannot drift.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

REPO = Path(__file__).resolve().parents[1]
DOC_PATH = REPO / "docs" / "configuration.md"
EXAMPLES_DIR = REPO / "departments"


def _path_fields() -> str:
    """The folder options of every source kind (the registry's ``paths``), for the intro."""
    from connectors.registry import kind, kinds

    return "; ".join(f"{name}: " + ", ".join(f"`{field}`" for field in kind(name).paths)
                     for name in kinds("source") if kind(name).paths)


@dataclass
class Part:
    """One model's table: where it sits in a department file and its fields."""

    model: type[BaseModel]
    at: str  # its path in a department file, e.g. sources[].feeds[]
    examples: dict[str, object] = field(default_factory=dict)


def _nested_models(annotation) -> Iterator[tuple[type[BaseModel], str]]:
    """Models inside ``annotation`` with the suffix their path takes ([] list, .<key> map)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation, ""
        return
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (list, tuple, set, frozenset):
        for arg in args:
            for model, suffix in _nested_models(arg):
                yield model, "[]" + suffix
    elif origin is dict and len(args) == 2:
        for model, suffix in _nested_models(args[1]):
            yield model, ".<key>" + suffix
    else:
        for arg in args:
            yield from _nested_models(arg)


def type_name(annotation) -> str:
    """``annotation`` as a reader of YAML knows it: str, list[str], one of 'a' | 'b', …"""
    if annotation is type(None):
        return "null"
    if isinstance(annotation, type):
        return annotation.__name__
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Literal:
        return " | ".join(json.dumps(a, ensure_ascii=False) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_name(a) for a in args)
    if origin is not None:
        inner = ", ".join("…" if a is Ellipsis else type_name(a) for a in args)
        return f"{getattr(origin, '__name__', str(origin))}[{inner}]"
    return str(annotation).replace("typing.", "")


def default_text(info: FieldInfo) -> str:
    """The field's default as YAML would say it, or *required*."""
    if info.is_required():
        return "*required*"
    value = info.default_factory() if info.default_factory is not None else info.default
    if value is PydanticUndefined:
        return "*required*"
    if isinstance(value, BaseModel):
        value = value.model_dump(exclude_defaults=True)
    return f"`{json.dumps(value, ensure_ascii=False, default=str)}`"


def meaning(info: FieldInfo) -> str:
    """The field's description; for a key holding a model, else that model's first line."""
    if info.description:
        return info.description
    for model, _ in _nested_models(info.annotation):
        return (model.__doc__ or "").strip().split("\n\n")[0] + f" (see {model.__name__})"
    return ""


def parts() -> list[Part]:
    """Every model of a department file, from the top, then each source kind's config."""
    from connectors.registry import kind, kinds
    from huiju.departments import Department

    found: list[Part] = []
    seen: set[type] = set()

    def walk(model: type[BaseModel], at: str) -> None:
        if model in seen:
            return
        seen.add(model)
        found.append(Part(model, at))
        for name, info in model.model_fields.items():
            for nested, suffix in _nested_models(info.annotation):
                walk(nested, f"{at}.{name}{suffix}".lstrip("."))

    walk(Department, "")
    for name in kinds("source"):
        model = kind(name, "source").config_model()
        if model not in seen:
            seen.add(model)
            found.append(Part(model, f"sources[] with kind: {name} — connection + feeds[].extract"))
    return found


def _collect_examples(by_model: dict[type, Part], model: type[BaseModel], data) -> None:
    """Record the first value each key of ``model`` takes in ``data`` (a department file)."""
    if not isinstance(data, dict) or model not in by_model:
        return
    part = by_model[model]
    for key, value in data.items():
        info = model.model_fields.get(key)
        if info is None:
            continue
        part.examples.setdefault(key, value)
        for nested, suffix in _nested_models(info.annotation):
            items = (value if suffix.startswith("[]") and isinstance(value, list)
                     else value.values() if suffix.startswith(".<key>") and isinstance(value, dict)
                     else [value])
            for item in items:
                _collect_examples(by_model, nested,
                                  {"column": item} if isinstance(item, str) else item)


def _collect_connector_examples(by_model: dict[type, Part], data) -> None:
    """Examples of the connector keys: a source's ``connection`` and its feeds' ``extract``."""
    from connectors.registry import kind

    for source in (data or {}).get("sources") or []:
        try:
            model = kind(source.get("kind"), "source").config_model()
        except (KeyError, AttributeError):
            continue
        merged = dict(source.get("connection") or {})
        for feed in source.get("feeds") or []:
            merged.update(feed.get("extract") or {})
        _collect_examples(by_model, model, merged)


def _example_text(part: Part, name: str, info: FieldInfo) -> str:
    value = part.examples.get(name)
    if value is None and info.examples:
        value = info.examples[0]
    if value is None:
        return ""
    text = json.dumps(value, ensure_ascii=False, default=str)
    if len(text) > 70:  # a whole mapping is in the department files; show its start
        text = text[:67] + "…"
    return f"`{text}`"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def render(examples_dir: Path = EXAMPLES_DIR) -> str:
    """The reference as Markdown."""
    import yaml

    from huiju.departments import Department

    found = parts()
    by_model = {part.model: part for part in found}
    for path in sorted(examples_dir.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        _collect_examples(by_model, Department, data)
        _collect_connector_examples(by_model, data)
    lines = ["# Department configuration reference", "",
             "<!-- generated by `huiju config docs` from the pydantic models; do not edit: "
             "change the model's Field(description=…) and regenerate -->", "",
             "A department file (`departments/<code>.yaml`, or the folder "
             "`HUIJU_DEPARTMENTS_DIR` names) is validated by these models; a key not listed "
             "is an error. Examples are taken from the shipped department files. A folder "
             f"written relative ({_path_fields()}) is relative to the folder of the department "
             "file that declares it, whatever the working directory or `HUIJU_HOME`.", ""]
    for part in found:
        where = f"`{part.at}`" if part.at else "the file itself"
        lines += [f"## {part.model.__name__} — {where}", ""]
        doc = (part.model.__doc__ or "").strip()
        if doc:
            lines += [" ".join(doc.split("\n\n")[0].split()), ""]
        lines += ["| key | type | default | meaning | example |", "|---|---|---|---|---|"]
        for name, info in part.model.model_fields.items():
            lines.append(f"| `{name}` | {_cell(type_name(info.annotation))} | "
                         f"{_cell(default_text(info))} | {_cell(meaning(info))} | "
                         f"{_cell(_example_text(part, name, info))} |")
        lines.append("")
    return "\n".join(lines)


def write(path: Path = DOC_PATH) -> Path:
    """Write the reference to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(), encoding="utf-8")
    return path


def is_current(path: Path = DOC_PATH) -> bool:
    """Whether ``path`` holds exactly what the models say now."""
    return path.exists() and path.read_text(encoding="utf-8") == render()
