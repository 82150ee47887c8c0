"""The outbox to the receiving platforms: enqueued with the load, settled by the delivery task.

Every core version a batch writes that a platform must receive (``schemas.platforms
.resources_for``) becomes one ``delivery.outbox`` message per platform resource, inserted by
``enqueue`` inside the load's transaction — one ``INSERT … SELECT`` per resource over the rows
the batch wrote — so a crash can neither load without enqueueing nor enqueue without loading.
A deleted version becomes a withdrawal (operation ``d``).

A message names its version, not a copy of it: the data set, department, business key
(``record_key``) and the batch that wrote it (``source_id``, ``batch_id``). The payload is
built when the message is sent, from that version — in core, or in the history once a later
batch replaced it (``load_versions``). Its ``idempotency_key`` is the sha256 of platform,
resource, record and version (computed in SQL: PostgreSQL's ``sha256``, on SQLite the same
function registered by ``warehouse.engine``), so a message sent again after a lost response
carries the same key and the platform answers ``duplicate``.

A message is ``pending`` until the platform answers: ``acknowledged`` (accepted or duplicate,
with its 回执 ``receipt``), ``rejected`` (one ``delivery.rejection`` row per error, with the
platform's code and reason; a later acknowledged message of the same record resolves them), or
``withheld`` (a 双公示 record whose 公示期 ended before it was sent). When an acknowledged
record's 公示期 ends, ``enqueue_expired`` adds its withdrawal once (cause ``expiry``).
"""

from __future__ import annotations

import fcntl
import hashlib
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles

from schemas.catalog import all_fields
from schemas.catalog import dataset as dataset_spec
from schemas.model import DataSetSpec, FieldType
from warehouse.engine import SHA256_HEX
from warehouse.tables import (
    DELIVERY,
    HISTORY_SUFFIX,
    OUTBOX_VERSION,
    core_table,
    history_table,
    table,
)

# Business-key values are joined with a character no key value holds (dates, codes, names).
RECORD_KEY_SEPARATOR = "\x1f"
LOAD, EXPIRY = "load", "expiry"
SETTLED = ("acknowledged", "rejected", "withheld")
_ROWCOUNT = {"preserve_rowcount": True}


@dataclass(frozen=True)
class Route:
    """One platform resource a data set's versions are delivered to."""

    platform: str
    resource: str
    publicity: bool = False  # 双公示: withdrawn when its 公示期 ends
    # Only rows whose standard field ``field`` holds one of ``values`` (or, with ``present``,
    # any value / none) are due: the shape's ``applies_when``.
    field: str | None = None
    values: tuple[str, ...] | None = None
    present: bool | None = None


def routes_for(name: str) -> list[Route]:
    """The platform resources data set ``name`` is delivered to (from the platform shapes)."""
    from schemas.platforms import resources_for

    found = []
    for resource in resources_for(name):
        when = resource.applies_when
        found.append(Route(resource.platform, resource.name, bool(resource.publicity),
                           when.field if when else None, when.in_ if when else None,
                           when.present if when else None))
    return found


def applies(route: Route, source: sa.Table | sa.Subquery) -> list[sa.ColumnElement]:
    """The route's ``applies_when`` as SQL, as ``Condition.holds`` reads it in Python."""
    if route.field is None:
        return []
    text = sa.cast(source.c[route.field], sa.Text)
    if route.present is not None:
        given = sa.and_(source.c[route.field].is_not(None), text != "")
        return [given if route.present else ~given]
    return [text.in_(route.values or ())]


# --- keys --------------------------------------------------------------------------------

class sha256_hex(sa.sql.functions.GenericFunction):
    """sha256 of a text as 64 hex digits, on PostgreSQL and (registered) SQLite."""

    type = sa.String(64)
    name = SHA256_HEX
    inherit_cache = True


@compiles(sha256_hex, "postgresql")
def _sha256_postgresql(element, compiler, **kw) -> str:
    return f"encode(sha256(convert_to({compiler.process(element.clauses, **kw)}, 'UTF8')), 'hex')"


