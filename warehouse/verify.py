"""Completeness, proved from independent evidence: every batch's counts against what it wrote.

``audit.batch`` records what the loader counted. This module counts again from the rows
themselves, for every batch:

- **landed**: the ``raw.record`` rows of the batch must number ``extracted`` — every extracted
  row kept as extracted;
- **written**: the versions carrying the batch's ``batch_id`` in ``core.<dataset>`` and its
  history must number ``inserted + updated + deleted`` — each change writes exactly one
  version, and versions are never rewritten;
- **balanced**: ``extracted = passed + quarantined + superseded`` (also a CHECK constraint).

A batch whose evidence disagrees with its record is reported, not repaired.

Delivery is proved the same way (``verify_delivery``): every core and history version due to
a platform resource has its outbox message, and each message is acknowledged, rejected with
a reason, withheld (公示期 ended before it was sent) or pending — never missing.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from schemas.catalog import dataset as dataset_spec
from schemas.catalog import datasets
from warehouse import landing
from warehouse.outbox import EXPIRY, LOAD, analyze_outbox, applies, record_key_sql, routes_for
from warehouse.provenance import versions
from warehouse.tables import AUDIT, CORE, DELIVERY, table

BATCH_KEY = ("department_code", "source_system", "dataset", "batch_id")


@dataclass(frozen=True)
class BatchCheck:
    department_code: str
    source_system: str
    dataset: str
    batch_id: str
    extracted: int
    passed: int
    quarantined: int
    superseded: int
    changed: int  # inserted + updated + deleted, as recorded
    landed: int  # raw.record rows found
    written: int  # core and history versions found

    @property
    def problems(self) -> list[str]:
        found = []
        if self.landed != self.extracted:
            found.append(f"landed {self.landed} raw rows, extracted {self.extracted}")
        if self.written != self.changed:
            found.append(f"wrote {self.written} versions, changed {self.changed}")
        if self.extracted != self.passed + self.quarantined + self.superseded:
            found.append("extracted != passed + quarantined + superseded")
        return found


def verdict(checks: list[BatchCheck]) -> tuple[bool, str]:
    """Whether every batch agrees, and the sentence that says so (rich markup)."""
    bad = [c for c in checks if c.problems]
    if bad:
        return False, (f"[red]{len(bad)} of {len(checks)} batches disagree with their "
                       "evidence[/red]")
    return True, f"all {len(checks)} batches agree with their raw rows and versions"


def verify(engine: sa.Engine, *, department: str | None = None,
           dataset: str | None = None) -> list[BatchCheck]:
    """Every batch (of ``department`` / ``dataset``, if given) checked against its evidence."""
    batch = table(AUDIT, "batch")
    where = []
    if department:
        where.append(batch.c.department_code == department)
    if dataset:
        where.append(batch.c.dataset == dataset)
    with engine.connect() as conn:
        batches = conn.execute(sa.select(batch).where(*where).order_by(
            batch.c.department_code, batch.c.dataset, batch.c.source_system,
            batch.c.batch_id)).mappings().all()
        landed = _landed(conn, department, dataset)
        written: dict[tuple, int] = {}
        for name in sorted({b["dataset"] for b in batches}):
            written.update(_written(conn, name, department))
    checks = []
    for b in batches:
        key = tuple(b[c] for c in BATCH_KEY)
        checks.append(BatchCheck(
            *key, extracted=b["extracted"], passed=b["passed"], quarantined=b["quarantined"],
            superseded=b["superseded"], changed=b["inserted"] + b["updated"] + b["deleted"],
            landed=landed.get(key, 0), written=written.get(key, 0)))
    return checks


def _landed(conn: sa.Connection, department: str | None, dataset: str | None
            ) -> dict[tuple, int]:
    raw = landing.landings()
    query = sa.select(*(raw.c[c] for c in BATCH_KEY), sa.func.count()).group_by(
        *(raw.c[c] for c in BATCH_KEY))
    if department:
        query = query.where(raw.c.department_code == department)
    if dataset:
        query = query.where(raw.c.dataset == dataset)
    return {tuple(row[:4]): row[4] for row in conn.execute(query)}


def _written(conn: sa.Connection, name: str, department: str | None) -> dict[tuple, int]:
    found = versions(dataset_spec(name))
    columns = (found.c.department_code, found.c.source_system, found.c.batch_id)
    counted = sa.select(*columns, sa.func.count()).group_by(*columns)
    if department:
        counted = counted.where(found.c.department_code == department)
    return {(dept, system, name, batch_id): count
            for dept, system, batch_id, count in conn.execute(counted)}


# --- delivery ----------------------------------------------------------------------------

@dataclass(frozen=True)
class DeliveryCheck:
    """One platform resource of one data set: every due version and what became of it."""

    platform: str
    resource: str
    dataset: str
    due: int  # core and history versions the resource must receive
    missing: int  # due versions with no outbox message
    acknowledged: int
    rejected: int
    withheld: int
    pending: int
    unexplained: int  # rejected messages without a stored reason
    withdrawals: int  # withdrawals added when a 公示期 ended (beyond the due versions)

    @property
    def problems(self) -> list[str]:
        found = []
        if self.missing:
            found.append(f"{self.missing} due versions never enqueued")
        if self.unexplained:
            found.append(f"{self.unexplained} rejections without a reason")
        return found


def delivery_verdict(checks: list[DeliveryCheck]) -> tuple[bool, str]:
    """Whether every due version is accounted for, and the sentence that says so."""
    bad = [c for c in checks if c.problems]
    due = sum(c.due for c in checks)
    if bad:
        return False, (f"[red]{len(bad)} of {len(checks)} platform resources miss due "
                       "versions or reasons[/red]")
    return True, (f"all {due} versions due to {len(checks)} platform resources are "
                  "acknowledged, rejected with a reason, withheld or pending")


def verify_delivery(engine: sa.Engine, *, department: str | None = None,
                    dataset: str | None = None) -> list[DeliveryCheck]:
    """Every version due to a platform, matched to its outbox message and its outcome.

    Due: each core and history version of a data set a platform resource is built from (and
    whose row the resource applies to). Each must have its message (``cause = load``) — found
    by the record index of the outbox, one probe per version — whatever its status.
    """
    outbox, rejection = table(DELIVERY, "outbox"), table(DELIVERY, "rejection")
    checks = []
    with engine.connect() as conn:
        analyze_outbox(conn)
        present = set(sa.inspect(conn).get_table_names(schema=CORE))
        names = [dataset] if dataset else [s.name for s in datasets()]
        for name in names:
            spec = dataset_spec(name)
            if spec.name not in present:
                continue
            for route in routes_for(name):
                found = versions(spec)
                where = applies(route, found)
                if department:
                    where.append(found.c.department_code == department)
                enqueued = sa.exists().where(
                    outbox.c.platform == route.platform, outbox.c.resource == route.resource,
                    outbox.c.department_code == found.c.department_code,
                    outbox.c.record_key == record_key_sql(found, spec),
                    outbox.c.source_system == found.c.source_system,
                    outbox.c.batch_id == found.c.batch_id, outbox.c.cause == LOAD)
                # NOT EXISTS in the WHERE clause, so PostgreSQL plans one anti-join (in a
                # FILTER it would be a subplan per version)
                due = conn.execute(sa.select(sa.func.count()).select_from(found)
                                   .where(*where)).scalar_one()
                missing = conn.execute(sa.select(sa.func.count()).select_from(found)
                                       .where(*where, ~enqueued)).scalar_one()
                mine = [outbox.c.platform == route.platform,
                        outbox.c.resource == route.resource, outbox.c.dataset == name]
                if department:
                    mine.append(outbox.c.department_code == department)
                statuses = dict(conn.execute(
                    sa.select(outbox.c.status, sa.func.count())
                    .where(*mine, outbox.c.cause == LOAD).group_by(outbox.c.status)).all())
                unexplained = conn.execute(sa.select(sa.func.count()).where(
                    *mine, outbox.c.status == "rejected", ~sa.exists().where(
                        rejection.c.message_id == outbox.c.message_id,
                        rejection.c.reason != ""))).scalar_one()
                withdrawals = conn.execute(sa.select(sa.func.count()).where(
                    *mine, outbox.c.cause == EXPIRY)).scalar_one()
                checks.append(DeliveryCheck(
                    route.platform, route.resource, name, due=due, missing=missing,
                    acknowledged=statuses.get("acknowledged", 0),
                    rejected=statuses.get("rejected", 0), withheld=statuses.get("withheld", 0),
                    pending=statuses.get("pending", 0), unexplained=unexplained,
                    withdrawals=withdrawals))
    return checks

