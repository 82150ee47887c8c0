"""`huiju db upgrade` builds every data set's tables; the committed migrations are current."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command

from huiju.cli import main
from schemas.catalog import datasets
from warehouse import landing
from warehouse.engine import create_warehouse_engine
from warehouse.migrate import alembic_config, current, head, pending_changes, upgrade
from warehouse.tables import AUDIT, CORE, QUARANTINE, RAW


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def warehouse_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/warehouse/huiju.db"
    return request.getfixturevalue("pg_url")


def test_upgrade_creates_every_table_and_leaves_nothing_to_migrate(warehouse_url):
    engine = create_warehouse_engine(warehouse_url)
    upgrade(engine)
    assert current(engine) == head()
    inspector = sa.inspect(engine)
    core = set(inspector.get_table_names(CORE))
    for spec in datasets():
        assert {spec.name, f"{spec.name}_history"} <= core, spec.name
    assert sorted(inspector.get_table_names(RAW)) == ["part", "record"]
    assert inspector.get_table_names(QUARANTINE) == ["record"]
    assert set(inspector.get_table_names(AUDIT)) == {"run", "batch", "cursor_state",
                                                     "department_reader", "action",
                                                     "reconciliation", "app_user",
                                                     "lead_routing", "joint_task",
                                                     "joint_task_part"}
    # Autogenerate against the upgraded database finds nothing: the migrations are current
    # with schemas/ (after changing a data set, run `huiju db revision -m …`).
    assert pending_changes(engine) == []
    upgrade(engine)  # a second upgrade is a no-op
    engine.dispose()


def test_db_commands(warehouse_url, capsys):
    assert main(["db", "upgrade", "--url", warehouse_url]) == 0
    assert main(["db", "current", "--url", warehouse_url]) == 0
    out = capsys.readouterr().out
    assert f"current revision: {head()}" in out


def test_sqlite_layers_are_attached_files_with_a_rollback_journal(tmp_path):
    engine = create_warehouse_engine(f"sqlite:///{tmp_path}/huiju.db")
    with engine.connect() as conn:
        names = {row[1] for row in conn.exec_driver_sql("PRAGMA database_list")}
        assert {"main", "raw", "core", "quarantine", "audit"} <= names
        for layer in ("raw", "core", "quarantine", "audit"):
            mode = conn.exec_driver_sql(f"PRAGMA {layer}.journal_mode").scalar()
            assert mode == "delete"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "audit.db", "core.db", "delivery.db", "huiju.db", "quarantine.db", "raw.db"]


OLD_LANDINGS = [  # raw.record rows as revision a576c83b7552 kept them: one JSON value each
    ("D1", "案件系统", "penalty", "2026010100001", "t#pk=1", '{"案件编号":"CF1","金额":1.5}'),
    ("D1", "案件系统", "penalty", "2026010100001", "t#pk=2", '{"案件编号":"CF2","金额":null}'),
    ("D2", "drop", "site", "2026010100007", "f.csv:line 2", '{"名称":"工地, 甲"}'),
]


def test_landed_rows_survive_the_upgrade_to_parts_and_the_downgrade(warehouse_url):
    # A warehouse deployed at the revision before raw.part: its landed JSON rows are packed
    # into parts by `huiju db upgrade`, readable by source reference, and unpacked by a
    # downgrade with the same text (whose sha256 is the source_hash).
    engine = create_warehouse_engine(warehouse_url)
    upgrade(engine, "a576c83b7552")
    with engine.begin() as conn:
        for dept, system, name, batch, ref, text in OLD_LANDINGS:
            conn.execute(sa.text(
                "INSERT INTO raw.record (department_code, source_system, dataset, batch_id, "
                "source_ref, source_hash, record, extracted_at) VALUES (:d, :s, :n, :b, :r, :h, "
                f"{json_param(engine, 't')}, :at)"),
                dict(d=dept, s=system, n=name, b=batch, r=ref, h=sha256(text), t=text,
                     at=datetime(2026, 1, 1, tzinfo=UTC)))
    assert main(["db", "upgrade", "--url", warehouse_url]) == 0
    assert current(engine) == head()
    with engine.connect() as conn:
        raw = landing.landings()
        found = conn.execute(sa.select(raw).order_by(raw.c.part_id, raw.c.row_no)).mappings().all()
        assert [(r["department_code"], r["dataset"], r["batch_id"], r["source_ref"], r["row_no"])
                for r in found] == [("D1", "penalty", "2026010100001", "t#pk=1", 0),
                                    ("D1", "penalty", "2026010100001", "t#pk=2", 1),
                                    ("D2", "site", "2026010100007", "f.csv:line 2", 0)]
        texts = landing.records(conn, [(r["part_id"], r["row_no"]) for r in found])
        assert [texts[(r["part_id"], r["row_no"])] for r in found] == [
            t for *_, t in OLD_LANDINGS]
        assert [r["source_hash"] for r in found] == [sha256(t) for *_, t in OLD_LANDINGS]
    assert pending_changes(engine) == []

    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "a576c83b7552")
    with engine.connect() as conn:
        back = conn.execute(sa.text("SELECT source_ref, CAST(record AS TEXT) FROM raw.record "
                                    "ORDER BY raw_id")).all()
    assert [tuple(r) for r in back] == [(ref, text) for *_, ref, text in OLD_LANDINGS]
    upgrade(engine)
    assert pending_changes(engine) == []
    engine.dispose()


def json_param(engine, name: str) -> str:
    """A bound JSON text: PostgreSQL casts it; SQLite keeps the text."""
    return f"CAST(:{name} AS json)" if engine.dialect.name == "postgresql" else f":{name}"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@pytest.mark.postgres
def test_compressed_parts_are_not_compressed_again(pg_url):
    engine = create_warehouse_engine(pg_url)
    upgrade(engine)
    with engine.connect() as conn:
        storage = conn.execute(sa.text(
            "SELECT attstorage FROM pg_attribute WHERE attrelid = 'raw.part'::regclass "
            "AND attname = 'records'")).scalar()
    assert storage == "e"  # EXTERNAL: out of line, never compressed by PostgreSQL
    engine.dispose()


def test_failures_resolved_before_resolved_at_existed_get_their_batch_time(warehouse_url):
    engine = create_warehouse_engine(warehouse_url)
    upgrade(engine, "0ddf1fd6a9bc")
    loaded_at = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO audit.batch (department_code, source_system, dataset, batch_id, "
            "extracted, passed, quarantined, superseded, inserted, updated, deleted, unchanged, "
            "code_version, config_hash, loaded_at) VALUES ('D1', 's', 'penalty', "
            "'2026030100001', 1, 1, 0, 0, 1, 0, 0, 0, 'v', 'h', :at)"), {"at": loaded_at})
        for ref, status, resolved in (("t#pk=1", "resolved", "2026030100001"),
                                      ("t#pk=2", "open", None)):
            conn.execute(sa.text(
                "INSERT INTO quarantine.record (department_code, dataset, source_system, "
                "source_ref, source_hash, batch_id, rule_id, family, field, message_zh, "
                "message_en, record, status, resolved_batch_id, first_seen_at, last_seen_at) "
                "VALUES ('D1', 'penalty', 's', :ref, 'h', '2026020100001', 'r', '09', 'f', "
                f"'缺', 'missing', {json_param(engine, 'rec')}, :status, :resolved, :at, :at)"),
                {"ref": ref, "rec": "{}", "status": status, "resolved": resolved,
                 "at": datetime(2026, 2, 1, tzinfo=UTC)})
    upgrade(engine)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT source_ref, resolved_at FROM quarantine.record "
                                    "ORDER BY source_ref")).all()
    resolved_at = {ref: value for ref, value in rows}
    assert resolved_at["t#pk=2"] is None
    found = resolved_at["t#pk=1"]
    if isinstance(found, str):  # SQLite keeps timestamps as text
        found = datetime.fromisoformat(found)
    assert found.replace(tzinfo=found.tzinfo or UTC) == loaded_at
    engine.dispose()
