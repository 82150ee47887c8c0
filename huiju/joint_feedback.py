"""Feedback on joint-supervision tasks: each participating department's inspection and
penalty results for the task's objects, assembled into the task message
(``supervisionProcess.taskDetails`` / ``feedbackUnitInfo``) and sent to the national system
(``POST /api/national/joint-feedback``) through a :class:`connectors.base.Destination`.

Exactly once, like the outbox: the idempotency key is derived from (task, unit) only, the
part is marked acknowledged only after the platform's answer, and a resend after a lost answer
gets ``duplicate`` with the original receipt, recorded as success. A part waits (``open``)
until its department has loaded a result for one of the task's objects since the task began.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from connectors.base import Destination
from huiju.joint import feedback_message, parts_of
from schemas.catalog import dataset as dataset_spec
from warehouse.tables import AUDIT, core_table, table

RESOURCE = "joint-feedback"
RESULTS = {"inspection": "check_date", "penalty": "punish_decision_date"}


def feedback_key(task_no: str, unit_no: str) -> str:
    """The idempotency key of a unit's feedback on a task (one per part, ever)."""
    return f"national:joint-feedback:{task_no}:{unit_no}"


def results_for(engine: sa.Engine, department: str, object_codes: list[str],
                since: str | None) -> dict[str, list[dict[str, Any]]]:
    """The department's current inspection and penalty rows about the task's objects, dated
    on or after the task's start."""
    found: dict[str, list[dict[str, Any]]] = {}
    with engine.connect() as conn:
        for name, date_field in RESULTS.items():
            core = core_table(dataset_spec(name))
            query = sa.select(core).where(core.c.department_code == department,
                                          core.c.is_deleted.is_(False),
                                          core.c.administrative_cp_code.in_(object_codes))
            if since:
                query = query.where(core.c[date_field] >= dt.date.fromisoformat(since[:10]))
            found[name] = [dict(r._mapping) for r in conn.execute(query.limit(100))]
    return found


def send_feedback(engine: sa.Engine, client: Destination, *, department: str | None = None,
                  now: dt.datetime | None = None) -> dict[str, int]:
    """Send every open part whose department has results; count what happened."""
    now = now or dt.datetime.now(dt.UTC)
    parts = table(AUDIT, "joint_task_part")
    counts = {"acknowledged": 0, "rejected": 0, "waiting": 0}
    for part in parts_of(engine, department):
        if part["department_code"] is None or part["feedback_status"] == "acknowledged":
            continue
        info = part["info"]
        codes = [o.get("superviseObjectCode") for o in info.get("superviseObjects", [])
                 if o.get("superviseObjectCode")]
        results = results_for(engine, part["department_code"], codes, info.get("taskStartTime"))
        if not any(results.values()):
            counts["waiting"] += 1
            continue
        message = feedback_message(part["message"], part["unit_no"], part["unit_name"],
                                   results["inspection"], results["penalty"], now=now)
        record = {"key": feedback_key(part["task_no"], part["unit_no"]),
                  "record_id": part["task_no"], "operation": "i",
                  "payload": {"task_no": part["task_no"], "message": message}}
        [answer] = client.send(RESOURCE, [record])
        where = (parts.c.task_no == part["task_no"]) & (parts.c.unit_no == part["unit_no"])
        with engine.begin() as conn:
            if answer.ok:
                conn.execute(parts.update().where(where).values(
                    feedback_status="acknowledged", fed_back_at=now, receipt=answer.receipt,
                    feedback_error=None))
                counts["acknowledged"] += 1
            else:
                conn.execute(parts.update().where(where).values(
                    feedback_status="rejected", feedback_error="; ".join(
                        f"{e.get('code')} {e.get('field')}: {e.get('reason')}"
                        for e in answer.errors)))
                counts["rejected"] += 1
    return counts
