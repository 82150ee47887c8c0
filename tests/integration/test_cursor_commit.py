"""A feed's cursor is committed with its batch: a process killed (SIGKILL) right after the
load's commit leaves a cursor that points exactly past the committed batch, and the rerun
extracts every source row once — none twice (a cursor behind the batch) and none skipped
(a cursor ahead of it).

A child process runs ``pipeline.run_feed`` on a feed capped per run (several batches). Hooks
in the child, outside the code under test, watch the warehouse connections: the first time a
transaction that wrote ``audit.batch`` has committed and its connection goes back to the pool,
the child stops (``warehouse.bulk.pause_point``) and is killed. Any write the loader made
after that commit — a cursor saved in a transaction of its own — never happens.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from pipeline_support import (
    CAPPED_ENTERPRISE,
    LegacyHome,
    legacy_rows,
    query,
    use_workspace,
    write_departments,
)

from huiju import pipeline
from warehouse.bulk import PAUSE_AT_ENV, PAUSE_FILE_ENV

KEY = pipeline.FeedKey("GS-SCJG", "case_db", "enterprise")
TABLE, PRIMARY_KEY, CURSOR_COLUMN = "企业基本信息", "主体身份代码", "更新时间"

CHILD = """
import sqlalchemy as sa
from sqlalchemy.pool import Pool

from huiju import pipeline
from warehouse.bulk import pause_point

committed = []


@sa.event.listens_for(sa.engine.Engine, "before_cursor_execute")
def _seen(conn, cursor, statement, parameters, context, executemany):
    if statement.lstrip().upper().startswith("INSERT INTO AUDIT.BATCH"):
        conn.info["wrote_batch"] = True


@sa.event.listens_for(sa.engine.Engine, "commit")
def _committing(conn):
    if conn.info.pop("wrote_batch", False):
        committed.append(True)


@sa.event.listens_for(Pool, "checkin")
def _returned(dbapi_connection, record):
    # The load's transaction has committed and its connection is back: stop before any
    # further statement of this process reaches the warehouse.
    if committed:
        pause_point("committed")


pipeline.run_feed(pipeline.FeedKey({department!r}, {source!r}, {dataset!r}), run_id="killed")
raise SystemExit("the feed ran to its end without committing a batch")
"""




def kill_after_first_commit(marker) -> None:
    """Run the feed in a child until its first batch has committed, then SIGKILL it."""
    env = {**os.environ, PAUSE_AT_ENV: "committed", PAUSE_FILE_ENV: str(marker)}
    code = CHILD.format(department=KEY.department, source=KEY.source, dataset=KEY.dataset)
    child = subprocess.Popen([sys.executable, "-c", code], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 300
        while not marker.exists():
            if child.poll() is not None:
                pytest.fail(f"the run ended before pausing: {child.stdout.read().decode()}")
            if time.monotonic() > deadline:
                pytest.fail("the run never committed a batch")
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL


def source_order(built: LegacyHome) -> list[str]:
    """The source's keys in the order the connector pages through them."""
    rows = legacy_rows(built.case_db, f'SELECT "{PRIMARY_KEY}" FROM "{TABLE}" '
                                      f'WHERE "{CURSOR_COLUMN}" IS NOT NULL '
                                      f'ORDER BY "{CURSOR_COLUMN}", "{PRIMARY_KEY}"')
    return [key for (key,) in rows]


def batch_keys(url: str, batch_id: str) -> list[str]:
    """The source keys of every row a batch extracted (raw.record holds them all)."""
    refs = query(url, "SELECT source_ref FROM raw.record JOIN raw.part USING (part_id) "
                      "WHERE dataset = :s AND batch_id = :b", s=KEY.dataset, b=batch_id)
    prefix = f"{TABLE}#{PRIMARY_KEY}="
    assert all(r["source_ref"].startswith(prefix) for r in refs), refs[:3]
    return [r["source_ref"][len(prefix):] for r in refs]


def as_json(value):
    """A JSON column as read by a plain SQL query (SQLite returns its text)."""
    return json.loads(value) if isinstance(value, str) else value


@pytest.mark.slow
def test_a_run_killed_after_the_load_commits_keeps_the_cursor_of_that_batch(
        built, warehouse_url, monkeypatch, tmp_path):
    departments = write_departments(tmp_path / "departments", built.home, built.server.url,
                                    CAPPED_ENTERPRISE)
    url = use_workspace(monkeypatch, built, tmp_path, warehouse_url, departments=departments)
    order = source_order(built)

    kill_after_first_commit(tmp_path / "paused")

    (batch,) = query(url, "SELECT batch_id, extracted, cursor FROM audit.batch")
    state = query(url, "SELECT batch_id, cursor FROM audit.cursor_state")
    assert state == [{"batch_id": batch["batch_id"], "cursor": batch["cursor"]}], (
        "the cursor was not committed with its batch")
    # and it points past exactly the rows that batch extracted (the rerun proves it below;
    # the order rows are read in is the connector's: by the typed cursor, or by key for a
    # text cursor column it scans)
    extracted = batch_keys(url, batch["batch_id"])
    assert 0 < batch["extracted"] == len(extracted) < len(order)
    assert as_json(state[0]["cursor"])

    # the rerun goes on from there: every source row extracted once, none skipped
    results = pipeline.run_feed(KEY, run_id="rerun")
    batches = query(url, "SELECT batch_id FROM audit.batch ORDER BY batch_id")
    assert len(batches) == 1 + len(results) > 2
    keys = [k for b in batches for k in batch_keys(url, b["batch_id"])]
    assert sorted(keys) == sorted(order)  # every row once: none twice, none skipped
    assert set(extracted) <= set(keys[:len(extracted)])
    (last,) = query(url, "SELECT batch_id, cursor FROM audit.batch WHERE batch_id = :b",
                    b=batches[-1]["batch_id"])
    assert query(url, "SELECT batch_id, cursor FROM audit.cursor_state") == [last]
