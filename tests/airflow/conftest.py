"""The Airflow test tier: real Airflow 3 in an isolated AIRFLOW_HOME, never ~/airflow.

Airflow reads its configuration when it is first imported, so this conftest sets the
environment at import time — before any test module imports Airflow: a temporary
AIRFLOW_HOME with a SQLite metadata database (``airflow db migrate`` runs once per session,
in the ``airflow_db`` fixture) and a DAG folder holding the real DAG file
(``dags/huiju_departments.py``) next to a *test* manifest of made-up departments, so
``dag.test()`` runs real Huiju DAGs without the department files.

Great Expectations is imported before Airflow: the pipeline imports both when a task runs.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

if "airflow" in sys.modules:  # pragma: no cover - a guard, not a code path
    raise RuntimeError("Airflow was imported before tests/airflow/conftest.py could isolate "
                       "AIRFLOW_HOME; import it inside tests only")

import great_expectations  # noqa: F401  (before Airflow, see the module docstring)

REPO = Path(__file__).resolve().parents[2]
REPO_DAGS = REPO / "dags"
AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="huiju-airflow-"))
DAGS_FOLDER = AIRFLOW_HOME / "dags"
atexit.register(shutil.rmtree, AIRFLOW_HOME, ignore_errors=True)  # also when no test used it

os.environ.update({
    "AIRFLOW_HOME": str(AIRFLOW_HOME),
    "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{AIRFLOW_HOME / 'airflow.db'}",
    "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(AIRFLOW_HOME / "logs"),
    "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
})


def made_up_entries() -> list[dict]:
    """The made-up departments of the test DAG folder (see ``write_dag_folder``)."""
    from huiju.testing.manifest import synthetic_entries

    ok, failing = synthetic_entries(2, datasets_per_department=2)
    ok.update(code="GS-TEST", dag_id="huiju_gs_test", owner="GS-TEST",
              tags=["huiju", "GS-TEST", "division:620000"])
    # One retry with no delay: dag.test() then shows the retry and the final failure quickly.
    failing.update(code="GS-FAIL", dag_id="huiju_gs_fail", owner="GS-FAIL", retries=1,
                   retry_delay_seconds=0, tags=["huiju", "GS-FAIL", "division:620000"])
    return [ok, failing]


def write_dag_folder(folder: Path, entries: list[dict]) -> Path:
    """A DAG folder: the real DAG file and a manifest of ``entries``."""
    from huiju.manifest import render

    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO_DAGS / "huiju_departments.py", folder / "huiju_departments.py")
    (folder / "huiju_manifest.py").write_text(render(entries), encoding="utf-8")
    return folder


@contextlib.contextmanager
def manifest_from(folder: Path) -> Iterator[None]:
    """Make ``import huiju_manifest`` resolve to ``folder``'s manifest for a while.

    The DAG file imports its manifest by module name; several DAG folders (the repository's
    and the tests') exist in one test process, so the cached module is swapped around each
    parse.
    """
    saved_path = list(sys.path)
    saved_module = sys.modules.pop("huiju_manifest", None)
    sys.path.insert(0, str(folder))
    try:
        yield
    finally:
        sys.path[:] = saved_path
        sys.modules.pop("huiju_manifest", None)
        if saved_module is not None:
            sys.modules["huiju_manifest"] = saved_module


def parse_folder(folder: Path, known_pools: set[str] | None = None):
    """A DagBag of ``folder``, parsed the way the DAG processor does.

    Airflow 3.3 keeps its example DAGs in a bundle of their own, so a folder's DagBag never
    includes them (``include_examples`` is gone). ``known_pools`` turns a task in an
    undeclared pool into a DAG warning.
    """
    from airflow.dag_processing.dagbag import BundleDagBag

    with manifest_from(folder):
        return BundleDagBag(dag_folder=str(folder), bundle_path=folder, bundle_name="dags-folder",
                            known_pools=known_pools)


@pytest.fixture(scope="session", autouse=True)
def _airflow_home() -> Iterator[Path]:
    from huiju.manifest import read_manifest

    # The made-up departments plus the real ones (for the end-to-end run), whose failures
    # must show at once: no retries (a real department waits minutes between tries).
    real = [{**entry, "retries": 0} for entry in read_manifest(REPO_DAGS / "huiju_manifest.py")]
    write_dag_folder(DAGS_FOLDER, made_up_entries() + real)
    yield AIRFLOW_HOME
    shutil.rmtree(AIRFLOW_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def airflow_db(_airflow_home: Path) -> Path:
    """The migrated SQLite metadata database (what ``airflow db migrate`` does)."""
    from airflow.utils import db

    db.upgradedb()
    return _airflow_home


@pytest.fixture(scope="session")
def dag_folder_tools():
    """(write_dag_folder, parse_folder) for tests that build DAG folders of their own."""
    return write_dag_folder, parse_folder


@pytest.fixture(scope="session")
def huiju_dagbag(airflow_db: Path):
    bag = parse_folder(DAGS_FOLDER)
    assert not bag.import_errors, bag.import_errors
    return bag


@pytest.fixture
def run_dag(huiju_dagbag):
    """``run_dag(dag_id, **kwargs)``: one real ``dag.test()`` run; returns the DagRun."""

    def run(dag_id: str, **kwargs):
        dag = huiju_dagbag.dags[dag_id]
        with manifest_from(DAGS_FOLDER):
            return dag.test(**kwargs)

    return run


@pytest.fixture
def warehouse_env(pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Settings a real end-to-end run reads at task time: a PostgreSQL warehouse (fresh
    database), staging under tmp_path, the repository's department files, notifications to a
    file. The test adds the legacy sources' secrets (e.g. a MariaDB URL)."""
    env = {
        "HUIJU_HOME": str(tmp_path),
        "HUIJU_WAREHOUSE_URL": pg_url,
        "HUIJU_STAGING_DIR": str(tmp_path / "staging"),
        "HUIJU_DEPARTMENTS_DIR": str(REPO / "departments"),
        "HUIJU_NOTIFY": f"file:{tmp_path / 'notifications.jsonl'}",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env
