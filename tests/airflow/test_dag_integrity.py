"""DAG integrity: every DAG imports cleanly, is wired as configured and parses with no I/O
(its speed: ``benchmarks/bench_dag_parse.py``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

pytestmark = pytest.mark.airflow

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def _manifest():
    from huiju.manifest import read_manifest

    return read_manifest(REPO / "dags" / "huiju_manifest.py")


@pytest.fixture(scope="module")
def repo_dagbag(dag_folder_tools):
    _, parse_folder = dag_folder_tools
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bag = parse_folder(REPO / "dags", known_pools={
            "default_pool", *(pool["name"] for entry in _manifest() for pool in entry["pools"])})
    return bag, caught


def test_every_dag_imports_without_error_or_warning(repo_dagbag):
    bag, caught = repo_dagbag
    assert bag.import_errors == {}
    assert caught == [], [f"{w.filename}:{w.lineno}: {w.message}" for w in caught]
    assert bag.captured_warnings == {}
    assert bag.dag_warnings == set()  # e.g. a task in a pool the manifest does not declare
    deliveries = [f"huiju_deliver_{p}" for p in ("national", "gsxt", "creditchina")]
    assert sorted(bag.dag_ids) == sorted([*(entry["dag_id"] for entry in _manifest()),
                                          *deliveries, "huiju_leads"])
    leads = bag.dags["huiju_leads"]  # issue 13: follows the lead assets, routes, feeds back
    assert [t.task_id for t in leads.tasks] == ["tasks_and_routing", "joint_feedback"]
    assert {a.uri for a in leads.timetable.asset_condition.objects} == {
        "huiju://warehouse/core/complaint", "huiju://warehouse/core/risk_lead"}
    assert bag.dag_ids, "the manifest declares no department"


def test_each_platform_has_a_delivery_dag_triggered_by_the_warehouse_assets(repo_dagbag):
    bag, _ = repo_dagbag
    emitted = {f"huiju://warehouse/core/{ds['name']}" for entry in _manifest()
               for ds in entry["datasets"]}
    for platform in ("national", "gsxt", "creditchina"):
        dag = bag.dags[f"huiju_deliver_{platform}"]
        assert [t.task_id for t in dag.tasks] == ["deliver"]
        assert dag.max_active_runs == 1 and dag.catchup is False
        assert {a.uri for a in dag.timetable.asset_condition.objects} == emitted
        assert dag.tasks[0].has_on_failure_callback


def test_each_dag_is_wired_as_its_department_says(repo_dagbag):
    from airflow.sdk import CronDataIntervalTimetable

    bag, _ = repo_dagbag
    for entry in _manifest():
        dag = bag.dags[entry["dag_id"]]
        assert dag.doc_md.startswith("Huiju (汇聚)") and entry["code"] in dag.doc_md
        assert {"huiju", entry["code"]} <= set(dag.tags)
        assert dag.owner == entry["owner"]
        assert dag.catchup is False
        assert dag.max_active_runs == 1
        assert isinstance(dag.timetable, CronDataIntervalTimetable)
        pools = {pool["name"] for pool in entry["pools"]}
        for task in dag.tasks:
            assert task.retries == entry["retries"], task.task_id
            assert task.retry_exponential_backoff == entry["retry_exponential_backoff"]
            assert task.max_retry_delay.total_seconds() == entry["max_retry_delay_seconds"]
            assert task.owner == entry["owner"]
            assert task.has_on_failure_callback, task.task_id
        for dataset in entry["datasets"]:
            name = dataset["name"]
            for feed in dataset["feeds"]:
                source = feed["source_id"]
                extract = dag.get_task(f"{name}.extract_{source}")
                assert extract.pool == feed["pool"] and extract.pool in pools
                validate = dag.get_task(f"{name}.validate_{source}")
                load = dag.get_task(f"{name}.load_{source}")
                assert validate.upstream_task_ids == {extract.task_id}
                assert load.upstream_task_ids == {validate.task_id}
                assert [a.uri for a in load.outlets] == [f"huiju://warehouse/core/{name}"]


def test_manifest_is_current():
    """What CI runs: the checked-in manifest equals a fresh render of departments/."""
    from huiju.cli import main

    assert main(["dags", "generate", "--check",
                 "--departments-dir", str(REPO / "departments"),
                 "--output", str(REPO / "dags" / "huiju_manifest.py")]) == 0


def _audit(dag_file: Path) -> dict:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run([sys.executable, str(HERE / "parse_audit.py"), str(dag_file)],
                            capture_output=True, text=True, env=env, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_parsing_the_dag_file_does_no_io():
    report = _audit(REPO / "dags" / "huiju_departments.py")
    assert report["dags"] == sorted(entry["dag_id"] for entry in _manifest())
    assert report["violations"] == []


def test_parse_audit_catches_io(tmp_path):
    """The audit is not vacuous: a DAG file that reads config and opens a database fails it."""
    bad = tmp_path / "bad_dag.py"
    (tmp_path / "settings.yaml").write_text("a: 1\n", encoding="utf-8")
    bad.write_text(
        "import os, sqlite3\n"
        "from pathlib import Path\n"
        "from airflow.sdk import DAG\n"
        "Path(__file__).with_name('settings.yaml').read_text()\n"
        "sqlite3.connect(':memory:')\n"
        "os.listdir(Path(__file__).parent.parent)\n"
        "dag = DAG('bad', schedule=None)\n", encoding="utf-8")
    events = {v["event"].split("/")[0] for v in _audit(bad)["violations"]}
    assert events == {"open", "sqlite3.connect", "os.listdir"}


def test_fifty_departments_parse(tmp_path, dag_folder_tools):
    """A DAG folder of 50 made-up departments parses the way the DAG processor parses it: one
    DAG per department, every feed's tasks, no import error. How fast is measured in
    ``benchmarks/bench_dag_parse.py`` (printed beside a baseline, not asserted)."""
    from huiju.testing.manifest import synthetic_entries

    write_dag_folder, parse_folder = dag_folder_tools
    entries = synthetic_entries(50)
    bag = parse_folder(write_dag_folder(tmp_path / "dags", entries))
    assert bag.import_errors == {}
    assert sorted(bag.dag_ids) == sorted(entry["dag_id"] for entry in entries)
    for entry in entries:
        dag = bag.dags[entry["dag_id"]]
        for dataset in entry["datasets"]:
            for feed in dataset["feeds"]:
                assert dag.has_task(f"{dataset['name']}.extract_{feed['source_id']}"), (
                    entry["dag_id"], dataset["name"], feed["source_id"])
