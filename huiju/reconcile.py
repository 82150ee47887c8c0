"""Reconciliation: a SQL feed's source compared with the warehouse by key, per cursor period.

A cursor only sees rows stamped after it: a hard delete, or an update stamped earlier than the
cursor, never reaches the warehouse. Reconciliation reads the whole source once (one streamed
query, in key order, bounded batches) and, per batch, lands its source references, row hashes
and periods (the day of the cursor column) in a temporary table of the warehouse and compares
them there with the feed's current core rows and open quarantine by one join:

- a source row found nowhere (**missing**) or whose row hash differs (**changed**) is
  re-extracted whatever its time stamp: mapped, validated and loaded as a repair batch;
- a live core row of the feed whose reference the source no longer has (**gone**) becomes a
  deletion (operation ``d``) — or is only flagged, when the feed says ``on_source_delete: flag``.

The result is recorded per feed and period in ``audit.reconciliation``: the source's rows and
the warehouse's rows (loaded or quarantined) after the repair. ``huiju verify`` reports the last
reconciliation of each feed: source = warehouse, per period.
"""

from __future__ import annotations

import json
import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from connectors.timestamps import parse_timestamp
from huiju import pipeline
from huiju.departments import Department, Feed
from huiju.mapping import map_batch
from huiju.settings import Settings, load_settings
from schemas.catalog import all_fields
from schemas.catalog import dataset as dataset_spec
from schemas.model import DataSetSpec
from warehouse import landing
from warehouse.bulk import bulk_insert
from warehouse.engine import create_warehouse_engine
from warehouse.state import next_batch_id
from warehouse.tables import AUDIT, QUARANTINE, core_table, table

_log = logging.getLogger(__name__)

NO_PERIOD = "none"
# Rows of a repair batch before it is loaded (a bound on memory, like a connector batch).
REPAIR_ROWS = 10_000
COUNTS = ("source_rows", "warehouse_rows", "missing", "changed", "gone", "re_extracted",
          "deleted", "flagged")


class ReconcileUnsupported(ValueError):
    """The feed has no source to compare with by key (a drop folder, an API)."""


@dataclass
class Period:
    """What one cursor period of one feed held, and what reconciling it did."""

    counts: Counter = field(default_factory=Counter)
    batch_id: str | None = None


