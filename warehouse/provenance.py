"""Provenance: from a source record to its core row, and from a core row to every batch.

A record is named by its source reference (``mysql:案件表#pk=123``), its record id, or — with
the data set — its business key (several columns joined by ``KEY_SEPARATOR``). The trail of
one core row gathers its current version, the versions before it (history), the batches that
inserted, updated or deleted it, the raw landings of its source records, any quarantine
entries of those records, and what became of it downstream: each platform message with its
receipt (回执), and the platforms' rejections.

Which batches touched a row is read from its versions: every version (history and current)
carries the ``batch_id`` that wrote it. The first version was an insert
(``updated_at = first_loaded_at``), a version marked ``is_deleted`` a delete, any other an
update. ``batch_changes`` reads the same the other way: every row a batch changed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import sqlalchemy as sa

from schemas.catalog import dataset as dataset_spec
from schemas.catalog import datasets
from schemas.model import DataSetSpec
from warehouse import landing
from warehouse.outbox import record_key_of
from warehouse.tables import (
    AUDIT,
    CORE,
    DELIVERY,
    KEY_SEPARATOR,
    QUARANTINE,
    core_table,
    history_table,
    table,
)

TRAIL_COLUMNS = ("record_id", "batch_id", "operation", "source_id", "source_ref",
                 "source_hash", "first_loaded_at", "updated_at", "is_deleted")


@dataclass
class Trail:
    """Everything the warehouse knows about one record of one department and data set."""

    dataset: str
    department_code: str
    business_key: tuple
    current: dict | None = None  # the core row's provenance columns (None: never loaded)
    versions: list[dict] = field(default_factory=list)  # history, oldest first
    batches: list[dict] = field(default_factory=list)  # one per version, with audit.batch
    landings: list[dict] = field(default_factory=list)  # raw.record ⋈ raw.part, with record
    quarantine: list[dict] = field(default_factory=list)  # quarantine.record rows
    deliveries: list[dict] = field(default_factory=list)  # delivery.outbox: receipts (回执)
    rejections: list[dict] = field(default_factory=list)  # delivery.rejection rows

    @property
    def key_text(self) -> str:
        """The business key as ``huiju trace --dataset`` takes it (joined by ``|``)."""
        return KEY_SEPARATOR.join(str(v) for v in self.business_key)


def trace(engine: sa.Engine, record: str, dataset: str | None = None) -> list[Trail]:
    """The trails of every core row ``record`` names (source ref, record id or business key).

    A source record that never reached core (quarantined, superseded) gives a trail without
    ``current`` holding its landings and quarantine entries.
    """
    with engine.connect() as conn:
        specs = _loaded_specs(conn, dataset)
        trails: list[Trail] = []
        for spec in specs:
            for row in _find_core_rows(conn, spec, record, by_key=dataset is not None):
                trails.append(_trail(conn, spec, row))
        if not trails:
            trails = _unloaded_trails(conn, record, {s.name for s in specs})
        return trails


def find_core_row(engine: sa.Engine, source_ref: str) -> list[tuple[str, dict]]:
    """(data set, core row) for a source reference: the row it is now, or was loaded into."""
    return [(t.dataset, t.current) for t in trace(engine, source_ref) if t.current]


def _loaded_specs(conn: sa.Connection, name: str | None) -> list[DataSetSpec]:
    present = set(sa.inspect(conn).get_table_names(schema=CORE))
    specs = [dataset_spec(name)] if name else datasets()
    return [s for s in specs if s.name in present]


def _find_core_rows(conn: sa.Connection, spec: DataSetSpec, record: str, *,
                    by_key: bool) -> list[dict]:
    core = core_table(spec)
    conditions = [core.c.source_ref == record, core.c.record_id == record]
    if by_key:
        parts = record.split(KEY_SEPARATOR)
        if len(parts) == len(spec.business_key):
            conditions.append(sa.and_(*(sa.cast(core.c[k], sa.Text) == v
                                        for k, v in zip(spec.business_key, parts, strict=True))))
    rows = conn.execute(sa.select(core).where(sa.or_(*conditions))).mappings().all()
    if not rows:
        # An earlier source record of a row (its ref moved on): find it in the history, or a
        # landing whose content is the current version (unchanged re-delivery).
        history = history_table(spec)
        keys = conn.execute(sa.select(history.c.department_code,
                                      *(history.c[k] for k in spec.business_key))
                            .where(history.c.source_ref == record).distinct()).all()
        raw = landing.landings()
        hashes = sa.select(raw.c.department_code, raw.c.source_hash).where(
            raw.c.source_ref == record, raw.c.dataset == spec.name)
        found = [dict(zip(("department_code", *spec.business_key), k, strict=True))
                 for k in keys]
        match_key = [sa.and_(*(core.c[c] == v for c, v in k.items())) for k in found]
        match_hash = [sa.and_(core.c.department_code == d, core.c.source_hash == h)
                      for d, h in conn.execute(hashes).all()]
        if match_key or match_hash:
            rows = conn.execute(sa.select(core).where(sa.or_(*match_key, *match_hash))
                                ).mappings().all()
    return [dict(r) for r in rows]


def _trail(conn: sa.Connection, spec: DataSetSpec, row: dict) -> Trail:
    department = row["department_code"]
    key = tuple(row[k] for k in spec.business_key)
    trail = Trail(spec.name, department, key, current={c: row[c] for c in TRAIL_COLUMNS})

    history = history_table(spec)
    same_row = [history.c.department_code == department,
                *(history.c[k] == v for k, v in zip(spec.business_key, key, strict=True))]
    trail.versions = [
        {c: r[c] for c in (*TRAIL_COLUMNS, "version_valid_from", "version_valid_to",
                           "closed_batch_id")}
        for r in conn.execute(sa.select(history).where(*same_row)
                              .order_by(history.c.version_valid_from, history.c.history_id))
        .mappings()]

    trail.batches = _batches(conn, spec, department, key)
    refs = {trail.current["source_ref"]} | {v["source_ref"] for v in trail.versions} \
        | {b["source_ref"] for b in trail.batches}
    trail.landings = _landings(conn, spec.name, department, refs)
    record_ids = {trail.current["record_id"]} - {None}
    trail.quarantine = _quarantine(conn, spec.name, department, refs, record_ids)
    trail.deliveries, trail.rejections = _deliveries(conn, spec, department, row)
    return trail


def _deliveries(conn: sa.Connection, spec: DataSetSpec, department: str,
                row: dict) -> tuple[list[dict], list[dict]]:
    """Every outbox message of the row (per platform, version by version) and rejection."""
    outbox, rejection = table(DELIVERY, "outbox"), table(DELIVERY, "rejection")
    key = record_key_of(row, spec)
    messages = [dict(r) for r in conn.execute(
        sa.select(outbox.c.message_id, outbox.c.platform, outbox.c.resource,
                  outbox.c.batch_id, outbox.c.operation, outbox.c.cause, outbox.c.status,
                  outbox.c.attempts, outbox.c.receipt, outbox.c.settled_at,
                  outbox.c.publicity_end, outbox.c.note)
        .where(outbox.c.dataset == spec.name, outbox.c.department_code == department,
               outbox.c.record_key == key)
        .order_by(outbox.c.message_id)).mappings()]
    rejected = [dict(r) for r in conn.execute(
        sa.select(rejection.c.message_id, rejection.c.platform, rejection.c.resource,
                  rejection.c.batch_id, rejection.c.code, rejection.c.field,
                  rejection.c.reason, rejection.c.status, rejection.c.resolved_message_id)
        .where(rejection.c.dataset == spec.name, rejection.c.department_code == department,
               rejection.c.record_key == key)
        .order_by(rejection.c.rejection_id)).mappings()]
    return messages, rejected


LINK_COLUMNS = ("batch_id", "source_id", "source_ref", "source_hash", "record_id")


def versions(spec: DataSetSpec) -> sa.Subquery:
    """Every version of every row of ``spec`` — current (core) and earlier (history) — with the
    ``action`` that wrote it: the first version an insert (``updated_at = first_loaded_at``),
    one marked ``is_deleted`` a delete, any other an update."""
    names = [c.name for c in core_table(spec).columns]
    parts = []
    for source in (core_table(spec), history_table(spec)):
        action = sa.case((source.c.updated_at == source.c.first_loaded_at, "insert"),
                         (source.c.is_deleted, "delete"), else_="update")
        parts.append(sa.select(*(source.c[n] for n in names), action.label("action")))
    return sa.union_all(*parts).subquery("versions")


def _batches(conn: sa.Connection, spec: DataSetSpec, department: str,
             key: tuple) -> list[dict]:
    """The batch that wrote each version of one row, oldest first, with its audit.batch."""
    found, batch = versions(spec), table(AUDIT, "batch")
    joined = found.outerjoin(batch, sa.and_(
        batch.c.department_code == found.c.department_code,
        batch.c.source_id == found.c.source_id,
        batch.c.dataset == spec.name, batch.c.batch_id == found.c.batch_id))
    return [dict(r) for r in conn.execute(
        sa.select(*(found.c[c] for c in LINK_COLUMNS), found.c.action, batch.c.loaded_at,
                  batch.c.run_id, batch.c.code_version)
        .select_from(joined)
        .where(found.c.department_code == department,
               *(found.c[k] == v for k, v in zip(spec.business_key, key, strict=True)))
        .order_by(found.c.updated_at)).mappings()]


def batch_changes(engine: sa.Engine, name: str, batch_id: str,
                  department: str | None = None) -> list[dict]:
    """Every core row batch ``batch_id`` of data set ``name`` inserted, updated or deleted.

    Each: the department and business key, ``action``, and the source the batch loaded.
    """
    spec = dataset_spec(name)
    found = versions(spec)
    key = ("department_code", *spec.business_key)
    where = [found.c.batch_id == batch_id]
    if department:
        where.append(found.c.department_code == department)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(
            sa.select(*(found.c[c] for c in (*key, *LINK_COLUMNS)), found.c.action)
            .where(*where).order_by(*(found.c[c] for c in key))).mappings()]


def _landings(conn: sa.Connection, name: str, department: str, refs: set[str]) -> list[dict]:
    raw = landing.landings()
    rows = [dict(r) for r in conn.execute(
        sa.select(raw.c.batch_id, raw.c.source_id, raw.c.source_ref, raw.c.source_hash,
                  raw.c.extracted_at, raw.c.part_id, raw.c.row_no)
        .where(raw.c.dataset == name, raw.c.department_code == department,
               raw.c.source_ref.in_(sorted(refs)))
        .order_by(raw.c.part_id, raw.c.row_no)).mappings()]
    texts = landing.records(conn, [(r["part_id"], r["row_no"]) for r in rows])
    return [{**r, "record": json.loads(texts[(r["part_id"], r["row_no"])])} for r in rows]


def _quarantine(conn: sa.Connection, name: str, department: str, refs: set[str],
                record_ids: set[str]) -> list[dict]:
    q = table(QUARANTINE, "record")
    return [dict(r) for r in conn.execute(
        sa.select(q.c.batch_id, q.c.rule_id, q.c.family, q.c.field, q.c.message_zh,
                  q.c.message_en, q.c.raw_value, q.c.source_ref, q.c.status,
                  q.c.resolved_batch_id, q.c.resolved_at, q.c.resolved_by, q.c.resolution_note,
                  q.c.first_seen_at, q.c.last_seen_at)
        .where(q.c.dataset == name, q.c.department_code == department,
               sa.or_(q.c.source_ref.in_(sorted(refs)), q.c.record_id.in_(sorted(record_ids))))
        .order_by(q.c.first_seen_at, q.c.rule_id)).mappings()]


def _unloaded_trails(conn: sa.Connection, record: str, names: set[str]) -> list[Trail]:
    raw, q = landing.landings(), table(QUARANTINE, "record")
    seen = conn.execute(
        sa.union(sa.select(raw.c.dataset, raw.c.department_code).where(raw.c.source_ref == record),
                 sa.select(q.c.dataset, q.c.department_code).where(
                     sa.or_(q.c.source_ref == record, q.c.record_id == record)))).all()
    trails = []
    for name, department in sorted(seen):
        if name not in names:
            continue
        trail = Trail(name, department, ())
        trail.landings = _landings(conn, name, department, {record})
        trail.quarantine = _quarantine(conn, name, department, {record}, {record})
        trails.append(trail)
    return trails
