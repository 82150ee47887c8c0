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

Batches prove that nothing read was lost; only the source can prove that everything was read.
``last_reconciliations`` gives, per feed, the periods of its last ``huiju reconcile``: the
source's rows against the warehouse's (loaded or quarantined) — the auditor's proof that every
source row is in.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import sqlalchemy as sa

from schemas.catalog import dataset as dataset_spec
from schemas.catalog import datasets
from warehouse import landing
from warehouse.outbox import EXPIRY, LOAD, analyze_outbox, applies, record_key_sql, routes_for
from warehouse.provenance import versions
from warehouse.tables import AUDIT, CORE, DELIVERY, core_table, history_table, table

BATCH_KEY = ("department_code", "source_id", "dataset", "batch_id")


@dataclass(frozen=True)
class Invariant:
    """``left = sum(right)`` for every batch; ``message`` says how a batch breaks it."""

    name: str
    left: str
    right: tuple[str, ...]
    message: str


# The invariants, declared once: BatchCheck.problems applies them in Python and
# disagreement() in SQL (the report application's completeness view counts breaks with it).
INVARIANTS = (
    Invariant("landed", "landed", ("extracted",),
              "landed {landed} raw rows, extracted {extracted}"),
    Invariant("written", "written", ("changed",), "wrote {written} versions, changed {changed}"),
    Invariant("balanced", "extracted", ("passed", "quarantined", "superseded"),
              "extracted != passed + quarantined + superseded"),
)


@dataclass(frozen=True)
class BatchCheck:
    """One loaded batch's recorded counts beside what it left in the warehouse."""

    department_code: str
    source_id: str
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
        """Each way the batch's counts and its rows disagree (empty: verified)."""
        values = self.__dict__
        return [rule.message.format(**values) for rule in INVARIANTS
                if values[rule.left] != sum(values[c] for c in rule.right)]


def verdict(checks: list[BatchCheck]) -> tuple[bool, str]:
    """Whether every batch agrees, and the sentence that says so (rich markup)."""
    bad = [c for c in checks if c.problems]
    if bad:
        return False, (f"[red]{len(bad)} of {len(checks)} batches disagree with their "
                       "evidence[/red]")
    return True, f"all {len(checks)} batches agree with their raw rows and versions"


@dataclass(frozen=True)
class PeriodCheck:
    """One period of a feed's last reconciliation."""

    department_code: str
    source_id: str
    dataset: str
    period: str
    source_rows: int
    warehouse_rows: int
    flagged: int
    reconcile_id: str
    reconciled_at: object

    @property
    def agrees(self) -> bool:
        """Whether the source and the warehouse hold as many rows for the period."""
        return self.source_rows == self.warehouse_rows


def last_reconciliations(engine: sa.Engine, *, department: str | None = None,
                         dataset: str | None = None) -> list[PeriodCheck]:
    """The periods of each feed's most recent reconciliation (of ``department``/``dataset``)."""
    recorded = table(AUDIT, "reconciliation")
    feed = (recorded.c.department_code, recorded.c.source_id, recorded.c.dataset)
    where = []
    if department:
        where.append(recorded.c.department_code == department)
    if dataset:
        where.append(recorded.c.dataset == dataset)
    latest = (sa.select(*feed, sa.func.max(recorded.c.reconciled_at).label("at"))
              .where(*where).group_by(*feed).subquery("latest"))
    query = (sa.select(recorded).join(latest, sa.and_(
        *(recorded.c[c.name] == latest.c[c.name] for c in feed),
        recorded.c.reconciled_at == latest.c.at))
        .order_by(*feed, recorded.c.period))
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [PeriodCheck(r["department_code"], r["source_id"], r["dataset"], r["period"],
                        r["source_rows"], r["warehouse_rows"], r["flagged"], r["reconcile_id"],
                        r["reconciled_at"]) for r in rows]


