"""Missed delivery windows: a department feed that has not loaded since it was due.

A feed is due once per run of its department's schedule (the cron in the department file,
in Asia/Shanghai like the DAGs). If no batch of the feed was loaded since the last scheduled
time before ``now - grace``, the department missed its window: the data did not come, the run
failed, or nobody is running it. Every feed run that commits writes a batch, even an empty
one, so a quiet source is not mistaken for a missed one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter

from huiju.departments import Department
from huiju.feed_health import FeedHealth

CHINA = ZoneInfo("Asia/Shanghai")
PRESETS = {"@hourly": "0 * * * *", "@daily": "0 0 * * *", "@weekly": "0 0 * * 0",
           "@monthly": "0 0 1 * *", "@yearly": "0 0 1 1 *"}


@dataclass(frozen=True)
class MissedWindow:
    """One feed that should have loaded by ``due_at`` and had not."""

    department: str
    source: str
    dataset: str
    due_at: datetime
    last_loaded_at: datetime | None

    def message(self) -> dict:
        """The JSON notification sent for it."""
        return {"event": "delivery_window_missed", "at": datetime.now(UTC).isoformat(),
                **{k: v.isoformat() if isinstance(v, datetime) else v
                   for k, v in asdict(self).items()}}


def last_due(schedule: str, before: datetime) -> datetime | None:
    """The last scheduled time at or before ``before`` (None: not on a schedule)."""
    cron = PRESETS.get(schedule, schedule)
    if cron in ("", "none", "None", "@once") or cron.startswith("@"):
        return None
    return croniter(cron, before.astimezone(CHINA)).get_prev(datetime).astimezone(UTC)


def missed_windows(departments: list[Department], health: list[FeedHealth], *,
                   now: datetime, grace: timedelta) -> list[MissedWindow]:
    """Feeds whose last load is older than their last due time (``grace`` after it passed)."""
    loaded = {(h.department, h.source, h.dataset): h.last_loaded_at for h in health}
    missed = []
    for department in departments:
        due = last_due(department.schedule, now - grace)
        if due is None:
            continue
        for source in department.sources:
            for feed in source.feeds:
                last = loaded.get((department.code, source.id, feed.dataset))
                if last is None or last < due:
                    missed.append(MissedWindow(department.code, source.id, feed.dataset,
                                               due, last))
    return missed