def reconcile_feed(key: pipeline.FeedKey, *, run_id: str, reconcile_id: str,
                   settings: Settings | None = None) -> dict[str, Period]:
    """Compare one SQL feed's source with the warehouse, repair, and record the result."""
    settings = settings or load_settings()
    department = pipeline.find_department(key.department, settings)
    source, feed = pipeline.find_feed(department, key.source, key.dataset)
    if source.kind != "sql":
        raise ReconcileUnsupported(
            f"{key.department}/{key.source}/{key.dataset}: only a SQL feed can be reconciled by "
            f"key ({source.kind} sources hold what was sent, not a current state)")
    from connectors.sql import SqlSource

    config = feed.connector_config
    reader = SqlSource(config.model_copy(update={"mode": "full", "window": None}))
    spec = dataset_spec(key.dataset)
    engine = create_warehouse_engine(settings.warehouse_url)
    periods: dict[str, Period] = defaultdict(Period)
    pending: list[tuple[pd.DataFrame, pd.DataFrame, str, str]] = []
    repair = _Repair(key, department, feed, engine, run_id, settings.staging_dir, periods)
    try:
        with engine.connect() as conn:
            seen = _seen_table(conn)
            conn.commit()
            for number, batch in enumerate(reader.read(None)):
                mapped = map_batch(batch, feed, spec, department, "0" * 13)
                stamps = _periods(batch, config)
                frame = pd.DataFrame({"ref": mapped.frame["_source_ref"].astype("object"),
                                      "hash": mapped.frame["_source_hash"].astype("object"),
                                      "period": stamps, "chunk": number})
                bulk_insert(conn, seen, frame)
                found = _compare(conn, seen, spec, key, number)
                conn.commit()
                differ = []
                deletes = (mapped.frame["operation"] == "d").to_numpy()
                for position, (ref, period) in enumerate(zip(frame["ref"], stamps, strict=True)):
                    counts = periods[period].counts
                    counts["source_rows"] += 1
                    state = found.get(ref, "missing")
                    # a source row saying "delete" agrees with a warehouse that has no live
                    # row of it (never loaded, or deleted since)
                    if state == "same" or (deletes[position] and state in ("missing",
                                                                           "deleted")):
                        counts["warehouse_rows"] += 1
                    else:
                        differ.append(position)
                held = _held_by_other(conn, mapped.frame, differ, spec, key, found)
                conn.commit()   # no read transaction open while a repair batch loads (SQLite)
                for position in differ:
                    if position not in held:
                        counts = periods[stamps[position]].counts
                        state = found.get(frame["ref"].iat[position], "missing")
                        counts["missing" if state == "missing" else "changed"] += 1
                repair.add(mapped, [p for p in differ if p not in held], stamps)
                for position, holder in held.items():
                    pending.append((mapped.frame.iloc[[position]], mapped.issues[
                        mapped.issues["row"] == position].assign(row=0), stamps[position],
                        holder))
            # A source row whose record (business key) another source row holds in core was
            # superseded by it at load — unless that row is gone from the source.
            _settle(conn, seen, pending, repair, periods)
            repair.flush()
            gone = _gone(conn, seen, spec, key)
            conn.commit()
            seen.drop(conn)
            conn.commit()
        _handle_gone(gone, feed, spec, key, config, repair, engine)
        _record(engine, key, reconcile_id, periods)
    finally:
        engine.dispose()
        reader.close()
    return dict(periods)


# --------------------------------------------------------------------------- comparison


def _seen_table(conn: sa.Connection) -> sa.Table:
    seen = sa.Table("huiju_reconcile_seen", sa.MetaData(),
                    sa.Column("ref", sa.String(512)), sa.Column("hash", sa.String(64)),
                    sa.Column("period", sa.String(32)), sa.Column("chunk", sa.Integer),
                    sa.Index("ix_huiju_reconcile_seen_ref", "ref"),
                    prefixes=["TEMPORARY"])
    seen.drop(conn, checkfirst=True)
    seen.create(conn)
    return seen


def _periods(batch, config) -> list[str]:
    """The day (in the cursor's zone) of each row's cursor value; errors have none."""
    column = config.cursor_column
    n_rows = batch.num_rows
    if not column or column not in batch.table.column_names:
        return [NO_PERIOD] * (n_rows + len(batch.errors))
    found = []
    for value in batch.table.column(column).to_pylist():
        stamp = parse_timestamp(value, config.cursor_formats, config.cursor_timezone)
        found.append(stamp.date().isoformat() if stamp is not None else NO_PERIOD)
    return found + [NO_PERIOD] * len(batch.errors)


def _compare(conn: sa.Connection, seen: sa.Table, spec: DataSetSpec, key: pipeline.FeedKey,
             chunk: int) -> dict[str, str]:
    """``{ref: same|changed|deleted}`` for the chunk's refs the warehouse holds (missing:
    absent; deleted: a core row deleted since, holding another hash)."""
    core = core_table(spec)
    quarantine = table(QUARANTINE, "record")
    # Deleted rows too: a row the source itself marks deleted (an operation column) is held
    # with that row's hash; one deleted by reconciliation holds another hash, so it is read
    # again when the source has it back.
    live = sa.select(core.c.source_ref, core.c.source_hash, core.c.is_deleted).where(
        core.c.department_code == key.department,
        core.c.source_id == key.source).subquery("live")
    failing = sa.select(quarantine.c.source_ref, quarantine.c.source_hash).where(
        quarantine.c.department_code == key.department, quarantine.c.dataset == key.dataset,
        quarantine.c.source_id == key.source, quarantine.c.status == "open"
    ).distinct().subquery("failing")
    query = (sa.select(seen.c.ref, seen.c.hash, live.c.source_hash, live.c.is_deleted,
                       failing.c.source_hash)
             .select_from(seen.outerjoin(live, live.c.source_ref == seen.c.ref)
                          .outerjoin(failing, failing.c.source_ref == seen.c.ref))
             .where(seen.c.chunk == chunk))
    found: dict[str, str] = {}
    for ref, digest, core_hash, deleted, failing_hash in conn.execute(query):
        if core_hash is None and failing_hash is None:
            continue
        if digest in (core_hash, failing_hash):
            found[ref] = "same"
        elif found.get(ref) != "same":
            found[ref] = "deleted" if deleted and failing_hash is None else "changed"
    return found


