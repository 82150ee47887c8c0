"""Where every feed stands: last batch, its accounting, cursor, lag, quarantine, next run.

``huiju status`` reads the warehouse (``audit.batch``, ``audit.cursor_state``,
``quarantine.record``, ``delivery.outbox``) and the department files (their schedules). The
lag behind the source's newest cursor is asked of the source only where that is one cheap
query (a SQL table with a cursor column); otherwise it is left blank.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from warehouse.tables import AUDIT, table

SCHEDULE_ZONE = ZoneInfo("Asia/Shanghai")  # the DAGs' time zone
COUNTS = ("extracted", "passed", "quarantined", "superseded")


@dataclass
class FeedStatus:
    """One feed's row of ``huiju status``."""

    department: str
    name_zh: str
    source: str
    dataset: str
    last_batch: str | None = None
    loaded_at: datetime | None = None
    accounting: dict | None = None
    cursor: str | None = None
    source_newest: str | None = None
    lag: str | None = None
    open_quarantine: int = 0
    next_run: datetime | None = None

    def row(self) -> dict:
        """As a listing row (``huiju.output``)."""
        return {"department": self.department, "name_zh": self.name_zh,
                "source": self.source, "dataset": self.dataset,
                "last_batch": self.last_batch, "loaded_at": self.loaded_at,
                **{k: (self.accounting or {}).get(k) for k in COUNTS},
                "cursor": self.cursor, "source_newest": self.source_newest, "lag": self.lag,
                "open_quarantine": self.open_quarantine, "next_run": self.next_run}


def next_run(schedule: str, now: datetime | None = None) -> datetime | None:
    """The next time ``schedule`` (cron or preset, Asia/Shanghai) fires after ``now``."""
    from croniter import croniter

    if not schedule or schedule in ("@once", "None"):
        return None
    start = (now or datetime.now(UTC)).astimezone(SCHEDULE_ZONE)
    # Airflow's presets croniter does not know
    schedule = {"@quarterly": "0 0 1 */3 *", "@annually": "0 0 1 1 *"}.get(schedule, schedule)
    return croniter(schedule, start).get_next(datetime)


def cursor_text(cursor: dict | None) -> str | None:
    """A cursor as a person reads it: the value of a SQL cursor, the files read, else JSON."""
    if not cursor:
        return None
    if cursor.get("cursor") is not None:
        return str(cursor["cursor"])
    if cursor.get("since") is not None:
        return str(cursor["since"])
    if "processed" in cursor:
        return f"{len(cursor['processed'] or [])} file(s) read"
    return json.dumps(cursor, ensure_ascii=False, sort_keys=True, default=str)


def last_batches(engine: sa.Engine) -> dict[tuple[str, str, str], dict]:
    """The newest batch of every feed, keyed (department, source, data set)."""
    batch = table(AUDIT, "batch")
    key = (batch.c.department_code, batch.c.source_id, batch.c.dataset)
    newest = sa.select(*key, sa.func.max(batch.c.loaded_at).label("at")).group_by(*key) \
        .subquery()
    query = sa.select(batch).join(newest, sa.and_(
        batch.c.department_code == newest.c.department_code,
        batch.c.source_id == newest.c.source_id, batch.c.dataset == newest.c.dataset,
        batch.c.loaded_at == newest.c.at))
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
    result: dict[tuple[str, str, str], dict] = {}
    for row in rows:  # two batches loaded in the same instant: the later id wins
        k = (row["department_code"], row["source_id"], row["dataset"])
        if k not in result or row["batch_id"] > result[k]["batch_id"]:
            result[k] = row
    return result


def cursors(engine: sa.Engine) -> dict[tuple[str, str, str], dict]:
    """The committed cursor of every feed."""
    state = table(AUDIT, "cursor_state")
    with engine.connect() as conn:
        return {(r.department_code, r.source_id, r.dataset): r.cursor
                for r in conn.execute(sa.select(state))}


def source_lag(department, source, feed, settings, cursor: dict | None):
    """(the source's newest cursor, how far the saved one is behind) — or Nones.

    Only a source that can say it in one aggregate query (``profile``: a SQL table with a
    cursor column) is asked; it compares its own cursor values. An unreachable one reads as
    ``unreachable``.
    """
    from connectors.base import ConnectorError
    from huiju.pipeline import open_connector

    if source.kind != "sql" or not getattr(feed.connector_config, "cursor_column", None):
        return None, None
    connector = open_connector(department, source, feed, settings)
    try:
        profile = connector.profile(cursor)
    except (ConnectorError, KeyError) as error:
        return f"unreachable: {error}", None
    finally:
        connector.close()
    newest = profile.get("max")
    return (None if newest is None else str(newest)), _lag(profile.get("saved"),
                                                           profile.get("newest"))


def _lag(saved, newest) -> str | None:
    """How far ``saved`` is behind ``newest``: a duration for time stamps, else a difference."""
    if newest is None:
        return None
    if saved is None:
        return "never loaded"
    try:
        if isinstance(newest, datetime) and isinstance(saved, datetime):
            delta = _utc(newest) - _utc(saved)
            return "up to date" if delta.total_seconds() <= 0 else f"{delta} behind"
        if saved >= newest:
            return "up to date"
        return f"{newest - saved} behind" if isinstance(newest, int | float) else "behind"
    except TypeError:  # values the connector cannot compare: say nothing rather than guess
        return None


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def feed_statuses(engine: sa.Engine, departments, settings, *, lag: bool = True,
                  now: datetime | None = None) -> list[FeedStatus]:
    """The status of every feed of ``departments`` (department models), in file order."""
    from huiju.feed_health import open_rejections

    batches, saved, rejected = last_batches(engine), cursors(engine), open_rejections(engine)
    result = []
    for department in departments:
        upcoming = next_run(department.schedule, now)
        for source, feed in department.feeds():
            key = (department.code, source.id, feed.dataset)
            status = FeedStatus(department.code, department.name.zh, source.id, feed.dataset,
                                open_quarantine=rejected.get((department.code, feed.dataset),
                                                             0),
                                next_run=upcoming, cursor=cursor_text(saved.get(key)))
            last = batches.get(key)
            if last:
                status.last_batch, status.loaded_at = last["batch_id"], last["loaded_at"]
                status.accounting = {k: last[k] for k in COUNTS}
            if lag:
                status.source_newest, status.lag = source_lag(department, source, feed,
                                                              settings, saved.get(key))
            result.append(status)
    return result