def idempotency_key(platform: str, resource: str, dataset: str, department_code: str,
                    source_id: str, record_key: str, batch_id: str,
                    cause: str = LOAD) -> str:
    """The key of one message: what ``enqueue`` computes in SQL, here in Python."""
    parts = [platform, resource, dataset, department_code, source_id, record_key, batch_id]
    if cause != LOAD:
        parts.append(cause)
    return hashlib.sha256(RECORD_KEY_SEPARATOR.join(parts).encode("utf-8")).hexdigest()


def _key_sql(*parts: sa.ColumnElement) -> sa.ColumnElement:
    text = parts[0]
    for part in parts[1:]:
        text = text + sa.literal(RECORD_KEY_SEPARATOR) + part
    return sha256_hex(text)


def record_key_sql(source: sa.Table | sa.Subquery, spec: DataSetSpec) -> sa.ColumnElement:
    """A row's business-key values as text, joined by RECORD_KEY_SEPARATOR (in SQL)."""
    parts = [sa.cast(source.c[k], sa.Text) for k in spec.business_key]
    text = parts[0]
    for part in parts[1:]:
        text = text + sa.literal(RECORD_KEY_SEPARATOR) + part
    return text


def record_key_of(row: dict, spec: DataSetSpec) -> str:
    """The ``record_key`` of a row, as ``record_key_sql`` gives it."""
    return RECORD_KEY_SEPARATOR.join(
        v.isoformat() if isinstance(v, date) else str(v) for v in
        (row[k] for k in spec.business_key))


# By data set name: hashing a DataSetSpec (a pydantic model) costs more than the lookup.
@cache
def _key_types(name: str) -> tuple[FieldType, ...]:
    spec = dataset_spec(name)
    types = {f.name: f.type for f in all_fields(spec)}
    return tuple(types[k] for k in spec.business_key)


@cache
def _decimal_fields(name: str) -> tuple[str, ...]:
    return tuple(f.name for f in all_fields(dataset_spec(name)) if f.type is FieldType.DECIMAL)


def _parse_key(spec: DataSetSpec, text: str) -> tuple:
    values = text.split(RECORD_KEY_SEPARATOR)
    types = _key_types(spec.name)
    if len(values) != len(types):
        raise ValueError(f"{spec.name}: record key {text!r} has {len(values)} parts")
    parsed = []
    for kind, value in zip(types, values, strict=True):
        match kind:
            case FieldType.DATE:
                parsed.append(date.fromisoformat(value))
            case FieldType.INTEGER:
                parsed.append(int(value))
            case _:
                parsed.append(value)
    return tuple(parsed)


# --- enqueue (in the load transaction) -----------------------------------------------------

def _insert(conn: sa.Connection, target: sa.Table):
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(target)


def enqueue(conn: sa.Connection, spec: DataSetSpec, department_code: str, source_id: str,
            batch_id: str, now: datetime, routes: list[Route] | None = None) -> int:
    """Enqueue every version batch ``batch_id`` wrote, once per route; returns messages added.

    Runs on the load's connection, inside its transaction. The versions a batch wrote are the
    core rows carrying its batch key (a batch writes at most one version of a row, and it is
    current until a later batch commits).
    """
    routes = routes_for(spec.name) if routes is None else routes
    if not routes:
        return 0
    core, outbox = core_table(spec), table(DELIVERY, "outbox")
    operation = sa.case((core.c.is_deleted, "d"),
                        (core.c.updated_at == core.c.first_loaded_at, "i"), else_="u")
    record_key = record_key_sql(core, spec)
    added = 0
    for route in routes:
        key = _key_sql(sa.literal(route.platform), sa.literal(route.resource),
                       sa.literal(spec.name), core.c.department_code, core.c.source_id,
                       record_key, core.c.batch_id)
        rows = sa.select(
            sa.literal(route.platform), sa.literal(route.resource), sa.literal(spec.name),
            core.c.department_code, core.c.source_id, record_key, core.c.batch_id,
            core.c.record_id, operation, sa.literal(LOAD), key, sa.literal("pending"),
            sa.literal(now, type_=sa.DateTime(timezone=True)), sa.literal(0),
        ).where(core.c.department_code == department_code,
                core.c.source_id == source_id, core.c.batch_id == batch_id,
                *applies(route, core))
        insert = _insert(conn, outbox).from_select(
            ["platform", "resource", "dataset", "department_code", "source_id",
             "record_key", "batch_id", "record_id", "operation", "cause", "idempotency_key",
             "status", "enqueued_at", "attempts"], rows)
        # No ON CONFLICT: a batch's messages are only ever added here, in the transaction that
        # loads it once (``load_batch`` returns early for a batch loaded before), so none can
        # exist yet — and one that did would be a bug to fail on, not to skip. PostgreSQL's
        # speculative insertion for ON CONFLICT cost about 30 % of the enqueue.
        added += conn.execute(insert, execution_options=_ROWCOUNT).rowcount
    return added


