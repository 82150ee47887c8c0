"""Load one batch into the warehouse: raw landing, core merge, history, quarantine, audit.

Everything a batch writes is committed in one transaction, or nothing is:

1. land every extracted row in ``raw.part`` / ``raw.record`` (``warehouse.landing``);
2. copy the passed rows into a temporary staging table (``warehouse.bulk``: PostgreSQL binary
   ``COPY``, SQLite ``executemany``) — or, for a department's first batch, straight into core;
3. copy the current version of every row whose ``source_hash`` changed into
   ``core.<dataset>_history`` (version_valid_from = when it became current, version_valid_to = now);
4. close deleted rows (operation ``d``: ``is_deleted``), then ``INSERT … ON CONFLICT DO UPDATE``
   the others ``WHERE`` the source hash differs — an unchanged row is not touched;
5. enqueue every version the batch wrote for the platforms that must receive it
   (``warehouse.outbox``: one ``delivery.outbox`` message per platform resource);
6. open quarantine rows for the failures, resolve earlier ones the batch now loaded cleanly;
7. write ``audit.batch`` (its counts must balance) and ``audit.cursor_state``.

Every version a batch writes carries its ``batch_id``, so which batches touched a row is read
from the row and its history (``warehouse.provenance``), not written a second time.

A batch already in ``audit.batch`` is not loaded again. The request's accounting is checked
before anything is written: extracted = passed + quarantined records + superseded.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from schemas.catalog import all_fields, dataset
from schemas.frames import CORE_PROVENANCE, LOAD_QUARANTINE_COLUMNS, AccountingError
from schemas.model import DataSetSpec
from warehouse import roles
from warehouse.bulk import bulk_insert, pause_point
from warehouse.engine import BEGIN_OPTION
from warehouse.landing import FORMAT, PART_ROWS, encode_part
from warehouse.outbox import enqueue
from warehouse.tables import (
    AUDIT,
    QUARANTINE,
    RAW,
    core_table,
    history_table,
    table,
)

OPERATIONS = ("i", "u", "d")
# SQLAlchemy keeps an INSERT's row count only when asked to.
_ROWCOUNT = {"preserve_rowcount": True}

__all__ = ["AccountingError", "LoadRequest", "LoadResult", "check_accounting", "load_batch"]


@dataclass
class LoadRequest:
    """One batch of one data set from one department's source system."""

    dataset: str
    department_code: str
    source_id: str
    batch_id: str
    rows: pd.DataFrame  # passed rows: the standard frame with _source_ref, _source_hash
    raw: pd.DataFrame  # every extracted row: _source_ref, _source_hash, record (JSON text)
    quarantine: pd.DataFrame  # one row per failed rule: LOAD_QUARANTINE_COLUMNS (+ record_id)
    superseded: pd.DataFrame  # passed rows replaced by a later duplicate in the batch
    extracted: int
    cursor: dict | None
    code_version: str
    config_hash: str
    run_id: str | None = None  # audit.run this batch belongs to (created if new)
    extracted_at: datetime | None = None  # when the source was read; default: load time
    notes: list[str] | None = None  # extraction warnings recorded with the batch


@dataclass(frozen=True)
class LoadResult:
    """What loading one batch did: rows inserted, updated, deleted, unchanged, and timings."""

    dataset: str
    department_code: str
    source_id: str
    batch_id: str
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    quarantined: int = 0
    superseded: int = 0
    enqueued: int = 0  # outbox messages: versions written × platform resources due
    already_loaded: bool = False
    counts: dict[str, int] = field(default_factory=dict, compare=False, repr=False)
    seconds: dict[str, float] = field(default_factory=dict, compare=False, repr=False)


