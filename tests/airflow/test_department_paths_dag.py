"""An Airflow task reads the drop folder its department file names relative to the file's
folder, whatever the worker's working directory and HUIJU_HOME (issue 11)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

pytestmark = pytest.mark.airflow

REPO = Path(__file__).resolve().parents[2]


def test_a_files_dag_reads_the_drop_folder_beside_its_department_file(
        warehouse_env, pg_url, tmp_path, monkeypatch, run_dag, caplog):
    """… and its extract tasks log their progress (a line per read here: interval 0)."""
    import logging

    from huiju.demo import legacy
    from warehouse.engine import create_warehouse_engine
    from warehouse.migrate import upgrade
    from warehouse.tables import AUDIT, table

    deployment = tmp_path / "srv"  # department files and their drop folders, together
    legacy.build(deployment)
    shutil.copytree(REPO / "departments", deployment / "departments")
    monkeypatch.setenv("HUIJU_DEPARTMENTS_DIR", str(deployment / "departments"))
    monkeypatch.setenv("HUIJU_PROGRESS_SECONDS", "0")
    caplog.set_level(logging.INFO, logger="huiju.pipeline")
    (tmp_path / "worker").mkdir()
    monkeypatch.chdir(tmp_path / "worker")  # neither this nor HUIJU_HOME (tmp_path) holds var/
    drop = deployment / "var" / "drop" / "lz_sjj"
    files = sorted(p.name for p in drop.glob("*.csv"))
    assert files

    engine = create_warehouse_engine(pg_url)
    try:
        upgrade(engine)
        run = run_dag("huiju_lz_sjj")
        batch = table(AUDIT, "batch")
        with engine.connect() as conn:
            batches = [dict(r._mapping) for r in conn.execute(
                sa.select(batch).where(batch.c.run_id == run.run_id))]
    finally:
        engine.dispose()

    assert str(getattr(run.state, "value", run.state)) == "success"
    assert {b["dataset"] for b in batches} == {"site", "inspection"}
    assert all(b["extracted"] > 0 for b in batches), batches
    # the files were archived where the department file says: ../var/archive/lz_sjj
    archived = sorted(p.name.split("__", 1)[1]
                      for p in (deployment / "var" / "archive" / "lz_sjj").iterdir())
    assert archived == files
    assert not (tmp_path / "worker" / "var").exists() and not (tmp_path / "var").exists()
    said = [r.getMessage() for r in caplog.records if r.name == "huiju.pipeline"]
    for b in batches:
        label = f"LZ-SJJ drop_folder → {b['dataset']}: extract; "
        told = [line for line in said if line.startswith(f"progress {label}")]
        assert told and told[-1].startswith(f"progress {label}{b['extracted']} rows read"), said
        assert told[-1].endswith(f", batch {b['batch_id']}")