def _held_by_other(conn: sa.Connection, frame: pd.DataFrame, positions: list[int],
                   spec: DataSetSpec, key: pipeline.FeedKey, found: dict[str, str]
                   ) -> dict[int, str]:
    """``{position: holder ref}`` of missing rows whose business key a live core row of this
    source holds under another source reference."""
    missing = [p for p in positions if frame["_source_ref"].iat[p] not in found]
    if not missing:
        return {}
    core = core_table(spec)
    business = list(spec.business_key)
    wanted: dict[tuple, list[int]] = {}
    for position in missing:
        value = tuple(frame[name].iat[position] for name in business)
        if not any(pd.isna(v) for v in value):
            wanted.setdefault(value, []).append(position)
    held: dict[int, str] = {}
    values = list(wanted)
    for start in range(0, len(values), 200):
        match = sa.or_(*(sa.and_(*(core.c[n] == v for n, v in zip(business, value, strict=True)))
                         for value in values[start:start + 200]))
        query = sa.select(*(core.c[n] for n in business), core.c.source_ref).where(
            core.c.department_code == key.department, core.c.source_id == key.source,
            core.c.is_deleted == sa.false(), match)
        for row in conn.execute(query):
            for position in wanted.get(tuple(row[:len(business)]), []):
                if row[-1] != frame["_source_ref"].iat[position]:
                    held[position] = row[-1]
    return held


def _settle(conn: sa.Connection, seen: sa.Table, pending: list, repair: _Repair,
            periods: dict[str, Period]) -> None:
    """Missing rows held by another ref: superseded when that ref is still in the source,
    else re-extracted (they take over the record)."""
    holders = sorted({holder for *_, holder in pending})
    present: set[str] = set()
    for start in range(0, len(holders), 500):
        present.update(conn.execute(sa.select(seen.c.ref).where(
            seen.c.ref.in_(holders[start:start + 500]))).scalars())
    conn.commit()
    for frame, issues, period, holder in pending:
        counts = periods[period].counts
        if holder in present:
            counts["warehouse_rows"] += 1      # superseded at load by the row holding its key
            continue
        counts["missing"] += 1
        repair.add(_Mapped(frame, issues), [0], [period])


@dataclass
class _Mapped:
    frame: pd.DataFrame
    issues: pd.DataFrame


def _gone(conn: sa.Connection, seen: sa.Table, spec: DataSetSpec, key: pipeline.FeedKey
          ) -> list[tuple[str, str]]:
    """(ref, source_hash) of the feed's live core rows the source no longer has."""
    core = core_table(spec)
    query = (sa.select(core.c.source_ref, core.c.source_hash)
             .select_from(core.outerjoin(seen, seen.c.ref == core.c.source_ref))
             .where(core.c.department_code == key.department,
                    core.c.source_id == key.source, core.c.is_deleted == sa.false(),
                    seen.c.ref.is_(None))
             .order_by(core.c.source_ref))
    return [tuple(row) for row in conn.execute(query)]


