"""kill -9 of ``huiju run`` at random points, the MariaDB source dropping the connection
mid-stream, PostgreSQL restarted mid-load: every rerun ends with nothing lost and nothing
duplicated, and ``huiju verify`` agrees.

Each kill point changes the source first (inserts, updates, deletes), so every killed run has
real work in every stage; the run is killed at a random moment within the time an undisturbed
run takes, then run again to completion.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from fault_mode import kill_points
from source_case_db import KEY, PENALTY, CaseDb

from warehouse.engine import create_warehouse_engine
from warehouse.migrate import upgrade

pytestmark = [pytest.mark.postgres, pytest.mark.mariadb, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
HUIJU = [sys.executable, "-m", "huiju.cli"]


@pytest.fixture
def world(request, tmp_path, pg_url, mariadb_url):
    """A PostgreSQL warehouse, the GS-SCJG case database on MariaDB, and the CLI's environment.

    ``@pytest.mark.copies(N)``: the penalty table holds N copies of the sample's 120 rows.
    """
    marker = request.node.get_closest_marker("copies")
    source = CaseDb(mariadb_url, tmp_path / "legacy", copies=marker.args[0] if marker else 30)
    engine = create_warehouse_engine(pg_url)
    upgrade(engine)
    env = {**os.environ, "HUIJU_HOME": str(tmp_path), "HUIJU_WAREHOUSE_URL": pg_url,
           "HUIJU_DEPARTMENTS_DIR": str(REPO / "departments"),
           "HUIJU_STAGING_DIR": str(tmp_path / "staging"),
           "HUIJU_SRC_GS_SCJG_CASE_DB": mariadb_url, "PYTHONPATH": str(REPO)}
    yield source, engine, env
    engine.dispose()
    source.dispose()


def run(env: dict, *, kill_after: float | None = None) -> subprocess.CompletedProcess | None:
    """``huiju run --department GS-SCJG``; with ``kill_after`` SIGKILLed after that many s."""
    command = [*HUIJU, "run", "--department", "GS-SCJG"]
    if kill_after is None:
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600,
                              check=False)
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        process.wait(timeout=kill_after)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        return None
    return None  # it finished before the kill: still a valid point


def account(source: CaseDb, engine: sa.Engine) -> tuple[int, int]:
    """(rows lost, duplicates): every source key loaded as it is, deleted, or quarantined."""
    with engine.connect() as conn:
        core = {key: (deleted, amount) for key, deleted, amount in conn.execute(sa.text(
            "SELECT punish_action_code, is_deleted, fine_amount FROM core.penalty "
            "WHERE department_code = 'GS-SCJG'"))}
        quarantined = {ref.split("=", 1)[1] for (ref,) in conn.execute(sa.text(
            "SELECT DISTINCT source_ref FROM quarantine.record WHERE status = 'open' "
            "AND dataset = 'penalty' AND department_code = 'GS-SCJG'"))}
        inserted = conn.execute(sa.text(
            "SELECT coalesce(sum(inserted), 0) FROM audit.batch WHERE dataset = 'penalty' "
            "AND department_code = 'GS-SCJG'")).scalar()
    lost = 0
    for key, (state, amount) in source.expected().items():
        if key in quarantined:
            continue
        if state == "deleted":
            lost += key in core and not core[key][0]
        else:
            loaded = core.get(key)
            lost += loaded is None or loaded[0] or (
                loaded[1] is not None and amount is not None
                and Decimal(loaded[1]) != amount)
    return lost, int(inserted) - len(core)


def verify(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([*HUIJU, "verify"], env=env, capture_output=True, text=True,
                          timeout=600, check=False)


def settle(source, engine, env, tally) -> None:
    """Run to completion, then count what was lost or duplicated and check ``huiju verify``."""
    finished = run(env)
    tally.runs += 1
    assert finished.returncode in (0, 1), finished.stderr[-2000:]  # 1: a threshold breached
    lost, duplicated = account(source, engine)
    tally.lost += lost
    tally.duplicated += duplicated
    checked = verify(env)
    assert checked.returncode == 0, checked.stdout[-3000:]
    assert (lost, duplicated) == (0, 0)


def test_kill_minus_nine_at_random_points(world, tally):
    source, engine, env = world
    started = time.monotonic()
    settle(source, engine, env, tally)  # the first load, undisturbed: how long a run takes
    full_run = time.monotonic() - started
    rng = random.Random(int(os.environ.get("HUIJU_FAULTS_SEED", "20261201")))
    for _ in range(kill_points(fast=2)):
        source.change()
        run(env, kill_after=rng.uniform(0.2, full_run))
        tally.runs += 1
        tally.faults["kill -9 of huiju run"] += 1
        settle(source, engine, env, tally)


def test_kill_minus_nine_while_a_chunk_loads_and_the_next_is_read(world, tally, tmp_path):
    """The same with a first load of several chunks: into PostgreSQL each chunk is read and
    validated while the one before loads (``pipeline.reads_ahead``), so the kills land with
    two chunks in flight — one loading, one staged — as well as between them."""
    source, engine, env = world
    departments = tmp_path / "chunked_departments"
    departments.mkdir()
    for path in (REPO / "departments").glob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        (departments / path.name).write_text(
            text.replace("batch_size: 5000}", f"batch_size: {CHUNK_READ}}}"), encoding="utf-8")
    env = {**env, "HUIJU_DEPARTMENTS_DIR": str(departments),
           "HUIJU_CHUNK_ROWS": str(2 * CHUNK_READ)}
    settle(source, engine, env, tally)
    assert _penalty_batches(engine) >= 3   # the first load came in chunks
    # each kill point changes enough rows for several chunks again; a kill lands within the
    # time such an undisturbed run takes
    changes = {"inserts": 200, "updates": 200, "deletes": 40}
    source.change(**changes)
    before, started = _penalty_batches(engine), time.monotonic()
    finished = run(env)
    changed_run = time.monotonic() - started
    assert finished.returncode in (0, 1) and _penalty_batches(engine) - before >= 3
    settle(source, engine, env, tally)
    rng = random.Random(int(os.environ.get("HUIJU_FAULTS_SEED", "20261201")) + 1)
    for _ in range(kill_points(fast=2)):
        source.change(**changes)
        run(env, kill_after=rng.uniform(0.2, changed_run))
        tally.runs += 1
        tally.faults["kill -9 of huiju run, chunk read ahead"] += 1
        settle(source, engine, env, tally)


CHUNK_READ = 100  # connector batch of the chunked runs: a chunk is two of them


def _penalty_batches(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "SELECT count(*) FROM audit.batch WHERE dataset = 'penalty'")).scalar()


@pytest.mark.copies(150)
def test_source_drops_the_connection_mid_stream(world, mariadb_admin, tally):
    """The legacy server kills the extract's connection while rows stream: the feed fails with
    an error naming its source, nothing of that feed commits, the rerun loads everything."""
    source, engine, env = world
    database = sa.make_url(source.url).database
    command = [*HUIJU, "run", "--department", "GS-SCJG", "--dataset", "penalty"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    killed = False
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline and not killed:
        with mariadb_admin.connect() as conn:
            ids = [i for (i,) in conn.exec_driver_sql(
                "SELECT id FROM information_schema.processlist WHERE db = %s "
                "AND info LIKE %s", (database, f"%{PENALTY}%"))]
            for connection_id in ids:
                conn.exec_driver_sql(f"KILL CONNECTION {int(connection_id)}")
                killed = True
        time.sleep(0.05)
    out, err = process.communicate(timeout=600)
    tally.runs += 1
    assert killed, "the extract finished before its connection could be dropped"
    tally.faults["source connection dropped mid-stream"] += 1
    assert process.returncode != 0
    text = out + err
    if "case_db" in text and "Traceback" not in text:
        tally.clear_errors += 1
    else:
        tally.unclear_errors.append(text[-300:])
    # one line naming the source, never a traceback (not even a driver's from the collector)
    assert "Traceback" not in text and "行政处罚案件: cannot read from" in text, text[-2000:]
    settle(source, engine, env, tally)


def test_postgres_restarted_mid_load(world, tally):
    source, engine, env = world
    settle(source, engine, env, tally)
    source.change(inserts=200, updates=200)
    process = subprocess.Popen([*HUIJU, "run", "--department", "GS-SCJG"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(random.Random(7).uniform(2.0, 5.0))
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
                   check=True, timeout=120)
    for _ in range(60):  # the rest of the suite shares this server: wait until it answers
        if subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"]).returncode == 0:
            break
        time.sleep(1)
    tally.faults["PostgreSQL restarted mid-load"] += 1
    process.wait(timeout=600)
    tally.runs += 1
    engine.dispose()
    settle(source, engine, env, tally)


def test_the_key_column_is_what_the_suite_expects():
    assert (PENALTY, KEY) == ("行政处罚案件", "案件编号")
