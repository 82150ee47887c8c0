"""Each feed's health as the warehouse records it: last load, lag, open rejections.

One read of ``audit.batch`` and ``quarantine.record`` serves the Prometheus metrics
(:mod:`huiju.metrics`) and the missed-window alerts (:mod:`huiju.alerts`), so both count the
same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from warehouse.tables import AUDIT, QUARANTINE, table

OUTCOMES = ("extracted", "passed", "quarantined", "superseded")


@dataclass(frozen=True)
class FeedHealth:
    """What the warehouse holds for one department's source feeding one data set."""

    department: str
    source: str
    dataset: str
    batches: int
    rows: dict[str, int]
    last_loaded_at: datetime | None


def feed_health(engine: sa.Engine) -> list[FeedHealth]:
    """Every feed that has loaded at least one batch, with its totals and last load time."""
    batch = table(AUDIT, "batch")
    key = (batch.c.department_code, batch.c.source_id, batch.c.dataset)
    query = sa.select(*key, sa.func.count().label("batches"),
                      *(sa.func.sum(batch.c[name]).label(name) for name in OUTCOMES),
                      sa.func.max(batch.c.loaded_at).label("last")).group_by(*key)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [FeedHealth(department=row.department_code, source=row.source_id,
                       dataset=row.dataset, batches=int(row.batches),
                       rows={name: int(getattr(row, name) or 0) for name in OUTCOMES},
                       last_loaded_at=_aware(row.last)) for row in rows]


def open_rejections(engine: sa.Engine) -> dict[tuple[str, str], int]:
    """Open quarantined records (not failures) per (department, data set)."""
    record = table(QUARANTINE, "record")
    query = sa.select(record.c.department_code, record.c.dataset,
                      sa.func.count(sa.distinct(record.c.source_ref))).where(
        record.c.status == "open").group_by(record.c.department_code, record.c.dataset)
    with engine.connect() as conn:
        return {(department, dataset): int(count)
                for department, dataset, count in conn.execute(query)}


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands timestamps back naive; the loader writes them in UTC.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)
