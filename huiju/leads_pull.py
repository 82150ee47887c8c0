"""One pull of the national feeds: the lead feeds through the normal pipeline (extract →
validate → load, so accounting, quarantine, verify and trace apply), the joint-supervision
tasks into ``audit.joint_task``, then routing of the new leads. The Airflow leads DAG and
``huiju leads pull`` both call :func:`pull_all`."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from huiju import pipeline
from huiju.departments import Department, load_departments
from huiju.joint import load_tasks
from huiju.leads import route_new
from huiju.routing import RoutingTable, load_routing
from huiju.settings import Settings, load_settings
from warehouse.engine import create_warehouse_engine
from warehouse.state import read_cursor
from warehouse.tables import AUDIT, table

TASKS = "joint_task"  # the cursor_state "data set" of the task feed


def pull_leads(department: Department, run_id: str,
               settings: Settings | None = None) -> list[dict]:
    """Run every feed of the national feed department until drained; their accounting."""
    results: list[dict] = []
    for key in pipeline.feeds_of(department):
        pipeline.run_feed(key, run_id=run_id, raise_on_threshold=False, results=results,
                          settings=settings)
    return results


def pull_tasks(engine: sa.Engine, department: Department, routing: RoutingTable,
               token: str | None = None) -> dict[str, int]:
    """Read the task feed after its saved cursor, store new tasks and their parts, then save
    the cursor (after the tasks: a crash in between re-reads, and a known task is skipped)."""
    from connectors.http import HttpSource, HttpSourceConfig

    source = department.sources[0]
    config = HttpSourceConfig.model_validate({
        **source.connection, "path": routing.joint_tasks_url, "name": "national/joint-tasks",
        "records_path": "tasks", "id_field": "task_no", "flatten": False, "keep_cursor": True,
        "match": {}})
    reader = HttpSource(config, token=token)
    by_name = {d.name.zh: d.code for d in load_departments()}
    counts = {"tasks": 0, "parts": 0, "known": 0}
    cursor = read_cursor(engine, department.code, source.id, TASKS)
    for batch in reader.read(cursor):
        items = batch.table.to_pylist()
        for name, value in load_tasks(engine, items, by_name).items():
            counts[name] += value
        if batch.cursor is not None:
            _save_cursor(engine, department.code, source.id, batch.cursor)
    return counts


def _save_cursor(engine: sa.Engine, department: str, source: str, cursor: dict) -> None:
    state = table(AUDIT, "cursor_state")
    key = {"department_code": department, "source_id": source, "dataset": TASKS}
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        updated = conn.execute(state.update().where(
            *(state.c[k] == v for k, v in key.items())).values(
            cursor=cursor, updated_at=now)).rowcount
        if not updated:
            conn.execute(state.insert().values(**key, cursor=cursor, batch_id="-",
                                               updated_at=now))


def pull_all(routing_file: str | None = None, *, run_id: str | None = None,
             settings: Settings | None = None) -> list[str]:
    """Pull leads and tasks, route new leads; a summary line per step."""
    settings = settings or load_settings()
    routing = load_routing(routing_file)
    department = pipeline.find_department(routing.feed_department, settings)
    run_id = run_id or f"leads__{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%fZ}"
    lines: list[str] = []
    for result in pull_leads(department, run_id, settings):
        lines.append(f"{result['dataset']}: batch {result['batch_id']} extracted "
                     f"{result['extracted']}, loaded {result['loaded']}, quarantined "
                     f"{result['quarantined']}")
    engine = create_warehouse_engine(settings.warehouse_url)
    try:
        tasks: dict[str, Any] = pull_tasks(engine, department, routing)
        lines.append(f"joint tasks: {tasks['tasks']} new ({tasks['parts']} department parts), "
                     f"{tasks['known']} already loaded")
        routed = route_new(engine, routing)
        lines.append(f"routing: {routed['routed']} lead(s) to departments, "
                     f"{routed['queued']} to the provincial queue")
    finally:
        engine.dispose()
    return lines