def enqueue_expired(engine: sa.Engine, route: Route, as_of: date, now: datetime,
                    department: str | None = None) -> int:
    """Add one withdrawal per record whose acknowledged version's 公示期 ended before ``as_of``.

    Only a record the platform still shows: its latest acknowledged message is an ``i``/``u``
    and no message after it is pending, acknowledged or itself such a withdrawal (a version
    withheld or rejected later changed nothing on the platform). The withdrawal's key derives
    from the version it withdraws, so it is added once whatever the number of runs.
    """
    outbox = table(DELIVERY, "outbox")
    m, later = outbox.alias("m"), outbox.alias("later")
    still_shown = ~sa.exists().where(
        later.c.platform == m.c.platform, later.c.resource == m.c.resource,
        later.c.department_code == m.c.department_code, later.c.record_key == m.c.record_key,
        later.c.message_id > m.c.message_id,
        sa.or_(later.c.status.in_(("pending", "acknowledged")), later.c.cause == EXPIRY))
    where = [m.c.platform == route.platform, m.c.resource == route.resource,
             m.c.status == "acknowledged", m.c.operation.in_(("i", "u")),
             m.c.publicity_end < as_of, still_shown]
    if department:
        where.append(m.c.department_code == department)
    key = _key_sql(m.c.platform, m.c.resource, m.c.dataset, m.c.department_code,
                   m.c.source_id, m.c.record_key, m.c.batch_id, sa.literal(EXPIRY))
    rows = sa.select(
        m.c.platform, m.c.resource, m.c.dataset, m.c.department_code, m.c.source_id,
        m.c.record_key, m.c.batch_id, m.c.record_id, sa.literal("d"), sa.literal(EXPIRY), key,
        sa.literal("pending"), sa.literal(now, type_=sa.DateTime(timezone=True)),
        sa.literal(0), m.c.publicity_end,
    ).where(*where).order_by(m.c.message_id)
    with engine.begin() as conn:
        insert = _insert(conn, outbox).from_select(
            ["platform", "resource", "dataset", "department_code", "source_id",
             "record_key", "batch_id", "record_id", "operation", "cause", "idempotency_key",
             "status", "enqueued_at", "attempts", "publicity_end"], rows)
        return conn.execute(insert.on_conflict_do_nothing(index_elements=list(OUTBOX_VERSION)),
                            execution_options=_ROWCOUNT).rowcount


# --- claiming and reading versions ---------------------------------------------------------

