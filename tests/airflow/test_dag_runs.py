"""Real ``dag.test()`` runs of Huiju department DAGs (SQLite metadata DB, in-process tasks).

The pipeline is replaced by a recorder here: these tests are about the wiring — mapping over
feeds, JSON hand-over through XCom, asset events, retries, failure notifications and the
backfill interval. The end-to-end run against PostgreSQL and MariaDB is in test_end_to_end.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from datetime import UTC, datetime

import pytest

pytestmark = [pytest.mark.airflow, pytest.mark.slow]


class RecordingPipeline(types.ModuleType):
    """Stands in for ``huiju.pipeline``: records calls, returns small JSON dicts."""

    def __init__(self, fail_sources: frozenset[str] = frozenset()):
        super().__init__("huiju.pipeline")
        self.calls: list[tuple[str, dict]] = []
        self.fail_sources = fail_sources

    def extract(self, department_code, source_id, dataset, *, run_id,
                interval_start=None, interval_end=None):
        self.calls.append(("extract", {
            "department_code": department_code, "source_id": source_id, "dataset": dataset,
            "run_id": run_id, "interval_start": interval_start, "interval_end": interval_end}))
        if source_id in self.fail_sources:
            raise ConnectionError(f"{source_id} is down")
        return {"department_code": department_code, "source_id": source_id,
                "dataset": dataset, "staged": f"/staging/{dataset}/{source_id}.parquet",
                "extracted": 3}

    def validate(self, extracted):
        self.calls.append(("validate", extracted))
        return {**extracted, "valid": 2, "quarantined": 1}

    def load(self, validated):
        self.calls.append(("load", validated))
        return {"extracted": validated["extracted"], "loaded": validated["valid"],
                "quarantined": validated["quarantined"], "superseded": 0,
                "batch_id": "2024030100001"}


@pytest.fixture
def pipeline(monkeypatch):
    import huiju

    fake = RecordingPipeline()
    monkeypatch.setitem(sys.modules, "huiju.pipeline", fake)
    monkeypatch.setattr(huiju, "pipeline", fake, raising=False)
    return fake


def _states(run) -> dict[tuple[str, int], str]:
    from airflow.utils.session import create_session

    with create_session() as session:
        return {(ti.task_id, ti.map_index): str(ti.state)
                for ti in run.get_task_instances(session=session)}


def test_department_run_maps_feeds_and_hands_over_json(run_dag, huiju_dagbag, pipeline):
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState

    dag = huiju_dagbag.dags["huiju_gs_test"]
    run = run_dag("huiju_gs_test", logical_date=datetime(2024, 3, 1, tzinfo=UTC))
    assert run.state == DagRunState.SUCCESS, _states(run)

    extracts = [args for name, args in pipeline.calls if name == "extract"]
    groups = {task.task_group.group_id for task in dag.tasks}
    expected_feeds = {(task.task_group.group_id, task.task_id.split(".extract_")[1])
                      for task in dag.tasks if ".extract_" in task.task_id}
    assert {(c["dataset"], c["source_id"]) for c in extracts} == expected_feeds
    assert all(c["department_code"] == "GS-TEST" and c["run_id"] == run.run_id
               for c in extracts)
    # A manual run is incremental: no period is forced on the extract.
    assert {(c["interval_start"], c["interval_end"]) for c in extracts} == {(None, None)}
    # validate received exactly what extract returned, load what validate returned.
    validated = [args for name, args in pipeline.calls if name == "validate"]
    assert sorted(v["staged"] for v in validated) == sorted(
        f"/staging/{d}/{s}.parquet" for d, s in expected_feeds)
    loads = [args for name, args in pipeline.calls if name == "load"]
    assert len(loads) == len(expected_feeds) and all(v["valid"] == 2 for v in loads)

    with create_session() as session:
        events = session.query(AssetModel.uri).join(
            AssetEvent, AssetEvent.asset_id == AssetModel.id).filter(
            AssetEvent.source_run_id == run.run_id).all()
    assert {uri for (uri,) in events} == {f"huiju://warehouse/core/{g}" for g in groups}


def test_failed_task_retries_then_notifies(run_dag, pipeline, tmp_path, monkeypatch):
    """A source that is down: extract retries once (exponential backoff), then notifies."""
    from airflow.utils.state import DagRunState

    notifications = tmp_path / "notify" / "failures.jsonl"
    monkeypatch.setenv("HUIJU_NOTIFY", f"file:{notifications}")
    pipeline.fail_sources = frozenset({"drop"})
    run = run_dag("huiju_gs_fail", logical_date=datetime(2024, 3, 2, tzinfo=UTC))
    assert run.state == DagRunState.FAILED

    states = _states(run)
    failed = sorted(task for (task, _), state in states.items() if state == "failed")
    assert failed and all(task.endswith(".extract_drop") for task in failed)
    attempts = [c for name, c in pipeline.calls if name == "extract" and c["source_id"] == "drop"]
    assert len(attempts) == 2 * len(failed)  # first try + one retry, per failed task

    messages = [json.loads(line) for line in notifications.read_text("utf-8").splitlines()]
    assert sorted(m["task_id"] for m in messages) == failed  # once each, after the last try
    for message in messages:
        assert message["dag_id"] == "huiju_gs_fail"
        assert message["department_code"] == "GS-FAIL"
        assert message["run_id"] == run.run_id
        assert message["try_number"] == 2
        assert message["error_type"] == "ConnectionError" and "drop is down" in message["error"]
    # Downstream of the failed extract nothing ran; the other source's feed still loaded.
    assert all(states[(t.replace("extract_", "validate_"), -1)] == "upstream_failed"
               for t in failed)
    assert states[("inspection.load_case_db", 0)] == "success"
    assert [c["source_id"] for name, c in pipeline.calls if name == "load"] == ["case_db"]


def test_manual_run_may_name_a_period(run_dag, pipeline):
    run_dag("huiju_gs_test", logical_date=datetime(2024, 3, 3, tzinfo=UTC),
            run_conf={"interval_start": "2024-01-01T00:00:00+08:00",
                      "interval_end": "2024-02-01T00:00:00+08:00"})
    periods = {(c["interval_start"], c["interval_end"])
               for name, c in pipeline.calls if name == "extract"}
    assert periods == {("2024-01-01T00:00:00+08:00", "2024-02-01T00:00:00+08:00")}


def test_backfill_run_extracts_its_data_interval():
    """run_type backfill → the run's data interval; scheduled → incremental (None)."""
    import pendulum

    from huiju.dag_factory import run_interval

    start = pendulum.datetime(2024, 3, 1, 2, tz="Asia/Shanghai")
    end = pendulum.datetime(2024, 3, 2, 2, tz="Asia/Shanghai")

    def context(run_type: str) -> dict:
        dag_run = types.SimpleNamespace(run_type=types.SimpleNamespace(value=run_type), conf={})
        return {"dag_run": dag_run, "data_interval_start": start, "data_interval_end": end}

    assert run_interval(context("backfill")) == (start.isoformat(), end.isoformat())
    assert run_interval(context("scheduled")) == (None, None)
    assert run_interval(context("manual")) == (None, None)


def test_backfill_create_plans_one_run_per_interval(run_dag, pipeline, airflow_db):
    """``airflow backfill create`` (dry run) on a Huiju DAG: one run per schedule interval."""
    run_dag("huiju_gs_test", logical_date=datetime(2024, 3, 4, tzinfo=UTC))  # DAG now in the DB
    result = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "airflow"), "backfill", "create",
         "--dag-id", "huiju_gs_test", "--from-date", "2024-01-01", "--to-date", "2024-01-03",
         "--dry-run"],
        capture_output=True, text=True, env=os.environ.copy(), timeout=180, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    planned = [line.split("|")[1].strip() for line in result.stdout.splitlines()
               if line.startswith("| 20")]
    # Daily 02:00 Asia/Shanghai intervals whose start lies in the range: each run then
    # extracts [logical date, next 02:00) — see run_interval and test above.
    assert planned == ["2024-01-01 18:00:00+00:00", "2024-01-02 18:00:00+00:00"], result.stdout
