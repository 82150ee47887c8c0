"""What is still quarantined, per department: listing and export for the departments.

A quarantined record stays ``open`` until a later batch of the same department and data set
loads it cleanly (the department fixed it at the source); the load marks it ``resolved``.
"""

from __future__ import annotations

import csv
from pathlib import Path

import sqlalchemy as sa

from warehouse.tables import QUARANTINE, table

EXPORT_COLUMNS = ("department_code", "dataset", "source_system", "source_ref", "record_id",
                  "batch_id", "rule_id", "family", "field", "message_zh", "message_en",
                  "raw_value", "status", "first_seen_at", "last_seen_at")


def quarantined(engine: sa.Engine, *, department: str | None = None, dataset: str | None = None,
                status: str | None = "open") -> list[dict]:
    """Quarantine rows (one per failed rule per record), oldest first."""
    record = table(QUARANTINE, "record")
    query = sa.select(*(record.c[name] for name in EXPORT_COLUMNS))
    if department:
        query = query.where(record.c.department_code == department)
    if dataset:
        query = query.where(record.c.dataset == dataset)
    if status:
        query = query.where(record.c.status == status)
    query = query.order_by(record.c.department_code, record.c.dataset, record.c.source_ref,
                           record.c.rule_id)
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def write_rejections(rows: list[dict], path: Path, columns=EXPORT_COLUMNS) -> Path:
    """A CSV that Excel opens correctly (UTF-8 with BOM), one failure per line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path