def analyze_outbox(conn: sa.Connection) -> None:
    """Fresh PostgreSQL statistics of the outbox (committed on ``conn``).

    Right after a large load the outbox has none until autovacuum comes by, and the planner
    then probes it row by row: verifying 30,000 messages took 16 s instead of 0.05 s.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text(f"ANALYZE {DELIVERY}.outbox"))
        conn.commit()


MESSAGE_COLUMNS = ("message_id", "platform", "resource", "dataset", "department_code",
                   "source_id", "record_key", "batch_id", "record_id", "operation", "cause",
                   "idempotency_key", "attempts")


def pending(engine: sa.Engine, platform: str, *, limit: int, after: int = 0,
            department: str | None = None) -> list[dict]:
    """The next ``limit`` pending messages of ``platform`` after message ``after``, in order."""
    outbox = table(DELIVERY, "outbox")
    where = [outbox.c.platform == platform, outbox.c.status == "pending",
             outbox.c.message_id > after]
    if department:
        where.append(outbox.c.department_code == department)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(
            sa.select(*(outbox.c[c] for c in MESSAGE_COLUMNS)).where(*where)
            .order_by(outbox.c.message_id).limit(limit)).mappings()]


def load_versions(engine: sa.Engine, messages: list[dict]) -> dict[int, dict]:  # noqa: C901 - core then history, per data set
    """The version each message names, as a dict of core columns, by message id.

    Looked up by primary key in core, and — only for versions a later batch replaced — by
    the key index of the history. A message whose version is found nowhere is left out (the
    caller reports it: versions are never rewritten, so that would be a damaged warehouse).
    """
    found: dict[int, dict] = {}
    by_dataset: dict[str, list[dict]] = {}
    for message in messages:
        by_dataset.setdefault(message["dataset"], []).append(message)
    with engine.connect() as conn:
        for name, group in by_dataset.items():
            spec = dataset_spec(name)
            wanted = {m["message_id"]: (m["department_code"], *_parse_key(spec, m["record_key"]),
                                        m["source_id"], m["batch_id"]) for m in group}
            rows: dict[tuple, dict] = {}
            for source in (core_table(spec), history_table(spec)):
                missing = {v for v in wanted.values() if v not in rows}
                if not missing:
                    break
                by_department: dict[str, set] = {}
                for version in missing:
                    by_department.setdefault(version[0], set()).add(version[1:-2])
                found_rows = []
                for department, keys in by_department.items():
                    # Per department, and a plain IN for a one-column key: SQLite then walks
                    # the primary key (it scans the table for a row-value IN).
                    if len(spec.business_key) == 1:
                        matches = source.c[spec.business_key[0]].in_(
                            sorted(k[0] for k in keys))
                    else:
                        matches = sa.tuple_(*(source.c[k] for k in spec.business_key)).in_(
                            sorted(keys, key=str))
                    query = sa.select(source).where(source.c.department_code == department,
                                                    matches)
                    if source.name.endswith(HISTORY_SUFFIX):
                        query = query.where(source.c.batch_id.in_(
                            sorted({v[-1] for v in missing})))
                    found_rows += conn.execute(query).mappings().all()
                for row in found_rows:
                    version = (row["department_code"], *(row[k] for k in spec.business_key),
                               row["source_id"], row["batch_id"])
                    if version in missing and version not in rows:
                        rows[version] = _typed(spec, dict(row))
            for message_id, version in wanted.items():
                if version in rows:
                    found[message_id] = rows[version]
    return found


def _typed(spec: DataSetSpec, row: dict) -> dict:
    # SQLite keeps exact decimals as text (warehouse.tables.sql_type): give them back as Decimal.
    for name in _decimal_fields(spec.name):
        if isinstance(row.get(name), str):
            row[name] = Decimal(row[name])
    return row


# --- settling --------------------------------------------------------------------------------

def mark_sent(engine: sa.Engine, message_ids: list[int], now: datetime) -> None:
    """Count one more send of each message, before it goes out (committed)."""
    outbox = table(DELIVERY, "outbox")
    with engine.begin() as conn:
        for start in range(0, len(message_ids), 1000):
            conn.execute(sa.update(outbox).where(
                outbox.c.message_id.in_(message_ids[start:start + 1000])).values(
                attempts=outbox.c.attempts + 1, last_sent_at=now))


@dataclass(frozen=True)
class Outcome:
    """What became of one message: acknowledged (receipt), rejected (errors) or withheld."""

    message: dict
    status: str
    receipt: str | None = None
    errors: tuple[dict, ...] = ()  # {"code", "field", "reason"}
    publicity_end: date | None = None
    note: str | None = None
    source_ref: str = ""


def settle(engine: sa.Engine, outcomes: Iterable[Outcome], now: datetime) -> None:
    """Record the outcomes in one transaction; an acknowledgement resolves earlier rejections."""
    outcomes = list(outcomes)
    if not outcomes:
        return
    outbox, rejection = table(DELIVERY, "outbox"), table(DELIVERY, "rejection")
    update = sa.update(outbox).where(outbox.c.message_id == sa.bindparam("id"),
                                     outbox.c.status == "pending").values(
        status=sa.bindparam("new_status"), receipt=sa.bindparam("new_receipt"),
        publicity_end=sa.bindparam("new_end"), note=sa.bindparam("new_note"),
        settled_at=sa.bindparam("new_settled"))
    rejected_rows = []
    for outcome in outcomes:
        if outcome.status not in SETTLED:
            raise ValueError(f"message {outcome.message['message_id']}: status "
                             f"{outcome.status!r} is not one of {SETTLED}")
        if outcome.status == "rejected":
            errors = outcome.errors or ({"code": "UNSPECIFIED", "field": None,
                                         "reason": "rejected without a reason"},)
            message = outcome.message
            rejected_rows += [{
                "message_id": message["message_id"],
                **{c: message[c] for c in ("platform", "resource", "dataset", "department_code",
                                           "record_key", "record_id", "batch_id")},
                "source_ref": outcome.source_ref, "code": str(error.get("code") or "UNSPECIFIED"),
                "field": str(error.get("field") or ""),
                "reason": str(error.get("reason") or "rejected without a reason"),
                "status": "open", "rejected_at": now} for error in errors]
    with engine.begin() as conn:
        conn.execute(update, [{
            "id": o.message["message_id"], "new_status": o.status, "new_receipt": o.receipt,
            "new_end": o.publicity_end, "new_note": o.note, "new_settled": now}
            for o in outcomes])
        if rejected_rows:
            conn.execute(rejection.insert(), rejected_rows)
        acknowledged = [o.message for o in outcomes if o.status == "acknowledged"]
        if acknowledged and conn.execute(sa.select(sa.literal(1)).where(
                rejection.c.platform == acknowledged[0]["platform"],
                rejection.c.status == "open").limit(1)).first():
            conn.execute(sa.update(rejection).where(
                rejection.c.platform == sa.bindparam("p"),
                rejection.c.resource == sa.bindparam("r"),
                rejection.c.department_code == sa.bindparam("d"),
                rejection.c.record_key == sa.bindparam("k"),
                rejection.c.message_id < sa.bindparam("id"),
                rejection.c.status == "open").values(
                status="resolved", resolved_message_id=sa.bindparam("id"),
                resolved_at=sa.bindparam("at")), [
                {"p": m["platform"], "r": m["resource"], "d": m["department_code"],
                 "k": m["record_key"], "id": m["message_id"], "at": now}
                for m in acknowledged])


# --- one delivery task per platform at a time ------------------------------------------------

class DeliveryBusy(RuntimeError):
    """Another delivery task holds the platform."""


@contextmanager
def platform_lock(engine: sa.Engine, platform: str, *, wait: float = 30.0) -> Iterator[None]:
    """Hold ``platform`` for one delivery task; released when the process ends, even by kill -9.

    A record's versions must reach the platform in order, so one task per platform sends.
    PostgreSQL: a session advisory lock on a connection held for the task. SQLite: an
    ``flock`` on a file beside the warehouse. Waits up to ``wait`` seconds for a holder that
    just died (its server session ending), then raises DeliveryBusy.
    """
    deadline = time.monotonic() + wait
    if engine.dialect.name == "postgresql":
        name = f"huiju.deliver:{platform}"
        with engine.connect() as conn:
            while not conn.execute(sa.text(
                    "SELECT pg_try_advisory_lock(hashtextextended(:n, 0))"), {"n": name}).scalar():
                conn.rollback()
                if time.monotonic() > deadline:
                    raise DeliveryBusy(f"another delivery task is sending to {platform}")
                time.sleep(0.2)
            conn.commit()
            try:
                yield
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(hashtextextended(:n, 0))"),
                             {"n": name})
                conn.commit()
        return
    database = engine.url.database
    if not database or database == ":memory:":
        yield  # one process owns an in-memory warehouse
        return
    path = Path(database).resolve().parent / f"delivery-{platform}.lock"
    with path.open("a") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise DeliveryBusy(f"another delivery task is sending to {platform}") from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --- reading what was delivered --------------------------------------------------------------

def status_counts(engine: sa.Engine, *, platform: str | None = None,
                  department: str | None = None) -> dict[str, dict[str, int]]:
    """Messages per platform and status (plus ``sent``: messages sent at least once)."""
    outbox = table(DELIVERY, "outbox")
    where = []
    if platform:
        where.append(outbox.c.platform == platform)
    if department:
        where.append(outbox.c.department_code == department)
    counts: dict[str, dict[str, int]] = {}
    # a literal, not a bound 0: PostgreSQL must see the same expression in GROUP BY
    was_sent = outbox.c.attempts > sa.literal_column("0")
    with engine.connect() as conn:
        for name, status, sent, number in conn.execute(
                sa.select(outbox.c.platform, outbox.c.status, was_sent, sa.func.count())
                .where(*where).group_by(outbox.c.platform, outbox.c.status, was_sent)):
            figures = counts.setdefault(name, {s: 0 for s in ("sent", "pending", *SETTLED)})
            figures[status] += number
            if sent:
                figures["sent"] += number
    return counts


def sent_since(engine: sa.Engine, platform: str, since: datetime) -> dict[str, int]:
    """Messages per resource last sent at or after ``since`` (a daily quota's use so far)."""
    outbox = table(DELIVERY, "outbox")
    since = since.astimezone(UTC)  # SQLite compares the stored (UTC) text
    with engine.connect() as conn:
        return dict(conn.execute(
            sa.select(outbox.c.resource, sa.func.count())
            .where(outbox.c.platform == platform, outbox.c.last_sent_at >= since)
            .group_by(outbox.c.resource)).all())


REJECTION_COLUMNS = ("department_code", "dataset", "platform", "resource", "record_id",
                     "source_ref", "batch_id", "code", "field", "reason", "status",
                     "rejected_at", "resolved_message_id", "resolved_at")


def rejections(engine: sa.Engine, *, department: str | None = None, dataset: str | None = None,
               status: str | None = "open") -> list[dict]:
    """The platforms' per-record rejections, oldest first (shown beside the quarantine)."""
    rejection = table(DELIVERY, "rejection")
    where = []
    if department:
        where.append(rejection.c.department_code == department)
    if dataset:
        where.append(rejection.c.dataset == dataset)
    if status:
        where.append(rejection.c.status == status)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(
            sa.select(*(rejection.c[c] for c in REJECTION_COLUMNS)).where(*where)
            .order_by(rejection.c.department_code, rejection.c.dataset,
                      rejection.c.rejection_id)).mappings()]


def receipts(engine: sa.Engine, dataset: str, department_code: str, record_key: str
             ) -> list[dict]:
    """Every message of one record with its status and receipt (``huiju trace``)."""
    outbox = table(DELIVERY, "outbox")
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(
            sa.select(outbox.c.message_id, outbox.c.platform, outbox.c.resource,
                      outbox.c.batch_id, outbox.c.operation, outbox.c.cause, outbox.c.status,
                      outbox.c.attempts, outbox.c.receipt, outbox.c.settled_at,
                      outbox.c.publicity_end, outbox.c.note)
            .where(outbox.c.dataset == dataset, outbox.c.department_code == department_code,
                   outbox.c.record_key == record_key)
            .order_by(outbox.c.message_id)).mappings()]
