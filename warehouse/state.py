"""Incremental state kept with the data: cursors and batch numbers, read from ``audit``.

The cursor a feed resumes from is the one committed with its last loaded batch
(``audit.cursor_state``, written by ``load_batch`` in the load transaction). Batch numbers
follow the national convention ``YYYYMMDD`` + a 5-digit sequence, counted per department,
source and data set: a batch that was extracted but never loaded gets the same number when
it is extracted again, so a retried run cannot load the same data under two numbers.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from warehouse.tables import AUDIT, table


def read_cursor(engine: sa.Engine, department_code: str, source_id: str,
                dataset: str) -> dict | None:
    """The cursor committed with the feed's last loaded batch, or None before the first."""
    cursor_state = table(AUDIT, "cursor_state")
    with engine.connect() as conn:
        found = conn.execute(sa.select(cursor_state.c.cursor).where(
            cursor_state.c.department_code == department_code,
            cursor_state.c.source_id == source_id,
            cursor_state.c.dataset == dataset)).scalar_one_or_none()
    return found


def next_batch_id(engine: sa.Engine, department_code: str, source_id: str, dataset: str,
                  day: date, after: str | None = None) -> str:
    """The number of the feed's next batch on ``day``: ``YYYYMMDD`` + 5-digit sequence.

    ``after``: a batch of the feed numbered but not yet committed (its load still runs), which
    the next batch must follow too.
    """
    batch = table(AUDIT, "batch")
    prefix = day.strftime("%Y%m%d")
    with engine.connect() as conn:
        last = conn.execute(sa.select(sa.func.max(batch.c.batch_id)).where(
            batch.c.department_code == department_code,
            batch.c.source_id == source_id,
            batch.c.dataset == dataset,
            batch.c.batch_id.like(prefix + "%"))).scalar_one_or_none()
    if after is not None and after.startswith(prefix) and (last is None or after > last):
        last = after
    sequence = int(last[8:]) + 1 if last else 1
    if sequence > 99_999:
        raise ValueError(f"{department_code}/{source_id}/{dataset}: more than 99999 "
                         f"batches on {day.isoformat()}")
    return f"{prefix}{sequence:05d}"


def batch_counts(engine: sa.Engine, department_code: str, source_id: str, dataset: str,
                 batch_id: str) -> dict[str, int] | None:
    """The accounting ``audit.batch`` holds for one loaded batch, or None if it never loaded."""
    batch = table(AUDIT, "batch")
    names = ("extracted", "passed", "quarantined", "superseded",
             "inserted", "updated", "deleted", "unchanged")
    with engine.connect() as conn:
        found = conn.execute(sa.select(*(batch.c[name] for name in names)).where(
            batch.c.department_code == department_code,
            batch.c.source_id == source_id,
            batch.c.dataset == dataset,
            batch.c.batch_id == batch_id)).first()
    return None if found is None else {name: int(found._mapping[name]) for name in names}
