"""End to end: a real department DAG in ``dag.test()`` — legacy MariaDB → PostgreSQL warehouse.

GS-SCJG's case database (built by the demo's legacy generator, then copied into a fresh
MariaDB database) is the source; the warehouse is a fresh PostgreSQL database. Every task
runs the real pipeline (mapping, Great Expectations validation, quarantine, load).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

pytestmark = [pytest.mark.airflow, pytest.mark.postgres, pytest.mark.mariadb, pytest.mark.slow]


def copy_tables(source_url: str, target_url: str) -> dict[str, int]:
    """Copy every table of a (text-typed) SQLite legacy database into MariaDB."""
    source, target = sa.create_engine(source_url), sa.create_engine(target_url)
    counts = {}
    try:
        found = sa.MetaData()
        found.reflect(source)
        copied = sa.MetaData()
        for table in found.sorted_tables:
            columns = [sa.Column(c.name, sa.String(191) if c.primary_key else sa.Text,
                                 primary_key=c.primary_key) for c in table.columns]
            sa.Table(table.name, copied, *columns, mysql_charset="utf8mb4")
        copied.create_all(target)
        with source.connect() as read, target.begin() as write:
            for table in found.sorted_tables:
                rows = [dict(r._mapping) for r in read.execute(sa.select(table))]
                if rows:
                    write.execute(copied.tables[table.name].insert(), rows)
                counts[table.name] = len(rows)
    finally:
        source.dispose()
        target.dispose()
    return counts


def test_gs_scjg_from_mariadb_to_postgresql(warehouse_env, mariadb_url, pg_url, tmp_path,
                                           monkeypatch, run_dag):
    from huiju.demo import legacy
    from warehouse.engine import create_warehouse_engine
    from warehouse.migrate import upgrade
    from warehouse.tables import AUDIT, table

    sources = legacy.build(tmp_path)
    counts = copy_tables(sources.env["HUIJU_SRC_GS_SCJG_CASE_DB"], mariadb_url)
    assert counts and all(counts.values())
    monkeypatch.setenv("HUIJU_SRC_GS_SCJG_CASE_DB", mariadb_url)
    engine = create_warehouse_engine(pg_url)
    try:
        upgrade(engine)
        run = run_dag("huiju_gs_scjg", logical_date=datetime(2024, 3, 1, tzinfo=UTC))
        batch = table(AUDIT, "batch")
        with engine.connect() as conn:
            batches = [dict(r._mapping) for r in conn.execute(
                sa.select(batch).where(batch.c.run_id == run.run_id))]
    finally:
        engine.dispose()
    notes = (tmp_path / "notifications.jsonl")
    failures = notes.read_text(encoding="utf-8") if notes.exists() else ""
    print(failures)
    for b in batches:
        print({k: b[k] for k in ("dataset", "extracted", "passed", "quarantined", "superseded")})
    assert {b["dataset"] for b in batches} == {"penalty", "inspection", "enterprise"}, failures
    for b in batches:
        assert b["extracted"] > 0
        assert b["extracted"] == b["passed"] + b["quarantined"] + b["superseded"], b
    assert sum(b["quarantined"] for b in batches) > 0  # the generator plants defects
    assert str(getattr(run.state, "value", run.state)) == "success", failures
