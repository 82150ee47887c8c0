"""Property (issue 16): whatever the source does — inserts, updates, hard deletes, time stamps
written backwards or in another legacy layout, ties on the cursor, runs in between — after a
run and a reconciliation the warehouse holds exactly the source. A real SQLite source and
warehouse, through the real pipeline; bounded examples to stay CI-fast."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import pytest
from capture_support import (
    DEPARTMENT,
    create_source_table,
    current_rows,
    run,
    source_execute,
    workspace,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huiju.pipeline import FeedKey
from huiju.reconcile import new_reconcile_id, reconcile_feed

BASE = dt.datetime(2025, 2, 1, 10, 0)  # noqa: DTZ001 - legacy wall-clock time (Asia/Shanghai)
KEYS = 5

step = st.one_of(
    # insert or update key k stamped at minute m: m repeats (ties) and goes back (backward)
    st.tuples(st.just("put"), st.integers(0, KEYS - 1), st.integers(-3, 4)),
    st.tuples(st.just("delete"), st.integers(0, KEYS - 1), st.just(0)),
    st.tuples(st.just("run"), st.just(0), st.just(0)),
)


def _stamp(minute: int, layout: int) -> str:
    moment = BASE + dt.timedelta(minutes=minute)
    if layout == 0:
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    if layout == 1:
        return moment.strftime("%Y/%m/%d %H:%M:%S")
    return (moment - dt.timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M:%SZ")   # the same instant


@settings(max_examples=10, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(step, min_size=1, max_size=10))
def test_warehouse_equals_source_after_a_run_and_a_reconciliation(steps) -> None:
    with tempfile.TemporaryDirectory() as folder, pytest.MonkeyPatch.context() as patch:
        root = Path(folder)
        source_url = f"sqlite:///{root / 'legacy.db'}"
        table = create_source_table(source_url)
        url = workspace(patch, root, source_url, sql_extract=", batch_size: 2")
        source: dict[str, tuple[str, str]] = {}
        version = 0
        for number, (kind, k, minute) in enumerate(steps):
            key = f"E{k}"
            if kind == "run":
                run("ent_db", run_id=f"p{number}")
                continue
            source_execute(source_url, table.delete().where(table.c["编号"] == key))
            source.pop(key, None)
            if kind == "put":
                version += 1
                row = {"编号": key, "名称": f"企业{k}第{version}版", "法人": f"法人{version % 3}",
                       "更新时间": _stamp(minute, (k + version) % 3)}
                source_execute(source_url, table.insert(), [row])
                source[key] = (row["名称"], row["法人"])
        run("ent_db", run_id="final")
        reconcile_feed(FeedKey(DEPARTMENT, "ent_db", "enterprise"), run_id="rc",
                       reconcile_id=new_reconcile_id())
        assert current_rows(url, "ent_db") == source
