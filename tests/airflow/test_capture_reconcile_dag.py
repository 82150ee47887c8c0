"""A SQL feed that says ``reconcile: true`` gets a reconcile task after its load (issue 16);
other feeds, and departments that do not ask, keep the DAG they had."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.airflow

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from capture_support import department_yaml  # noqa: E402


def _dag(tmp_path: Path, feed_keys: str = ""):
    from huiju.dag_factory import build_department_dag
    from huiju.departments import load_department
    from huiju.manifest import entry_for

    path = tmp_path / "gs_capture.yaml"
    path.write_text(department_yaml(feed_keys=feed_keys), encoding="utf-8")
    return build_department_dag(entry_for(load_department(path)))


def test_reconcile_task_follows_the_load_of_a_sql_feed(tmp_path: Path) -> None:
    dag = _dag(tmp_path, feed_keys="\n        reconcile: true")
    task = dag.get_task("enterprise.reconcile_ent_db")
    assert task.upstream_task_ids == {"enterprise.load_ent_db"}
    assert task.pool == "huiju_gs_capture_ent_db"
    assert "enterprise.reconcile_drop" not in dag.task_ids       # a drop folder: nothing to compare


def test_no_reconcile_task_unless_asked(tmp_path: Path) -> None:
    assert not [t for t in _dag(tmp_path).task_ids if "reconcile" in t]