def verify(engine: sa.Engine, *, department: str | None = None,
           dataset: str | None = None, disagreeing_only: bool = False) -> list[BatchCheck]:
    """Every batch (of ``department`` / ``dataset``, if given) checked against its evidence;
    with ``disagreeing_only`` just those that break an invariant (filtered in the database)."""
    with engine.connect() as conn:
        query = evidence(conn, department=department, dataset=dataset)
        if disagreeing_only:
            query = query.where(disagreement(query.selected_columns))
        rows = conn.execute(query).all()
    return [BatchCheck(*row) for row in rows]


def evidence(conn: sa.Connection, *, department: str | None = None,
             dataset: str | None = None) -> sa.Select:
    """One row per batch, in BatchCheck's field order: its key, its recorded counts, and the
    ``landed`` raw rows and ``written`` versions found (0 when none)."""
    batch = table(AUDIT, "batch")
    where = []
    if department:
        where.append(batch.c.department_code == department)
    if dataset:
        where.append(batch.c.dataset == dataset)
    landed = _landed(department, dataset)
    written = _written(conn, dataset)
    joined = batch.outerjoin(landed, sa.and_(*(landed.c[c] == batch.c[c] for c in BATCH_KEY)))
    columns = [*(batch.c[c] for c in BATCH_KEY),
               *(batch.c[c] for c in ("extracted", "passed", "quarantined", "superseded")),
               (batch.c.inserted + batch.c.updated + batch.c.deleted).label("changed"),
               sa.func.coalesce(landed.c.landed, 0).label("landed")]
    if written is not None:
        joined = joined.outerjoin(written, sa.and_(*(written.c[c] == batch.c[c]
                                                     for c in BATCH_KEY)))
        columns.append(sa.func.coalesce(written.c.written, 0).label("written"))
    else:
        columns.append(sa.literal(0).label("written"))
    return (sa.select(*columns).select_from(joined).where(*where)
            .order_by(batch.c.department_code, batch.c.dataset, batch.c.source_id,
                      batch.c.batch_id))


def disagreement(columns) -> sa.ColumnElement[bool]:
    """SQL: the row of :func:`evidence` (``columns``) breaks at least one invariant."""
    return sa.or_(*(columns[rule.left] != sum((columns[c] for c in rule.right[1:]),
                                              columns[rule.right[0]])
                    for rule in INVARIANTS))


def _landed(department: str | None, dataset: str | None) -> sa.Subquery:
    raw = landing.landings()
    query = sa.select(*(raw.c[c] for c in BATCH_KEY), sa.func.count().label("landed")).group_by(
        *(raw.c[c] for c in BATCH_KEY))
    if department:
        query = query.where(raw.c.department_code == department)
    if dataset:
        query = query.where(raw.c.dataset == dataset)
    return query.subquery("landed")


def _written(conn: sa.Connection, dataset: str | None) -> sa.Subquery | None:
    """Versions per batch over every data set whose core tables exist (None: no such one)."""
    present = set(sa.inspect(conn).get_table_names(schema=CORE))
    names = [dataset] if dataset else [s.name for s in datasets()]
    names = tuple(name for name in names if name in present)
    if not names:
        return None
    # A department filter reaches the grouped union through the join on department_code.
    return _written_union(names)


@cache
def _written_union(names: tuple[str, ...]) -> sa.Subquery:
    # Built once per set of data sets. Each data set's versions are its core and history rows
    # (warehouse.provenance.versions); counting them needs only the batch key, so each part
    # selects just that: a statement a tenth the size compiles, prepares and runs faster.
    parts = []
    for name in names:
        spec = dataset_spec(name)
        keys = sa.union_all(*(sa.select(source.c.department_code, source.c.source_id,
                                        source.c.batch_id)
                              for source in (core_table(spec), history_table(spec)))
                            ).subquery(f"v_{name}")
        parts.append(sa.select(keys.c.department_code, keys.c.source_id,
                               sa.literal(name).label("dataset"), keys.c.batch_id,
                               sa.func.count().label("written"))
                     .group_by(keys.c.department_code, keys.c.source_id, keys.c.batch_id))
    return (sa.union_all(*parts) if len(parts) > 1 else parts[0]).subquery("written")


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
        """What disagrees for this platform resource (empty: all accounted for)."""
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
                    outbox.c.source_id == found.c.source_id,
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

