"""Least privilege: the loader writes rows but no DDL, readers cannot write, and a department
reader sees only its own department's rows (row-level security) — on a real PostgreSQL."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from warehouse import roles
from warehouse.engine import create_warehouse_engine
from warehouse.load import load_batch
from warehouse.testing.synthetic import load_request, standard_frame

pytestmark = pytest.mark.postgres


@pytest.fixture
def owner(pg_warehouse):
    return pg_warehouse


@pytest.fixture
def login(owner, pg_url):
    """Make a login role that is a member of a group role; yields an engine connected as it."""
    made: list[tuple[str, sa.Engine]] = []

    def make(group: str | None = None, department: str | None = None) -> sa.Engine:
        name = f"huiju_test_{uuid.uuid4().hex[:10]}"
        with owner.begin() as conn:
            if department:
                roles.add_department_reader(conn, name, department)
            else:
                roles.add_login(conn, name, group)
        engine = create_warehouse_engine(sa.make_url(pg_url).set(username=name))
        made.append((name, engine))
        return engine

    yield make
    for name, engine in made:
        engine.dispose()
        with owner.begin() as conn:
            conn.exec_driver_sql(f'DROP OWNED BY "{name}"')
            conn.exec_driver_sql(f'DROP ROLE "{name}"')


def load_two_departments(engine: sa.Engine) -> None:
    for number, department in enumerate(("620000-AAA", "620100-BBB"), start=1):
        rows = standard_frame("penalty", range(number * 3), department_code=department)
        load_batch(engine, load_request("penalty", rows, batch_id=f"202601010000{number}",
                                        department_code=department))


def departments_seen(engine: sa.Engine, table: str) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(conn.execute(sa.text(
            f"SELECT department_code, count(*) FROM {table} GROUP BY 1")).all())


def test_the_four_roles_exist_after_a_migration(owner):
    with owner.connect() as conn:
        present = set(conn.execute(sa.text(
            "SELECT rolname FROM pg_roles WHERE rolname = ANY(:names)"),
            {"names": list(roles.ROLES)}).scalars())
    assert present == set(roles.ROLES)


def test_the_loader_loads_but_cannot_change_the_schema(login):
    loader = login(roles.LOADER)
    load_two_departments(loader)  # a first load into empty tables, then a second department
    assert departments_seen(loader, "core.penalty") == {"620000-AAA": 3, "620100-BBB": 6}
    with pytest.raises(sa.exc.ProgrammingError, match="must be owner"), loader.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE core.penalty DROP CONSTRAINT pk_penalty")


def test_a_department_reader_sees_only_its_department_and_cannot_write(owner, login):
    load_two_departments(owner)
    reader = login(department="620000-AAA")
    for table in ("core.penalty", "audit.batch", "raw.part"):
        assert set(departments_seen(reader, table)) == {"620000-AAA"}, table
    with pytest.raises(sa.exc.ProgrammingError, match="permission denied"), \
            reader.begin() as conn:
        conn.exec_driver_sql("UPDATE core.penalty SET department_code = '620000-AAA'")
    with pytest.raises(sa.exc.ProgrammingError, match="permission denied"), \
            reader.connect() as conn:
        conn.exec_driver_sql("SELECT count(*) FROM raw.record").scalar()


def test_the_auditor_sees_every_department_and_cannot_write(owner, login):
    load_two_departments(owner)
    auditor = login(roles.AUDITOR)
    assert departments_seen(auditor, "core.penalty") == {"620000-AAA": 3, "620100-BBB": 6}
    with pytest.raises(sa.exc.ProgrammingError, match="permission denied"), \
            auditor.begin() as conn:
        conn.exec_driver_sql("DELETE FROM quarantine.record")
