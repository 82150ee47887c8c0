"""A load killed (SIGKILL) mid-COPY or mid-merge leaves the warehouse as before that batch; the
rerun then completes with no duplicate and no loss."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pandas as pd
import pytest
import sqlalchemy as sa

from warehouse.bulk import PAUSE_AT_ENV, PAUSE_FILE_ENV
from warehouse.engine import create_warehouse_engine
from warehouse.load import load_batch
from warehouse.migrate import pending_changes, upgrade
from warehouse.provenance import batch_changes
from warehouse.synthetic import load_request, standard_frame

TABLES = ("raw.part", "raw.record", "core.penalty", "core.penalty_history", "quarantine.record",
          "audit.run", "audit.batch", "audit.cursor_state", "delivery.outbox")

# The child loads the second batch with small COPY chunks, so it pauses with more to send.
CHILD = """
import sys
import warehouse.bulk
import warehouse.load
sys.path.insert(0, {tests!r})
import test_warehouse_crash as case
warehouse.bulk.COPY_CHUNK_ROWS = 50
from warehouse.engine import create_warehouse_engine
batch = case.first_batch() if sys.argv[2] == "first" else case.second_batch()
warehouse.load.load_batch(create_warehouse_engine(sys.argv[1]), batch)
"""


def first_batch():
    return load_request("penalty", standard_frame("penalty", range(200)),
                        batch_id="2026010100001", quarantined=standard_frame("penalty", [900]),
                        cursor={"pk": 200})


def second_batch():
    rows = pd.concat([
        standard_frame("penalty", range(50), version=1, operation="u"),   # 50 updates
        standard_frame("penalty", range(50, 60), version=1, operation="d"),  # 10 deletes
        standard_frame("penalty", range(200, 340)),                      # 140 inserts
        standard_frame("penalty", [900], version=1),                     # quarantine fixed
    ], ignore_index=True)
    return load_request("penalty", rows, batch_id="2026010100002", cursor={"pk": 340})


def snapshot(engine) -> dict[str, list]:
    state = {}
    with engine.connect() as conn:
        for name in TABLES:
            rows = conn.execute(sa.text(f"SELECT * FROM {name}")).all()
            state[name] = sorted(tuple(str(v) for v in row) for row in rows)
    return state


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def warehouse_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/warehouse/huiju.db"
    return request.getfixturevalue("pg_url")


def run_until_paused(warehouse_url: str, which: str, point: str, marker) -> None:
    """Start a loading child, wait until it pauses at ``point``, SIGKILL it."""
    env = {**os.environ, PAUSE_AT_ENV: point, PAUSE_FILE_ENV: str(marker)}
    code = CHILD.format(tests=os.path.dirname(__file__))
    child = subprocess.Popen([sys.executable, "-c", code, warehouse_url, which], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            if child.poll() is not None:
                pytest.fail(f"the load ended before pausing: {child.stdout.read().decode()}")
            if time.monotonic() > deadline:
                pytest.fail("the load never reached the pause point")
            time.sleep(0.05)
        assert marker.read_text(encoding="utf-8") == point
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL


@pytest.mark.slow
def test_killed_first_load_mid_copy_into_core_leaves_nothing(warehouse_url, tmp_path):
    engine = create_warehouse_engine(warehouse_url)
    upgrade(engine)
    before = snapshot(engine)
    engine.dispose()
    run_until_paused(warehouse_url, "first", "copy", tmp_path / "paused")
    engine = create_warehouse_engine(warehouse_url)
    assert snapshot(engine) == before
    # the first load into an empty table rebuilds its key after the COPY: the kill undid that
    assert pending_changes(engine) == []
    result = load_batch(engine, first_batch())
    assert (result.inserted, result.quarantined) == (200, 1)
    assert pending_changes(engine) == []
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM core.penalty")).scalar() == 200
    engine.dispose()


@pytest.mark.slow
@pytest.mark.parametrize("point", ["copy", "merge", "outbox"])
def test_killed_load_leaves_no_trace_and_the_rerun_completes(warehouse_url, point, tmp_path):
    engine = create_warehouse_engine(warehouse_url)
    upgrade(engine)
    load_batch(engine, first_batch())
    before = snapshot(engine)
    run_until_paused(warehouse_url, "second", point, tmp_path / "paused")

    engine.dispose()
    engine = create_warehouse_engine(warehouse_url)
    assert snapshot(engine) == before

    result = load_batch(engine, second_batch())
    assert (result.inserted, result.updated, result.deleted, result.unchanged) == (141, 50, 10, 0)
    changes = batch_changes(engine, "penalty", "2026010100002")
    assert Counter(c["action"] for c in changes) == {"insert": 141, "update": 50, "delete": 10}
    with engine.connect() as conn:
        def scalar(sql: str):
            return conn.execute(sa.text(sql)).scalar()
        assert scalar("SELECT count(*) FROM core.penalty") == 341
        assert scalar("SELECT count(DISTINCT punish_action_code) FROM core.penalty") == 341
        assert scalar("SELECT count(*) FROM core.penalty WHERE is_deleted") == 10
        assert scalar("SELECT count(*) FROM core.penalty_history") == 60
        assert scalar("SELECT count(*) FROM raw.record") == 201 + 201
        assert scalar("SELECT count(*) FROM audit.batch") == 2
        assert scalar("SELECT status FROM quarantine.record") == "resolved"
        assert scalar("SELECT batch_id FROM audit.cursor_state") == "2026010100002"
        # killed after enqueueing: the messages went with the load; the rerun enqueued once
        assert scalar("SELECT count(*) FROM delivery.outbox WHERE resource = 'CF'") == 200 + 201
    # and once more: already loaded, nothing changes
    after = snapshot(engine)
    assert load_batch(engine, second_batch()).already_loaded
    assert snapshot(engine) == after
    engine.dispose()
