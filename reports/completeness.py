"""The auditors' completeness view: department × data set × month, every invariant checked.

The figures per cell are the sums of ``audit.batch`` over the batches of that department, data
set and month (the month is the logical date at the head of the batch id, ``YYYYMMDD…``). The
invariants are NOT restated here: each batch is checked by :func:`warehouse.verify.verify`, the
very definitions ``huiju verify`` prints, and a cell is broken when any of its batches is.
Delivery columns come from ``delivery.outbox``: per platform, the messages due for the
versions the cell's batches wrote and how each ended (acknowledged, rejected, withheld,
pending); every platform resource is checked with :func:`warehouse.verify.verify_delivery`.

An export carries the batch ids of every cell and the sha256 of the figures' canonical JSON, so
a printed or filed export can be checked later by recomputing the hash.
"""

from __future__ import annotations

import gc
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from schemas.catalog import dataset as dataset_spec
from warehouse.outbox import LOAD
from warehouse.provenance import versions
from warehouse.tables import AUDIT, CORE, DELIVERY, QUARANTINE, core_table, table
from warehouse.verify import disagreement, evidence, verify, verify_delivery

COUNTS = ("extracted", "passed", "quarantined", "superseded")
# A month's data is late when its last batch loaded more than this long after the month ended.
LATE_AFTER = timedelta(days=15)
NEWS_PER_MONTH = 2  # the order's KPI: at least two 监管动态 per department per month


@dataclass
class Cell:
    """One department × data set × month of the completeness view."""
    department_code: str
    dataset: str
    period: str  # YYYY-MM
    batches: list[str] = field(default_factory=list)
    extracted: int = 0
    passed: int = 0
    quarantined: int = 0
    superseded: int = 0
    breaks: int = 0  # batches that break an invariant of warehouse.verify
    problems: list[str] = field(default_factory=list)  # their problems, as huiju verify says
    # platform → {due, acknowledged, rejected, withheld, pending}: the outbox messages of the
    # versions these batches wrote (cause "load")
    delivery: dict[str, dict[str, int]] = field(default_factory=dict)

    def figures(self) -> dict:
        """The cell's figures, as hashed in an export."""
        return {"department_code": self.department_code, "dataset": self.dataset,
                "period": self.period, "batches": self.batches, "extracted": self.extracted,
                "passed": self.passed, "quarantined": self.quarantined,
                "superseded": self.superseded, "breaks": self.breaks,
                "delivery": self.delivery}


@dataclass
class Completeness:
    """The auditors' completeness view: cells, coverage, KPIs and delivery figures."""
    cells: list[Cell]
    months: list[str]
    departments: list[str]
    coverage: dict[tuple[str, str], str]  # (department, month) → "ok" | "late" | "missing"
    news: dict[tuple[str, str], int]  # (department, month) → 监管动态 published
    catalog: list[dict]  # per department: items, with a check list, with both flags
    timeliness: list[dict] = field(default_factory=list)  # lead disposition, see below
    problems_listed: bool = True  # False: too many breaks to list each (counts are exact)
    platforms: list[str] = field(default_factory=list)
    delivery_checks: list = field(default_factory=list)  # warehouse.verify.DeliveryCheck
    computed_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def broken(self) -> list[Cell]:
        """Cells where an invariant of ``huiju verify`` breaks."""
        return [c for c in self.cells if c.breaks]

    @property
    def delivery_broken(self) -> list:
        """Platform resources whose delivery does not verify."""
        return [c for c in self.delivery_checks if c.problems]

    @cached_property
    def digest(self) -> str:
        """sha256 of the figures' canonical JSON: recompute it to check an export."""
        with _collector_paused():
            return figures_digest([c.figures() for c in self.cells])