def _landed_periods(engine: sa.Engine, gone: list[tuple[str, str]], config) -> dict[str, str]:
    """The period of each gone row, from the cursor value of its landed raw record."""
    found: dict[str, str] = {}
    landed = landing.landings()
    with engine.connect() as conn:
        for start in range(0, len(gone), 500):
            chunk = dict(gone[start:start + 500])
            rows = conn.execute(sa.select(landed.c.source_ref, landed.c.source_hash,
                                          landed.c.part_id, landed.c.row_no)
                                .where(landed.c.source_ref.in_(list(chunk)))).all()
            wanted = {(p, r): ref for ref, digest, p, r in rows if chunk.get(ref) == digest}
            for position, text in landing.records(conn, wanted).items():
                value = json.loads(text).get(config.cursor_column or "")
                stamp = parse_timestamp(value, config.cursor_formats, config.cursor_timezone)
                found[wanted[position]] = stamp.date().isoformat() if stamp else NO_PERIOD
    return found


# --------------------------------------------------------------------------- repairs


class _Repair:
    """Rows to re-extract (or delete), loaded as repair batches of at most REPAIR_ROWS."""

    def __init__(self, key: pipeline.FeedKey, department: Department, feed: Feed,
                 engine: sa.Engine, run_id: str, staging: Path,
                 periods: dict[str, Period]) -> None:
        self.key, self.department, self.feed = key, department, feed
        self.engine, self.run_id, self.staging, self.periods = engine, run_id, staging, periods
        self.frames: list[pd.DataFrame] = []
        self.issues: list[pd.DataFrame] = []
        self.ref_period: dict[str, str] = {}
        self.rows = 0
        self.number = 0

    def add(self, mapped, positions: list[int], stamps: list[str]) -> None:
        if not positions:
            return
        frame = mapped.frame.iloc[positions].reset_index(drop=True)
        renumber = {old: new + self.rows for new, old in enumerate(positions)}
        issues = mapped.issues[mapped.issues["row"].isin(renumber)].copy()
        issues["row"] = issues["row"].map(renumber).astype("int64")
        self.frames.append(frame)
        self.issues.append(issues)
        for position in positions:
            self.ref_period[mapped.frame["_source_ref"].iat[position]] = stamps[position]
        self.rows += len(frame)
        if self.rows >= REPAIR_ROWS:
            self.flush()

    def flush(self, counted: str = "re_extracted") -> None:
        if not self.rows:
            return
        key = self.key
        batch_id = next_batch_id(self.engine, key.department, key.source, key.dataset,
                                 datetime.now(UTC).date())
        frame = pd.concat(self.frames, ignore_index=True)
        frame["batch_id"] = batch_id
        issues = (pd.concat(self.issues, ignore_index=True) if self.issues
                  else pd.DataFrame({"row": pd.Series([], dtype="int64")}))
        stage = (self.staging / f"{self.run_id}_repair{self.number}" / key.department
                 / key.source / key.dataset)
        stage.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(stage / "frame.parquet", index=False)
        issues.to_parquet(stage / "issues.parquet", index=False)
        extracted = {**key.as_dict(), "run_id": self.run_id, "batch_id": batch_id,
                     "extracted": len(frame), "cursor": None, "more": False,
                     "warnings": [f"reconciliation: {len(frame)} rows {counted.replace('_', '-')}"],
                     "frame": str(stage / "frame.parquet"),
                     "issues": str(stage / "issues.parquet"),
                     "extracted_at": datetime.now(UTC).isoformat()}
        validated = pipeline.validate(extracted)
        # read what validation staged before loading: a committed batch's files are removed
        superseded = set(pd.read_parquet(validated["superseded_rows"],
                                         columns=["_source_ref"])["_source_ref"])
        passed = pd.read_parquet(validated["passed_rows"], columns=["_source_ref", "operation"])
        pipeline.load(validated, raise_on_threshold=False)
        deletions = set(passed.loc[passed["operation"] == "d", "_source_ref"])
        for ref, period in self.ref_period.items():
            state = self.periods[period]
            state.batch_id = batch_id
            if counted == "re_extracted":
                state.counts["re_extracted"] += 1
                if ref not in superseded:   # loaded or quarantined: the warehouse has it
                    state.counts["warehouse_rows"] += 1
            elif ref in deletions:
                state.counts["deleted"] += 1
            else:                           # a deletion that failed validation stays live
                state.counts["warehouse_rows"] += 1
        self.frames, self.issues, self.ref_period, self.rows = [], [], {}, 0
        self.number += 1


