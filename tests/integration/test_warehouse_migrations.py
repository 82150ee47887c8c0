"""`huiju db upgrade` builds every data set's tables; the committed migrations are current."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from huiju.cli import main
from schemas.catalog import datasets
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
    assert inspector.get_table_names(RAW) == ["record"]
    assert inspector.get_table_names(QUARANTINE) == ["record"]
    assert set(inspector.get_table_names(AUDIT)) == {"run", "batch", "cursor_state"}
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
        "audit.db", "core.db", "huiju.db", "quarantine.db", "raw.db"]


def test_a_warehouse_at_the_previous_revision_upgrades_and_downgrades(warehouse_url):
    # A warehouse deployed before the newest revision is brought to head by `huiju db upgrade`,
    # and the newest revision can be stepped back.
    engine = create_warehouse_engine(warehouse_url)
    script = ScriptDirectory.from_config(alembic_config())
    previous = script.get_revision(head()).down_revision
    upgrade(engine, previous)
    assert current(engine) == previous
    assert main(["db", "upgrade", "--url", warehouse_url]) == 0
    assert current(engine) == head()
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "-1")
    assert current(engine) == previous
    upgrade(engine)
    assert pending_changes(engine) == []
    engine.dispose()
