"""The append-only log of manual actions: who resolved, decided or granted what, and when.

A manual action (resolving a quarantined record by hand, a reconciliation decision, managing
users) is written here in the same transaction as the change it records, with the identity
that was *authenticated* for it (:func:`huiju.identity.current_actor` for the CLI, the web
application's logged-in user) — never a name typed on the command line. The table only grows:
triggers refuse UPDATE and DELETE on PostgreSQL and SQLite alike, and the loader role may only
insert (:mod:`warehouse.roles`). The triggers are created by the migration that made the table.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import sqlalchemy as sa

from warehouse.tables import AUDIT, table

ACTION_LOG = f"{AUDIT}.action"


def record_action(conn: sa.Connection, *, actor: str, action: str, target: str,
                  department_code: str | None = None, dataset: str | None = None,
                  detail: dict | None = None) -> None:
    """Append one action to the log (inside the caller's transaction)."""
    if not actor.strip():
        raise ValueError("an action needs an authenticated actor")
    conn.execute(sa.insert(table(AUDIT, "action")).values(
        at=datetime.now(UTC), actor=actor, action=action, target=target,
        department_code=department_code, dataset=dataset, detail=detail))


def actions_on(engine: sa.Engine, targets: Iterable[str]) -> list[dict]:
    """Every action on any of ``targets`` (source references, record ids …), oldest first."""
    log = table(AUDIT, "action")
    query = sa.select(log).where(log.c.target.in_(sorted(set(targets)))).order_by(
        log.c.action_id)
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]

