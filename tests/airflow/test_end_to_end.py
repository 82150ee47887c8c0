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


SOURCE_TABLES = {"penalty": "行政处罚案件", "inspection": "检查记录", "enterprise": "企业基本信息",
                 "lead_disposition": "线索处置"}
OPERATION_COLUMN, DELETE = "操作标志", "删除"  # departments/gs_scjg.yaml: 删除 → operation d


def source_counts(url: str) -> dict[str, tuple[int, int]]:
    """``{table: (COUNT(*), rows marked deleted)}`` of the source, counted in MariaDB."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            counts = {}
            for name in SOURCE_TABLES.values():
                columns = {c["name"] for c in sa.inspect(conn).get_columns(name)}
                total = conn.execute(sa.text(f"SELECT COUNT(*) FROM `{name}`")).scalar()
                deletes = conn.execute(sa.text(
                    f"SELECT COUNT(*) FROM `{name}` WHERE `{OPERATION_COLUMN}` = :d"),
                    {"d": DELETE}).scalar() if OPERATION_COLUMN in columns else 0
                counts[name] = (total, deletes)
            return counts
    finally:
        engine.dispose()


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
    """Every feed loads and balances; a batch over its department's quarantine threshold is
    loaded, then its load task fails and notifies — exactly those, nothing else."""
    import json

    from expectations.validate import Thresholds
    from huiju.demo import legacy
    from huiju.pipeline import find_department
    from schemas.catalog import dataset
    from warehouse.engine import create_warehouse_engine
    from warehouse.migrate import upgrade
    from warehouse.tables import AUDIT, core_table, table

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
            core_rows = {name: conn.execute(sa.select(sa.func.count()).select_from(
                core_table(dataset(name)))).scalar() for name in SOURCE_TABLES}
    finally:
        engine.dispose()

    assert {b["dataset"] for b in batches} == set(SOURCE_TABLES)
    for b in batches:
        assert b["source_id"] == "case_db" and b["extracted"] > 0
        assert b["extracted"] == b["passed"] + b["quarantined"] + b["superseded"], b
        assert b["passed"] == b["inserted"] + b["updated"] + b["deleted"] + b["unchanged"]
        # A fresh warehouse: what the batch inserted (less what it deleted) is all there is.
        assert core_rows[b["dataset"]] == b["inserted"] - b["deleted"], str(b)
    assert sum(b["quarantined"] for b in batches) > 0  # the generator plants defects

    # Nothing lost, counted at both ends: the source's own COUNT(*) is what core, quarantine
    # and the superseded rows hold — plus the deletes of cases never loaded (nothing to close).
    source = source_counts(mariadb_url)
    engine = create_warehouse_engine(pg_url)
    try:
        with engine.connect() as conn:
            quarantined = dict(conn.execute(sa.text(
                "SELECT dataset, count(DISTINCT source_ref) FROM quarantine.record "
                "WHERE department_code = 'GS-SCJG' GROUP BY dataset")).all())
    finally:
        engine.dispose()
    for b in batches:
        total, deletes = source[SOURCE_TABLES[b["dataset"]]]
        assert (core_rows[b["dataset"]] + quarantined.get(b["dataset"], 0) + b["superseded"]
                + deletes) == total, (b["dataset"], total, deletes, core_rows, quarantined)

    department = find_department("GS-SCJG")
    breached = set()
    for b in batches:
        limits = department.thresholds_for(b["dataset"])
        if Thresholds(max_count=limits.max_quarantined, max_ratio=limits.max_ratio,
                      min_batch_size=limits.min_batch_size).breach(
                b["dataset"], b["quarantined"], b["extracted"]):
            breached.add(f"{b['dataset']}.load_case_db")
    notes = tmp_path / "notifications.jsonl"
    messages = ([json.loads(line) for line in notes.read_text("utf-8").splitlines()]
                if notes.exists() else [])
    assert {m["task_id"] for m in messages} == breached, messages
    assert {m["error_type"] for m in messages} <= {"ThresholdBreached"}
    expected = "failed" if breached else "success"
    assert str(getattr(run.state, "value", run.state)) == expected
