"""The warehouse tables are generated from the schema declaration and follow the naming contract."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from schemas.catalog import all_fields, datasets
from schemas.model import DataSetSpec, FieldSpec, FieldType
from warehouse.engine import create_warehouse_engine
from warehouse.tables import (
    CORE,
    LAYERS,
    RESERVED_COLUMNS,
    _add_dataset,
    core_table,
    history_table,
    metadata,
    sql_type,
)

SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")
PG = postgresql.dialect()


def _ddl_type(field: FieldSpec, dialect=PG) -> str:
    return sql_type(field).compile(dialect=dialect)


@pytest.mark.parametrize(("kind", "extra", "expected"), [
    ("string", {"length": 14}, "VARCHAR(14)"),
    ("text", {}, "TEXT"),
    ("code", {"code_table": "证件类型"}, "VARCHAR"),
    ("date", {}, "DATE"),
    ("datetime", {}, "TIMESTAMP WITH TIME ZONE"),
    ("decimal", {"precision": 20, "scale": 2}, "NUMERIC(20, 2)"),
    ("integer", {}, "BIGINT"),
    ("boolean", {}, "BOOLEAN"),
    ("list", {"code_table": "处罚种类"}, "TEXT"),
])
def test_each_field_type_has_its_postgresql_type(kind, extra, expected):
    field = FieldSpec(name="x", zh="字段", en="field", type=FieldType(kind), **extra)
    assert _ddl_type(field) == expected


def test_decimals_stay_exact_text_on_sqlite():
    field = FieldSpec(name="x", zh="金额", en="amount", type="decimal", precision=20, scale=2)
    assert _ddl_type(field, sqlite.dialect()) == "VARCHAR(22)"


@pytest.mark.parametrize("spec", datasets(), ids=lambda s: s.name)
def test_every_data_set_has_core_and_history(spec: DataSetSpec):
    core, history = core_table(spec), history_table(spec)
    assert core.schema == history.schema == CORE
    assert (core.name, history.name) == (spec.name, spec.name + "_history")
    assert [c.name for c in core.primary_key.columns] == ["department_code", *spec.business_key]
    assert any(ix.name == f"ix_{spec.name}_source_ref" for ix in core.indexes)
    for field in all_fields(spec):
        column = core.c[field.name]
        assert column.comment == field.zh
        assert column.nullable is not field.required
        assert history.c[field.name].nullable
    for name in ("department_code", "source_id", "source_ref", "source_hash",
                 "first_loaded_at", "updated_at", "is_deleted"):
        assert not core.c[name].nullable
    for name in ("version_valid_from", "version_valid_to", "closed_batch_id"):
        assert name in history.c


def test_names_follow_the_contract():
    md = metadata()
    for tab in md.tables.values():
        assert tab.schema in LAYERS
        assert SNAKE.match(tab.name), tab.name
        for column in tab.columns:
            assert SNAKE.match(column.name), f"{tab.fullname}.{column.name}"
        for item in [*tab.indexes, *tab.constraints]:
            name = item.name if isinstance(item.name, str) else str(item.name)
            assert len(name) <= 63, name  # PostgreSQL's identifier limit
    assert {"raw.record", "quarantine.record", "audit.run", "audit.batch",
            "audit.cursor_state"} <= set(md.tables)


def test_a_field_named_like_a_warehouse_column_is_refused():
    spec = datasets()[0]
    clash = spec.model_copy(update={"fields": (*spec.fields, FieldSpec(
        name=sorted(RESERVED_COLUMNS)[0], zh="冲突", en="clash", type="text"))})
    with pytest.raises(ValueError, match="warehouse column"):
        _add_dataset(sa.MetaData(), clash)


def test_every_table_creates_on_embedded_sqlite():
    engine = create_warehouse_engine("sqlite://")
    metadata().create_all(engine)
    inspector = sa.inspect(engine)
    for spec in datasets():
        assert {spec.name, spec.name + "_history"} <= set(inspector.get_table_names(CORE))
    assert inspector.get_table_names("audit") == sorted(
        ["action", "app_user", "batch", "cursor_state", "department_reader", "joint_task",
         "joint_task_part", "lead_routing", "reconciliation", "run"])
