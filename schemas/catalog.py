"""Load the standard schema: every data set declared in ``schemas/datasets/*.yaml``.

The national exchange columns (记录唯一标识, 批次号, 操作标识) are declared once in
``exchange.yaml`` and belong to every data set; ``DataSet.all_fields`` includes them.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import yaml

from schemas.model import DataSetSpec, FieldSpec

# libyaml's loader when present: the pure-Python one takes seconds over all data sets.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _yaml(text: str):
    return yaml.load(text, Loader=_LOADER)


@cache
def exchange_fields() -> tuple[FieldSpec, ...]:
    """The national exchange columns every data set carries (REFERENCE.md §1)."""
    text = resources.files("schemas").joinpath("exchange.yaml").read_text(encoding="utf-8")
    return tuple(FieldSpec.model_validate(item) for item in _yaml(text)["fields"])


@cache
def _load() -> dict[str, DataSetSpec]:
    datasets: dict[str, DataSetSpec] = {}
    folder = resources.files("schemas").joinpath("datasets")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yaml"):
            continue
        try:
            spec = DataSetSpec.model_validate(_yaml(entry.read_text(encoding="utf-8")))
        except ValueError as error:
            raise ValueError(f"schemas/datasets/{entry.name}: {error}") from error
        if f"{spec.name}.yaml" != entry.name:
            raise ValueError(f"schemas/datasets/{entry.name} declares data set {spec.name!r}")
        clash = {f.name for f in spec.fields} & {f.name for f in exchange_fields()}
        if clash:
            raise ValueError(f"{entry.name}: fields {sorted(clash)} are exchange columns")
        datasets[spec.name] = spec
    return datasets


def datasets() -> list[DataSetSpec]:
    """Every data set, in name order."""
    return list(_load().values())


def dataset(name: str) -> DataSetSpec:
    """The declared data set ``name`` (KeyError naming the known ones)."""
    try:
        return _load()[name]
    except KeyError:
        raise KeyError(f"unknown data set {name!r}; known: {', '.join(_load())}") from None


def all_fields(spec: DataSetSpec) -> tuple[FieldSpec, ...]:
    """The data set's own fields followed by the exchange columns."""
    return spec.fields + exchange_fields()
