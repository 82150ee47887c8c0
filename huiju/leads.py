"""The national system's leads once loaded: routing, deadlines, open and overdue leads.

Leads arrive through the normal pipeline (``departments/gs_hlwjg.yaml``: the national feed
as a source, extract → validate → load into ``core.complaint`` / ``core.risk_lead``).
:func:`route_new` routes each lead not yet routed (``config/lead_routing.yaml``) and records
the decision in ``audit.lead_routing`` with its deadline; dispositions come back from the
departments as the ``lead_disposition`` data set. Reads go in chunks, never a whole table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from huiju.routing import LEAD_DATASETS, RECEIVED_OF, RoutingTable, deadline, route
from schemas.catalog import dataset as dataset_spec
from warehouse.tables import AUDIT, core_table, table

CHUNK = 1000
CLOSED = "4"  # 事件进展状态 4 结案


def _routing() -> sa.Table:
    return table(AUDIT, "lead_routing")


def _unrouted(engine: sa.Engine, name: str) -> list[dict[str, Any]]:
    """The next chunk of loaded leads of ``name`` without a routing row."""
    core = core_table(dataset_spec(name))
    routing = _routing()
    key = core.c[LEAD_DATASETS[name]]
    done = sa.exists().where(routing.c.dataset == name, routing.c.lead_id == key)
    query = sa.select(core).where(~done, core.c.is_deleted.is_(False)).order_by(key).limit(CHUNK)
    with engine.connect() as conn:  # closed before the chunk is written (SQLite locks)
        return [dict(row._mapping) for row in conn.execute(query)]


def route_new(engine: sa.Engine, table_: RoutingTable,
              now: dt.datetime | None = None) -> dict[str, int]:
    """Route every loaded lead not routed yet; return how many went to a department and how
    many to the provincial queue. A lead is routed once: a lead pulled again is not re-routed."""
    now = now or dt.datetime.now(dt.UTC)
    counts = {"routed": 0, "queued": 0}
    routing = _routing()
    for name, id_field in LEAD_DATASETS.items():
        while chunk := _unrouted(engine, name):
            _insert(engine, routing, [_decision(table_, name, id_field, row, now)
                                      for row in chunk], counts)
    return counts


def _decision(table_: RoutingTable, name: str, id_field: str, row: dict[str, Any],
              now: dt.datetime) -> dict[str, Any]:
    decided = route(table_, name, row)
    received = row.get(RECEIVED_OF[name])
    if received is not None and received.tzinfo is None:
        received = received.replace(tzinfo=dt.UTC)
    is_tip = name == "complaint" and bool(row.get("is_tip"))
    return {"dataset": name, "lead_id": row[id_field],
            "lead_kind": "tip" if is_tip else name,
            "department_code": decided.department_code, "routed": decided.routed,
            "division_code": decided.division_code, "field_code": decided.field_code,
            "rule_index": decided.rule, "reason": decided.reason, "received_at": received,
            "deadline": deadline(table_, name, {**row, RECEIVED_OF[name]: received}, now),
            "batch_id": row["batch_id"], "routed_at": now}


def _insert(engine: sa.Engine, routing: sa.Table, rows: list[dict[str, Any]],
            counts: dict[str, int]) -> None:
    if not rows:
        return
    with engine.begin() as conn:
        conn.execute(routing.insert(), rows)
    counts["routed"] += sum(r["routed"] for r in rows)
    counts["queued"] += sum(not r["routed"] for r in rows)
    rows.clear()


@dataclass(frozen=True)
class OpenLead:
    """A routed lead and where its disposition stands."""

    dataset: str
    lead_id: str
    lead_kind: str
    department_code: str
    routed: bool
    reason: str
    deadline: dt.datetime | None
    progress_status: str | None
    overdue: bool


def leads(engine: sa.Engine, *, department: str | None = None, overdue_only: bool = False,
          open_only: bool = True, now: dt.datetime | None = None) -> Iterator[OpenLead]:
    """Routed leads with their deadline and latest progress status, oldest deadline first;
    ``open_only``: not yet 结案; ``overdue_only``: open and past the deadline."""
    now = now or dt.datetime.now(dt.UTC)
    routing = _routing()
    disposition = core_table(dataset_spec("lead_disposition"))
    status = (sa.select(disposition.c.progress_status)
              .where(disposition.c.lead_id == routing.c.lead_id,
                     disposition.c.is_deleted.is_(False))
              .order_by(disposition.c.updated_at.desc()).limit(1).scalar_subquery())
    query = sa.select(routing, status.label("progress_status")).order_by(
        routing.c.deadline, routing.c.lead_id)
    if department:
        query = query.where(routing.c.department_code == department)
    with engine.connect() as conn:
        for row in conn.execute(query.execution_options(yield_per=CHUNK)):
            m = row._mapping
            due = m["deadline"]
            if due is not None and due.tzinfo is None:
                due = due.replace(tzinfo=dt.UTC)
            closed = m["progress_status"] == CLOSED
            late = not closed and due is not None and due < now
            if (open_only and closed) or (overdue_only and not late):
                continue
            yield OpenLead(m["dataset"], m["lead_id"], m["lead_kind"], m["department_code"],
                           m["routed"], m["reason"], due, m["progress_status"], late)


def routing_of(engine: sa.Engine, lead_id: str) -> list[dict[str, Any]]:
    """The routing row(s) of a lead id (for ``huiju trace``)."""
    routing = _routing()
    with engine.connect() as conn:
        return [dict(r._mapping) for r in
                conn.execute(sa.select(routing).where(routing.c.lead_id == lead_id))]
