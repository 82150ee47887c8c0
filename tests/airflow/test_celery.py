"""A Huiju DAG run executed by Airflow 3's CeleryExecutor: the whole production topology.

Airflow 3 workers do not touch the metadata database: a Celery worker receives a workload
and runs the task through the Execution API of an api-server. So this test starts, as
separate processes sharing a fresh PostgreSQL metadata database (SQLite is refused by
non-sequential executors) and the local Redis broker:

    airflow api-server   (Execution API)      airflow scheduler  (CeleryExecutor)
    airflow dag-processor (parses the DAGs)   airflow celery worker (own queue)

then creates the pools with ``huiju dags pools``, triggers a department DAG built by
``huiju.dag_factory`` and waits for the run to succeed. The DAG folder holds the real DAG
file; a test-only DAG file next to it replaces ``huiju.pipeline`` with a probe that records
which process ran each task, so the test proves the tasks ran in the Celery worker without
needing department data (the data path is covered by the end-to-end test).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

pytestmark = [pytest.mark.airflow, pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
RUN_TIMEOUT_SECONDS = 240

PROBE_DAG_FILE = '''\
"""Test-only: swap huiju.pipeline for a probe before the real DAG file builds its DAGs."""
import json, os, socket, sys, types

import huiju

probe = types.ModuleType("huiju.pipeline")


def _record(step, payload):
    with open(os.environ["HUIJU_CELERY_PROBE"], "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"step": step, "pid": os.getpid(), "host": socket.gethostname(),
                                 "role": os.environ.get("HUIJU_PROCESS_ROLE"),
                                 "payload": payload}) + "\\n")


def extract(department_code, source_id, dataset, *, run_id, interval_start=None,
            interval_end=None):
    result = {"department_code": department_code, "source_id": source_id,
              "dataset": dataset, "run_id": run_id, "extracted": 1}
    _record("extract", result)
    return result


def validate(extracted):
    _record("validate", extracted)
    return {**extracted, "valid": 1}


def load(validated):
    _record("load", validated)
    return {"extracted": 1, "loaded": validated["valid"], "quarantined": 0}


probe.extract, probe.validate, probe.load = extract, validate, load
sys.modules["huiju.pipeline"] = probe
huiju.pipeline = probe
'''


def _redis_up() -> None:
    try:
        with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=2) as conn:
            conn.sendall(b"PING\r\n")
            if not conn.recv(16).startswith(b"+PONG"):
                raise OSError("no PONG")
    except OSError as error:
        message = f"Redis at {REDIS_HOST}:{REDIS_PORT} is unreachable ({error})"
        if os.environ.get("HUIJU_REQUIRE_SERVICES") == "1":
            pytest.fail(f"HUIJU_REQUIRE_SERVICES=1 but {message}", pytrace=False)
        pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Stack:
    """The Airflow processes of one test, each in its own process group, with logs."""

    def __init__(self, home: Path, env: dict[str, str]):
        self.home, self.env = home, env
        self.processes: dict[str, subprocess.Popen] = {}

    def run(self, *args: str, timeout: int = 180) -> str:
        result = subprocess.run(args, env=self.env, capture_output=True, text=True,
                                timeout=timeout, check=False, cwd=self.home)
        assert result.returncode == 0, f"{args}: {result.stderr[-3000:]}"
        return result.stdout

    def start(self, name: str, *args: str, role: str | None = None) -> None:
        log = (self.home / f"{name}.log").open("w")
        env = {**self.env, "HUIJU_PROCESS_ROLE": role or name}
        self.processes[name] = subprocess.Popen(
            args, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=self.home,
            start_new_session=True)

    def check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise AssertionError(f"{name} exited ({process.returncode}):\n{self.log(name)}")

    def log(self, name: str) -> str:
        return (self.home / f"{name}.log").read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


@pytest.fixture
def celery_stack(pg_url, tmp_path, dag_folder_tools):
    _redis_up()
    from huiju.testing.manifest import synthetic_entries

    write_dag_folder, _ = dag_folder_tools
    [entry] = synthetic_entries(1, datasets_per_department=1)
    entry.update(code="GS-CELERY", dag_id="huiju_gs_celery", owner="GS-CELERY", schedule=None,
                 tags=["huiju", "GS-CELERY"],
                 datasets=[{"name": "penalty", "feeds": [
                     {"source_id": "case_db", "pool": "huiju_gs_t000_case_db"}]}])
    home = tmp_path / "airflow"
    dags = write_dag_folder(home / "dags", [entry])
    # Sorted before huiju_departments.py: the probe is in place when the real file runs.
    (dags / "a_probe_pipeline.py").write_text(PROBE_DAG_FILE, encoding="utf-8")
    # The real DAG file imports the probe first (a DAG file may not import another one
    # implicitly, so the test's copy does it explicitly).
    real = dags / "huiju_departments.py"
    text = real.read_text(encoding="utf-8")
    assert "from pathlib import Path\n" in text
    real.write_text(text.replace(
        "from pathlib import Path\n",
        "import a_probe_pipeline  # noqa: F401  (test only)\n"
        "from pathlib import Path\n", 1), encoding="utf-8")

    port = _free_port()
    queue = f"huiju_test_{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__EXECUTOR":
            "airflow.providers.celery.executors.celery_executor.CeleryExecutor",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": pg_url,
        # psycopg 3 serves the async engine too (Airflow would otherwise want asyncpg).
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": pg_url,
        "AIRFLOW__API_AUTH__JWT_SECRET": uuid.uuid4().hex,
        "AIRFLOW__API__SECRET_KEY": uuid.uuid4().hex,
        "AIRFLOW__CELERY__BROKER_URL": f"redis://{REDIS_HOST}:{REDIS_PORT}/0",
        "AIRFLOW__CELERY__RESULT_BACKEND": f"redis://{REDIS_HOST}:{REDIS_PORT}/1",
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
        "AIRFLOW__OPERATORS__DEFAULT_QUEUE": queue,
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "HUIJU_CELERY_PROBE": str(tmp_path / "probe.jsonl"),
        "PYTHONPATH": str(REPO),
    })
    home.mkdir(exist_ok=True)
    stack = Stack(home, env)
    stack.run(str(BIN / "airflow"), "db", "migrate")
    stack.run(str(BIN / "huiju"), "dags", "pools", "--manifest", str(dags / "huiju_manifest.py"))
    stack.start("api-server", str(BIN / "airflow"), "api-server", "--port", str(port))
    stack.start("scheduler", str(BIN / "airflow"), "scheduler")
    stack.start("dag-processor", str(BIN / "airflow"), "dag-processor")
    stack.start("celery-worker", str(BIN / "airflow"), "celery", "worker", "--queues", queue,
                "--concurrency", "2", "--skip-serve-logs", role="celery-worker")
    stack.entry, stack.queue = entry, queue
    yield stack
    stack.stop()


def _wait(description: str, stack: Stack, probe, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stack.check_alive()
        value = probe()
        if value:
            return value
        time.sleep(1)
    logs = "\n".join(f"--- {name}\n{stack.log(name)}" for name in stack.processes)
    raise AssertionError(f"timed out waiting for {description}\n{logs}")


def test_celery_worker_runs_a_huiju_dag(celery_stack, pg_url, tmp_path):
    stack = celery_stack
    dag_id = stack.entry["dag_id"]
    engine = sa.create_engine(pg_url)
    try:
        def dag_parsed():
            with engine.connect() as conn:
                return conn.execute(sa.text(
                    "SELECT 1 FROM dag WHERE dag_id = :d AND NOT is_paused"), {"d": dag_id}
                ).first()

        _wait("the dag-processor to register the DAG", stack, dag_parsed, 120)
        stack.run(str(BIN / "airflow"), "dags", "trigger", dag_id, "--run-id", "celery_test")

        def run_finished():
            with engine.connect() as conn:
                state = conn.execute(sa.text(
                    "SELECT state FROM dag_run WHERE dag_id = :d AND run_id = 'celery_test'"),
                    {"d": dag_id}).scalar()
            return state if state in ("success", "failed") else None

        state = _wait("the DAG run to finish", stack, run_finished, RUN_TIMEOUT_SECONDS)
        with engine.connect() as conn:
            tis = conn.execute(sa.text(
                "SELECT task_id, map_index, state, queue, pool, hostname FROM task_instance "
                "WHERE dag_id = :d AND run_id = 'celery_test' ORDER BY task_id"),
                {"d": dag_id}).mappings().all()
    finally:
        engine.dispose()
    assert state == "success", [dict(ti) for ti in tis]
    assert {(ti["task_id"], ti["state"]) for ti in tis} == {
        ("penalty.extract_case_db", "success"), ("penalty.validate_case_db", "success"),
        ("penalty.load_case_db", "success")}
    assert {ti["queue"] for ti in tis} == {stack.queue}
    assert {ti["pool"] for ti in tis if "extract" in ti["task_id"]} == {"huiju_gs_t000_case_db"}

    probes = [json.loads(line) for line in
              (tmp_path / "probe.jsonl").read_text(encoding="utf-8").splitlines()]
    # Every step ran in a process started by the Celery worker, not in this test process.
    assert [p["step"] for p in probes] == ["extract", "validate", "load"]
    assert {p["role"] for p in probes} == {"celery-worker"}
    assert os.getpid() not in {p["pid"] for p in probes}
    # The JSON dicts travelled through XCom via the Execution API.
    assert probes[1]["payload"]["run_id"] == "celery_test"
    assert probes[2]["payload"]["valid"] == 1