def figures_digest(figures: list[dict] | dict) -> str:
    """sha256 (hex) of ``figures`` as canonical JSON (sorted keys, no spaces, UTF-8)."""
    with _collector_paused():
        text = json.dumps(figures, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def period_of(batch_id: str) -> str:
    """The month a batch belongs to, ``YYYY-MM``, from the logical date heading its id."""
    return f"{batch_id[:4]}-{batch_id[4:6]}"


# Beyond this many disagreeing batches the view counts them per cell without listing each
# (``huiju verify`` lists them all).
PROBLEM_LIST_LIMIT = 2000


def _joined(conn: sa.Connection, column: sa.ColumnElement) -> sa.ColumnElement:
    if conn.dialect.name == "postgresql":
        return sa.func.string_agg(column, " ")
    return sa.func.group_concat(column, " ")


def completeness(engine: sa.Engine, department: str | None = None,
                 now: datetime | None = None) -> Completeness:
    """The view over every department (an auditor) or one (``department``); see
    :func:`_completeness`. Python's cyclic garbage collector is paused meanwhile: the tens of
    thousands of cells it allocates (none of them in a cycle) would otherwise trigger full
    collections that cost a fifth of the computation."""
    with _collector_paused():
        return _completeness(engine, department, now)


@contextmanager
def _collector_paused() -> Iterator[None]:
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def _completeness(engine: sa.Engine, department: str | None,
                  now: datetime | None) -> Completeness:
    """The view over every department (an auditor) or one (``department``).

    Figures and breaks are summed in the database over :func:`warehouse.verify.evidence` (one
    row per batch, with its raw rows and versions counted) filtered by
    :func:`warehouse.verify.disagreement` — the definitions ``huiju verify`` applies.
    """
    batch = table(AUDIT, "batch")
    with engine.connect() as conn:
        # one pass over the batches: the cells' figures, breaks, batch ids and last load
        checked = (evidence(conn, department=department).add_columns(batch.c.loaded_at)
                   .order_by(None).subquery("checked"))
        month = sa.func.substr(checked.c.batch_id, 1, 6)
        query = (sa.select(checked.c.department_code, checked.c.dataset, month.label("month"),
                           *(sa.func.sum(checked.c[c]).label(c) for c in COUNTS),
                           sa.func.sum(sa.case((disagreement(checked.c), 1), else_=0)
                                       ).label("breaks"),
                           _joined(conn, checked.c.batch_id).label("batches"),
                           sa.func.max(checked.c.loaded_at).label("loaded_at"))
                 .group_by(checked.c.department_code, checked.c.dataset, month)
                 .order_by(checked.c.department_code, checked.c.dataset, month))
        cells, loaded = [], {}
        for code, name, m, extracted, passed, quarantined, superseded, breaks, batches, at \
                in conn.execute(query).all():  # fetchall: a row at a time costs more
            period = f"{m[:4]}-{m[4:]}"
            cells.append(Cell(code, name, period, sorted(set(batches.split(" "))),
                              int(extracted), int(passed), int(quarantined), int(superseded),
                              breaks=int(breaks)))
            # the raw value (SQLite: ISO text, one format; PostgreSQL: datetime) compares
            if at is not None and (loaded.get((code, period)) or at) <= at:
                loaded[(code, period)] = at
            else:
                loaded.setdefault((code, period), None)
        loaded = {key: _aware(at) for key, at in loaded.items()}
        news = _news(conn, department)
        catalog = _catalog(conn, department)
        delivered = _delivery(conn, department)
        timeliness = lead_timeliness(conn, department, now)
    for cell in cells:
        cell.delivery = delivered.get((cell.department_code, cell.dataset, cell.period), {})
    platforms = sorted({p for counts in delivered.values() for p in counts})
    listed = sum(c.breaks for c in cells) <= PROBLEM_LIST_LIMIT
    if listed and any(c.breaks for c in cells):
        by_cell = {(c.department_code, c.dataset, c.period): c for c in cells}
        for check in verify(engine, department=department, disagreeing_only=True):
            cell = by_cell[(check.department_code, check.dataset, period_of(check.batch_id))]
            cell.problems += [f"{check.batch_id} {check.source_id}: {p}"
                              for p in check.problems]
    months = _months({c.period for c in cells})
    departments = sorted({c.department_code for c in cells} | ({department} if department
                                                              else set()))
    return Completeness(cells, months, departments, _coverage(loaded, departments, months),
                        news, catalog, timeliness, listed, platforms,
                        verify_delivery(engine, department=department))


DELIVERY_STATES = ("acknowledged", "rejected", "withheld", "pending")


def _delivery(conn: sa.Connection, department: str | None
              ) -> dict[tuple[str, str, str], dict[str, dict[str, int]]]:
    """(department, data set, month) → platform → due and each outcome, from the outbox."""
    outbox = table(DELIVERY, "outbox")
    month = sa.func.substr(outbox.c.batch_id, 1, 6)
    query = (sa.select(outbox.c.department_code, outbox.c.dataset, month, outbox.c.platform,
                       outbox.c.status, sa.func.count())
             .where(outbox.c.cause == LOAD)
             .group_by(outbox.c.department_code, outbox.c.dataset, month, outbox.c.platform,
                       outbox.c.status))
    if department:
        query = query.where(outbox.c.department_code == department)
    found: dict = {}
    for code, name, m, platform, status, count in conn.execute(query):
        counts = found.setdefault((code, name, f"{m[:4]}-{m[4:]}"), {}).setdefault(
            platform, {"due": 0, **dict.fromkeys(DELIVERY_STATES, 0)})
        counts["due"] += count
        counts[status] = counts.get(status, 0) + count
    return found


def _aware(value: datetime | str | None) -> datetime | None:
    # SQLite gives naive datetimes back (text, from an aggregate); they were written in UTC.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _months(periods: set[str]) -> list[str]:
    """Every month from the first to the last period (gaps included: they are missing)."""
    if not periods:
        return []
    first, last = min(periods), max(periods)
    year, month = int(first[:4]), int(first[5:])
    found = []
    while f"{year:04d}-{month:02d}" <= last:
        found.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return found


def month_end(period: str) -> datetime:
    """The first instant after month ``period`` (YYYY-MM), in China time."""
    year, month = int(period[:4]), int(period[5:])
    following = date(year + (month == 12), month % 12 + 1, 1)
    return datetime(following.year, following.month, 1, tzinfo=UTC)


def _coverage(loaded: dict[tuple[str, str], datetime | None], departments: list[str],
              months: list[str]) -> dict[tuple[str, str], str]:
    found = {}
    for department in departments:
        for month in months:
            if (department, month) not in loaded:
                found[(department, month)] = "missing"
            elif (at := loaded[(department, month)]) and at > month_end(month) + LATE_AFTER:
                found[(department, month)] = "late"
            else:
                found[(department, month)] = "ok"
    return found


def _present(conn: sa.Connection, name: str) -> bool:
    return name in set(sa.inspect(conn).get_table_names(schema=CORE))


def _news(conn: sa.Connection, department: str | None) -> dict[tuple[str, str], int]:
    """监管动态 published per department and month (current, not deleted)."""
    if not _present(conn, "supervision_news"):
        return {}
    news = core_table(dataset_spec("supervision_news"))
    query = sa.select(news.c.department_code, news.c.publish_date).where(
        sa.not_(news.c.is_deleted))
    if department:
        query = query.where(news.c.department_code == department)
    counted: dict[tuple[str, str], int] = defaultdict(int)
    for code, published in conn.execute(query):
        text = published.isoformat() if isinstance(published, date) else str(published)
        counted[(code, text[:7])] += 1
    return dict(counted)


def _catalog(conn: sa.Connection, department: str | None) -> list[dict]:
    """Per department: catalog items, those with a 检查实施清单, and with both flags stated."""
    if not _present(conn, "supervision_item"):
        return []
    items = core_table(dataset_spec("supervision_item"))
    has_list = sa.literal(False)
    if _present(conn, "check_list"):
        lists = core_table(dataset_spec("check_list"))
        has_list = sa.exists().where(lists.c.supervise_item_code == items.c.item_code,
                                     lists.c.department_code == items.c.department_code,
                                     sa.not_(lists.c.is_deleted))
    query = (sa.select(items.c.department_code, sa.func.count().label("items"),
                       sa.func.sum(sa.case((has_list, 1), else_=0)).label("with_check_list"),
                       sa.func.sum(sa.case((sa.and_(items.c.is_random_check.is_not(None),
                                                    items.c.is_key_check.is_not(None)), 1),
                                           else_=0)).label("with_flags"))
             .where(sa.not_(items.c.is_deleted)).group_by(items.c.department_code)
             .order_by(items.c.department_code))
    if department:
        query = query.where(items.c.department_code == department)
    return [{k: (int(v or 0) if k != "department_code" else v) for k, v in r.items()}
            for r in conn.execute(query).mappings()]


CHINA = ZoneInfo("Asia/Shanghai")
# 事件进展状态 4 结案: huiju.leads.CLOSED (not imported: huiju.leads brings pandas into the
# application for one constant; tests/integration/test_reports_completeness.py checks both agree)
CLOSED = "4"


def lead_timeliness(conn: sa.Connection, department: str | None = None,
                    now: datetime | None = None) -> list[dict]:
    """The order's lead-disposition KPI per competent department and month of the deadline.

    A routed lead (``audit.lead_routing``, with the deadline its type declares) is
    **on time** when a current disposition of it (``core.lead_disposition``, 事件进展状态
    结案) is dated (处置日期, else the day it was loaded, China time) on or before the
    deadline's day, **late** when after, **overdue** when not closed and the deadline has
    passed, **open** when not closed and still within it. ``rate`` = on time / (on time +
    late + overdue): the share disposed within the deadline of the leads already due (None
    when none is). Leads without a deadline are not counted.
    """
    now = now or datetime.now(UTC)
    routing = table(AUDIT, "lead_routing")
    disposition = core_table(dataset_spec("lead_disposition"))
    if not _present(conn, disposition.name):
        return []
    closed = (sa.select(disposition.c.lead_id,
                        sa.func.min(disposition.c.handling_date).label("handled"),
                        sa.func.min(disposition.c.updated_at).label("loaded"))
              .where(disposition.c.progress_status == CLOSED, sa.not_(disposition.c.is_deleted))
              .group_by(disposition.c.lead_id).subquery("closed"))
    query = (sa.select(routing.c.department_code, routing.c.deadline, closed.c.handled,
                       closed.c.loaded)
             .select_from(routing.outerjoin(closed, closed.c.lead_id == routing.c.lead_id))
             .where(routing.c.deadline.is_not(None)))
    if department:
        query = query.where(routing.c.department_code == department)
    found: dict[tuple[str, str], dict] = {}
    for code, due, handled, loaded in conn.execute(query):
        due = _aware(due).astimezone(CHINA)
        row = found.setdefault((code, due.strftime("%Y-%m")), {
            "department_code": code, "period": due.strftime("%Y-%m"), "leads": 0,
            "on_time": 0, "late": 0, "overdue": 0, "open": 0})
        row["leads"] += 1
        row[_disposed(due, handled, _aware(loaded), now)] += 1
    for row in found.values():
        due_by_now = row["on_time"] + row["late"] + row["overdue"]
        row["rate"] = row["on_time"] / due_by_now if due_by_now else None
    return [found[key] for key in sorted(found)]


def _disposed(due: datetime, handled: date | str | None, loaded: datetime | None,
              now: datetime) -> str:
    """on_time | late | overdue | open, for a lead due at ``due`` (China time)."""
    if isinstance(handled, str):  # SQLite's min() gives the text back
        handled = date.fromisoformat(handled[:10])
    if handled is None and loaded is not None:
        handled = loaded.astimezone(CHINA).date()
    if handled is not None:
        return "on_time" if handled <= due.date() else "late"
    return "overdue" if due < now else "open"


def cell_records(engine: sa.Engine, department: str, dataset: str, batch_id: str,
                 limit: int = 500) -> dict[str, list[dict]]:
    """The records behind a cell's counts for one batch: versions written and quarantined."""
    spec = dataset_spec(dataset)
    found, q = versions(spec), table(QUARANTINE, "record")
    with engine.connect() as conn:
        written = [dict(r) for r in conn.execute(
            sa.select(found.c.record_id, found.c.source_ref, found.c.action)
            .where(found.c.department_code == department, found.c.batch_id == batch_id)
            .order_by(found.c.source_ref).limit(limit)).mappings()] \
            if _present(conn, spec.name) else []
        failed = [dict(r) for r in conn.execute(
            sa.select(q.c.source_ref, q.c.rule_id, q.c.message_zh, q.c.message_en,
                      q.c.raw_value, q.c.status)
            .where(q.c.department_code == department, q.c.dataset == dataset,
                   q.c.batch_id == batch_id)
            .order_by(q.c.source_ref, q.c.rule_id).limit(limit)).mappings()]
    return {"written": written, "quarantined": failed}