def _handle_gone(gone: list[tuple[str, str]], feed: Feed, spec: DataSetSpec,
                 key: pipeline.FeedKey, config, repair: _Repair, engine: sa.Engine) -> None:
    """Deletions (or flags) for the rows the source no longer has."""
    if not gone:
        return
    periods = _landed_periods(engine, gone, config)
    if feed.on_source_delete == "flag":
        for ref, _ in gone:
            counts = repair.periods[periods.get(ref, NO_PERIOD)].counts
            counts["gone"] += 1
            counts["flagged"] += 1
            counts["warehouse_rows"] += 1
        return
    core = core_table(spec)
    names = [f.name for f in all_fields(spec)]
    for start in range(0, len(gone), REPAIR_ROWS):
        refs = [ref for ref, _ in gone[start:start + REPAIR_ROWS]]
        with engine.connect() as conn:
            rows = pd.DataFrame(conn.execute(
                sa.select(*(core.c[n] for n in names), core.c.source_ref).where(
                    core.c.department_code == key.department,
                    core.c.source_id == key.source, core.c.source_ref.in_(refs))
            ).mappings().all())
        frame = _deletions(rows, names, spec)
        for ref in frame["_source_ref"]:
            repair.periods[periods.get(ref, NO_PERIOD)].counts["gone"] += 1
        repair.frames.append(frame)
        repair.rows += len(frame)
        repair.ref_period.update({ref: periods.get(ref, NO_PERIOD) for ref in frame["_source_ref"]})
        repair.flush(counted="deleted")


def _deletions(rows: pd.DataFrame, names: list[str], spec: DataSetSpec) -> pd.DataFrame:
    """Core rows as a standard frame of deletions: last values kept, operation ``d``."""
    import hashlib

    from huiju.mapping import frame_dtype

    frame = rows[names].copy()
    for spec_field in all_fields(spec):
        if spec_field.name in ("record_id", "batch_id", "operation"):
            continue
        frame[spec_field.name] = frame[spec_field.name].astype(frame_dtype(spec_field))
    frame["operation"] = "d"
    frame["_source_ref"] = rows["source_ref"]
    frame["record"] = [json.dumps({"_reconcile": "gone from the source", "source_ref": ref},
                                  ensure_ascii=False, sort_keys=True) for ref in rows["source_ref"]]
    frame["_source_hash"] = [hashlib.sha256(text.encode()).hexdigest() for text in frame["record"]]
    return frame


# --------------------------------------------------------------------------- record


def _record(engine: sa.Engine, key: pipeline.FeedKey, reconcile_id: str,
            periods: dict[str, Period]) -> None:
    now = datetime.now(UTC)
    feed = {"reconcile_id": reconcile_id, "department_code": key.department,
            "source_id": key.source, "dataset": key.dataset, "reconciled_at": now}
    rows = [{**feed, "period": period, **{name: int(state.counts[name]) for name in COUNTS},
             "batch_id": state.batch_id} for period, state in sorted(periods.items())]
    if not rows:   # an empty source and an empty warehouse agree: say so
        rows = [{**feed, "period": NO_PERIOD, **dict.fromkeys(COUNTS, 0), "batch_id": None}]
    with engine.begin() as conn:
        conn.execute(table(AUDIT, "reconciliation").insert(), rows)


def new_reconcile_id() -> str:
    """An id for one reconciliation (all feeds reconciled by one command share it)."""
    return f"rc_{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}"