class _Clock:
    """Seconds per loading phase (LoadResult.seconds), for logs and the benchmark."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(now - self._last, 3)
        self._last = now


def load_batch(engine: sa.Engine, request: LoadRequest) -> LoadResult:
    """Load ``request`` in one transaction; a batch loaded before is reported, not reloaded."""
    spec = dataset(request.dataset)
    quarantined = check_accounting(spec, request)
    passed, superseded = len(request.rows), len(request.superseded)
    base = dict(dataset=spec.name, department_code=request.department_code,
                source_id=request.source_id, batch_id=request.batch_id)
    with engine.execution_options(**{BEGIN_OPTION: "IMMEDIATE"}).begin() as conn:
        _lock(conn, request)
        if _already_loaded(conn, request):
            return LoadResult(**base, unchanged=passed, quarantined=quarantined,
                              superseded=superseded, already_loaded=True)
        now = datetime.now(UTC)
        clock = _Clock()
        _land_raw(conn, request, now)
        clock.lap("raw")
        appended = None
        if _is_first_load(conn, spec, request):
            # Nothing to merge with: copy straight into core (a department's backfill).
            appended = _insert_first(conn, spec, request, now)
        elif _looks_new(conn, spec, request):
            appended = _append_new(conn, spec, request, now)
        if appended is not None:
            inserted, updated, deleted = appended, 0, 0
            clean = core_table(spec)
            clock.lap("core_copy")
        else:
            clean = _stage(conn, spec, request)
            clock.lap("stage")
            pause_point("merge")
            inserted, updated, deleted = _merge(conn, spec, clean, request, now)
            clock.lap("merge")
        enqueued = enqueue(conn, spec, request.department_code, request.source_id,
                           request.batch_id, now)
        clock.lap("outbox")
        pause_point("outbox")  # crash tests: enqueued, not yet committed
        _write_quarantine(conn, clean, request, now)
        clock.lap("quarantine")
        counts = dict(extracted=request.extracted, passed=passed, quarantined=quarantined,
                      superseded=superseded, inserted=inserted, updated=updated,
                      deleted=deleted, unchanged=passed - inserted - updated - deleted)
        _write_audit(conn, request, counts, now)
        if clean.schema is None:
            clean.drop(conn)
    clock.lap("audit_commit")
    return LoadResult(**base, inserted=inserted, updated=updated, deleted=deleted,
                      unchanged=counts["unchanged"], quarantined=quarantined,
                      superseded=superseded, enqueued=enqueued, counts=counts,
                      seconds=clock.laps)


def check_accounting(spec: DataSetSpec, request: LoadRequest) -> int:
    """Validate the request before loading; returns the number of quarantined records."""
    def need(frame: pd.DataFrame, what: str, columns) -> None:
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise AccountingError(f"{what} lacks columns {missing}")

    columns = [f.name for f in all_fields(spec)] + ["_source_ref", "_source_hash"]
    need(request.rows, "rows", columns)
    need(request.superseded, "superseded", ["_source_ref"])
    need(request.raw, "raw", ["_source_ref", "_source_hash", "record"])
    need(request.quarantine, "quarantine", LOAD_QUARANTINE_COLUMNS)
    quarantined = int(request.quarantine["_source_ref"].nunique())
    passed, superseded = len(request.rows), len(request.superseded)
    if request.extracted != passed + quarantined + superseded:
        raise AccountingError(
            f"batch {request.batch_id} does not balance: extracted {request.extracted} != "
            f"passed {passed} + quarantined {quarantined} + superseded {superseded}")
    if len(request.raw) != request.extracted:
        raise AccountingError(f"raw holds {len(request.raw)} rows, extracted {request.extracted}")
    rows = request.rows
    key = list(spec.business_key)
    if rows[key].isna().any(axis=None):
        raise AccountingError(f"passed rows with an empty business key {key}")
    if rows.duplicated(subset=key).any():
        raise AccountingError(f"passed rows repeat a business key {key}: supersede them first")
    if rows["_source_ref"].isna().any() or rows["_source_hash"].isna().any():
        raise AccountingError("passed rows without _source_ref/_source_hash")
    if len(rows) and (rows["batch_id"] != request.batch_id).any():
        # A core version's batch_id is the batch that wrote it: provenance relies on it.
        raise AccountingError(f"passed rows carry a batch_id other than {request.batch_id}")
    bad_ops = set(rows["operation"].dropna().unique()) - set(OPERATIONS)
    if bad_ops or rows["operation"].isna().any():
        raise AccountingError(f"operation must be one of {OPERATIONS}, got {sorted(bad_ops)}")
    both = set(rows["_source_ref"]) & set(request.quarantine["_source_ref"])
    if both:
        raise AccountingError(f"records both passed and quarantined: {sorted(both)[:5]}")
    return quarantined


def _lock(conn: sa.Connection, request: LoadRequest) -> None:
    # One loader per department and data set at a time (SQLite: BEGIN IMMEDIATE already is).
    if conn.dialect.name == "postgresql":
        name = f"huiju.load:{request.department_code}:{request.dataset}"
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))"),
                     {"name": name})


def _already_loaded(conn: sa.Connection, request: LoadRequest) -> bool:
    batch = table(AUDIT, "batch")
    found = conn.execute(sa.select(batch.c.batch_id).where(
        batch.c.department_code == request.department_code,
        batch.c.source_id == request.source_id,
        batch.c.dataset == request.dataset,
        batch.c.batch_id == request.batch_id)).first()
    return found is not None


def _ts(value: datetime) -> sa.BindParameter:
    return sa.literal(value, type_=sa.DateTime(timezone=True))


# --- raw landing -------------------------------------------------------------------------

def _land_raw(conn: sa.Connection, request: LoadRequest, now: datetime) -> None:
    """Every extracted row into ``raw.part`` (compressed records) and ``raw.record``."""
    raw, part = request.raw, table(RAW, "part")
    records = pa.array(raw["record"], type=pa.large_string(), from_pandas=True)
    part_ids = []
    for part_no, start in enumerate(range(0, len(raw), PART_ROWS)):
        chunk = records.slice(start, PART_ROWS)
        part_ids.append(conn.execute(part.insert().values(
            department_code=request.department_code, source_id=request.source_id,
            dataset=request.dataset, batch_id=request.batch_id, part_no=part_no,
            rows=len(chunk), format=FORMAT, records=encode_part(chunk),
            extracted_at=request.extracted_at or now).returning(part.c.part_id)).scalar_one())
    positions = np.arange(len(raw))
    frame = pd.DataFrame({
        "part_id": np.asarray(part_ids, dtype="int64")[positions // PART_ROWS],
        "row_no": positions % PART_ROWS,
        "source_ref": raw["_source_ref"].to_numpy(),
        "source_hash": raw["_source_hash"].to_numpy(),
    }, index=range(len(raw)))
    bulk_insert(conn, table(RAW, "record"), frame)


# --- staging -----------------------------------------------------------------------------

def _stage(conn: sa.Connection, spec: DataSetSpec, request: LoadRequest) -> sa.Table:
    core = core_table(spec)
    names = [f.name for f in all_fields(spec)] + list(CORE_PROVENANCE)
    stage = _temporary_table(conn, f"huiju_stage_{spec.name}",
                             [sa.Column(n, core.c[n].type) for n in names])
    bulk_insert(conn, stage, _core_frame(spec, request, request.rows), pause="copy")
    if conn.dialect.name == "postgresql":
        # Statistics of the join columns only: ANALYZE of every column costs as much as the COPY.
        joined = ", ".join(("department_code", *spec.business_key, "source_hash", "operation"))
        conn.execute(sa.text(f"ANALYZE {stage.name} ({joined})"))
    return stage


def _temporary_table(conn: sa.Connection, name: str, columns: list[sa.Column]) -> sa.Table:
    """A new, empty temporary table (gone at the end of the connection's session)."""
    temporary = sa.Table(name, sa.MetaData(), *columns, prefixes=["TEMPORARY"])
    temporary.drop(conn, checkfirst=True)
    temporary.create(conn)
    return temporary


def _core_frame(spec: DataSetSpec, request: LoadRequest, rows: pd.DataFrame) -> pd.DataFrame:
    """Passed rows as core columns: the standard fields plus where they came from."""
    return rows[[f.name for f in all_fields(spec)]].assign(
        department_code=request.department_code,
        source_id=request.source_id,
        source_ref=rows["_source_ref"],
        source_hash=rows["_source_hash"],
    )


def _is_first_load(conn: sa.Connection, spec: DataSetSpec, request: LoadRequest) -> bool:
    core = core_table(spec)
    return conn.execute(sa.select(sa.literal(1)).where(
        core.c.department_code == request.department_code).limit(1)).first() is None


def _insert_first(conn: sa.Connection, spec: DataSetSpec, request: LoadRequest,
                  now: datetime) -> int:
    """COPY the rows of a department's first batch into core; a delete there is a no-op."""
    rows = request.rows[request.rows["operation"] != "d"]
    frame = _core_frame(spec, request, rows).assign(
        first_loaded_at=now, updated_at=now, is_deleted=False)
    core = core_table(spec)
    with _indexes_built_after(conn, core):
        bulk_insert(conn, core, frame, pause="copy")
    return len(frame)


def _looks_new(conn: sa.Connection, spec: DataSetSpec, request: LoadRequest) -> bool:
    """Whether none of a sample of the batch's keys is in core (a later chunk of a first load).

    Only a hint for trying :func:`_append_new`, which finds out for certain: an incremental
    batch (changes of known records) answers no at once and goes to the merge.
    """
    if conn.dialect.name != "postgresql" or not len(request.rows):
        return False
    core = core_table(spec)
    keys = list(spec.business_key)
    rows = request.rows
    sample = pd.concat([rows.head(50), rows.tail(50)])[keys].drop_duplicates()
    found = conn.execute(sa.select(sa.literal(1)).where(
        core.c.department_code == request.department_code,
        sa.tuple_(*(core.c[k] for k in keys)).in_(
            [tuple(None if pd.isna(v) else _plain(v) for v in row)
             for row in sample.itertuples(index=False)])).limit(1)).first()
    return found is None


def _plain(value):
    """A frame value as the database driver takes it (numpy scalars as Python values)."""
    return value.item() if hasattr(value, "item") else value


def _append_new(conn: sa.Connection, spec: DataSetSpec, request: LoadRequest,
                now: datetime) -> int | None:
    """COPY a batch of records core does not hold straight into core, as a first load does.

    A department's first load of millions of rows comes as many chunks (``huiju.pipeline``):
    each after the first would otherwise be staged and merged against core for no record to
    merge with. The COPY runs in a savepoint: when a key is already in core (a unique
    violation) it is undone and None returned, and the batch is merged as usual.
    """
    rows = request.rows[request.rows["operation"] != "d"]
    frame = _core_frame(spec, request, rows).assign(
        first_loaded_at=now, updated_at=now, is_deleted=False)
    savepoint = conn.begin_nested()
    try:
        bulk_insert(conn, core_table(spec), frame, pause="copy")
    except (sa.exc.IntegrityError, _unique_violation()):
        savepoint.rollback()
        return None
    savepoint.commit()
    return len(frame)


def _unique_violation() -> type[Exception]:
    """psycopg's unique-violation error (raised by a COPY, outside SQLAlchemy's wrapping)."""
    from psycopg.errors import UniqueViolation

    return UniqueViolation


@contextmanager
def _indexes_built_after(conn: sa.Connection, target: sa.Table) -> Iterator[None]:
    """On an empty PostgreSQL table, drop the key and indexes for the COPY, then rebuild them.

    Building an index once over all rows costs far less than updating it row by row. The DDL
    is part of the load's transaction (a crash restores the indexes) and locks the table until
    commit: readers wait for the first load instead of finding the table empty. Only the
    table's owner may do this: a least-privilege loader (:mod:`warehouse.roles`) has no DDL
    rights, so it inserts into the indexed table instead.
    """
    empty = conn.dialect.name == "postgresql" and conn.execute(
        sa.select(sa.literal(1)).select_from(target).limit(1)).first() is None
    if not (empty and roles.owns(conn, target)):
        yield
        return
    indexes = sorted(target.indexes, key=lambda index: index.name)
    conn.execute(sa.schema.DropConstraint(target.primary_key))
    for index in indexes:
        conn.execute(sa.schema.DropIndex(index))
    yield
    conn.execute(sa.text("SET LOCAL maintenance_work_mem = '256MB'"))
    conn.execute(sa.schema.AddConstraint(target.primary_key))
    for index in indexes:
        conn.execute(sa.schema.CreateIndex(index))


# --- merge -------------------------------------------------------------------------------

def _insert(conn: sa.Connection, target: sa.Table):
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(target)


def _merge(conn: sa.Connection, spec: DataSetSpec, stage: sa.Table, request: LoadRequest,
           now: datetime) -> tuple[int, int, int]:
    """Apply the staged rows to core; returns (inserted, updated, deleted)."""
    core, history = core_table(spec), history_table(spec)
    key = ("department_code", *spec.business_key)
    same_key = sa.and_(*(core.c[k] == stage.c[k] for k in key))
    changed = core.c.source_hash != stage.c.source_hash

    # The current version of every row this batch changes (or deletes) becomes history.
    kept = [c.name for c in core.columns]
    versions = (sa.select(*(core.c[n] for n in kept), core.c.updated_at.label("version_valid_from"),
                          _ts(now).label("version_valid_to"),
                          sa.literal(request.batch_id).label("closed_batch_id"))
                .select_from(core.join(stage, same_key)).where(changed))
    closed = conn.execute(history.insert().from_select(
        [*kept, "version_valid_from", "version_valid_to", "closed_batch_id"], versions),
        execution_options=_ROWCOUNT).rowcount

    # A delete keeps the last values and marks the row; the flag, batch and source move on.
    deleted = conn.execute(
        sa.update(core).where(same_key, changed, stage.c.operation == "d").values(
            is_deleted=True, updated_at=_ts(now),
            **{c: stage.c[c] for c in ("operation", "batch_id", "record_id",
                                       "source_id", "source_ref", "source_hash")}),
        execution_options=_ROWCOUNT).rowcount

    staged = [c.name for c in stage.columns]
    # Unchanged rows are left out before the upsert: ON CONFLICT … WHERE false would still
    # lock (and so write) every one of them.
    unchanged = sa.exists().where(same_key, core.c.source_hash == stage.c.source_hash)
    upsert = _insert(conn, core).from_select(
        [*staged, "first_loaded_at", "updated_at", "is_deleted"],
        sa.select(*stage.c, _ts(now), _ts(now), sa.false())
        .where(stage.c.operation != "d", ~unchanged))
    upsert = upsert.on_conflict_do_update(
        index_elements=list(key),
        set_={c: upsert.excluded[c] for c in [*staged, "updated_at", "is_deleted"]
              if c not in key},
        where=core.c.source_hash != upsert.excluded.source_hash,
    )
    written = conn.execute(upsert, execution_options=_ROWCOUNT).rowcount
    updated = closed - deleted
    return written - updated, updated, deleted


# --- quarantine --------------------------------------------------------------------------

def _write_quarantine(conn: sa.Connection, clean: sa.Table, request: LoadRequest,
                      now: datetime) -> None:
    """Open (or see again) this batch's failures; resolve those of records now loaded.

    ``clean`` holds the records that passed: the staging table, or on a first load core
    itself (where the department's rows are exactly this batch's).
    """
    quarantine = table(QUARANTINE, "record")
    failures = request.quarantine
    if len(failures):
        stage = _stage_failures(conn, request, now)
        columns = [c.name for c in stage.columns]
        # WHERE true: SQLite needs it to tell the upsert's ON CONFLICT from a join's ON.
        insert = _insert(conn, quarantine).from_select(
            columns, sa.select(*stage.c).where(sa.true()))
        # failing again reopens a resolved failure
        moving = ("source_id", "source_hash", "record_id", "batch_id", "family",
                  "message_zh", "message_en", "raw_value", "record", "status",
                  "resolved_batch_id", "resolved_at", "resolved_by", "resolution_note",
                  "last_seen_at")
        conn.execute(insert.on_conflict_do_update(
            index_elements=["department_code", "dataset", "source_ref", "rule_id", "field"],
            set_={c: insert.excluded[c] for c in moving}))
        stage.drop(conn)

    # (core holds other batches' rows too: only this batch's count)
    passed_here = [clean.c.department_code == request.department_code,
                   clean.c.batch_id == request.batch_id]
    # Earlier failures of a record this batch saw again — loaded cleanly, or failing only
    # other rules now — are resolved by this batch.
    current = sa.select(quarantine.c.source_ref).where(
        quarantine.c.department_code == request.department_code,
        quarantine.c.dataset == request.dataset,
        quarantine.c.batch_id == request.batch_id).scalar_subquery()
    conn.execute(sa.update(quarantine).where(
        quarantine.c.department_code == request.department_code,
        quarantine.c.dataset == request.dataset,
        quarantine.c.status == "open",
        quarantine.c.batch_id != request.batch_id,
        sa.or_(quarantine.c.source_ref.in_(
                   sa.select(clean.c.source_ref).where(*passed_here)),
               quarantine.c.record_id.in_(sa.select(clean.c.record_id).where(*passed_here)),
               quarantine.c.source_ref.in_(current)),
    ).values(status="resolved", resolved_batch_id=request.batch_id, resolved_at=_ts(now)))


def _stage_failures(conn: sa.Connection, request: LoadRequest, now: datetime) -> sa.Table:
    """The batch's failures in a temporary table shaped like quarantine.record (bulk-copied)."""
    quarantine = table(QUARANTINE, "record")
    names = [c.name for c in quarantine.columns if c.name != "quarantine_id"]
    # SQLite: the JSON text as it is (a JSON column there would encode it again as a string).
    stage = _temporary_table(conn, "huiju_stage_quarantine", [
        sa.Column(n, quarantine.c[n].type.with_variant(sa.Text(), "sqlite")
                  if n == "record" else quarantine.c[n].type) for n in names])
    failures = request.quarantine
    none = pd.Series([None] * len(failures), dtype="object", index=failures.index)
    frame = pd.DataFrame({
        "department_code": request.department_code, "dataset": request.dataset,
        "source_id": request.source_id, "source_ref": failures["_source_ref"],
        "source_hash": failures["_source_hash"],
        # text as text, whatever a caller's frame held (a number, a missing value)
        "record_id": failures["record_id"].astype("str") if "record_id" in failures else none,
        "batch_id": request.batch_id, "rule_id": failures["rule_id"],
        "family": failures["family"], "field": failures["field"].astype("str").fillna(""),
        "message_zh": failures["message_zh"], "message_en": failures["message_en"],
        "raw_value": failures["raw_value"].astype("str"), "record": failures["record"],
        "status": "open",
        "resolved_batch_id": none, "resolved_at": none, "resolved_by": none,
        "resolution_note": none, "first_seen_at": now, "last_seen_at": now,
    }, index=failures.index)
    bulk_insert(conn, stage, frame)
    return stage


# --- audit -------------------------------------------------------------------------------

def _write_audit(conn: sa.Connection, request: LoadRequest, counts: dict[str, int],
                 now: datetime) -> None:
    if request.run_id:
        run = table(AUDIT, "run")
        conn.execute(_insert(conn, run).values(
            run_id=request.run_id, started_at=now, code_version=request.code_version,
            config_hash=request.config_hash).on_conflict_do_nothing())
    conn.execute(table(AUDIT, "batch").insert().values(
        department_code=request.department_code, source_id=request.source_id,
        dataset=request.dataset, batch_id=request.batch_id, run_id=request.run_id,
        code_version=request.code_version, config_hash=request.config_hash,
        cursor=request.cursor, loaded_at=now,
        notes=request.notes if request.notes else sa.null(), **counts))
    if request.cursor is not None:
        cursor_state = table(AUDIT, "cursor_state")
        insert = _insert(conn, cursor_state).values(
            department_code=request.department_code, source_id=request.source_id,
            dataset=request.dataset, cursor=request.cursor, batch_id=request.batch_id,
            updated_at=now)
        conn.execute(insert.on_conflict_do_update(
            index_elements=["department_code", "source_id", "dataset"],
            set_={c: insert.excluded[c] for c in ("cursor", "batch_id", "updated_at")}))
