"""``--ledger FILE``: the ledgers written through to SQLite, batch by batch, so a restarted
simulator still knows every key it accepted (its duplicates and receipts survive). The
request and fault counters are per run and not kept."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from simulator.ledger import Entry

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ledger_entry (
    platform TEXT NOT NULL, key TEXT NOT NULL, sequence INTEGER NOT NULL,
    record_id TEXT NOT NULL, resource TEXT NOT NULL, operation TEXT NOT NULL,
    receipt TEXT NOT NULL, state TEXT NOT NULL, payload TEXT,
    accepted INTEGER NOT NULL, received INTEGER NOT NULL,
    PRIMARY KEY (platform, key))
"""


class LedgerStore:
    """One SQLite file holding every platform's accepted keys."""

    def __init__(self, path: Path | str) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(_SCHEMA)
        self._lock = threading.Lock()   # one connection, several platform threads

    def load(self, platform: str) -> list[Entry]:
        """The platform's entries in the order they were accepted."""
        from simulator.ledger import Entry

        with self._lock:
            rows = self._db.execute(
                "SELECT key, record_id, resource, operation, receipt, state, payload, "
                "accepted, received, sequence FROM ledger_entry WHERE platform = ? "
                "ORDER BY sequence", (platform,)).fetchall()
        return [Entry(key, record_id, resource, operation, receipt, state,
                      None if payload is None else json.loads(payload), accepted, received,
                      sequence)
                for key, record_id, resource, operation, receipt, state, payload, accepted,
                received, sequence in rows]

    def save(self, platform: str, entries: Iterable[Entry]) -> None:
        """Insert or update ``entries`` in one transaction (one batch's changes)."""
        rows = [(platform, e.key, e.sequence, e.record_id, e.resource, e.operation, e.receipt,
                 e.state, json.dumps(e.payload, ensure_ascii=False), e.accepted, e.received)
                for e in entries]
        if not rows:
            return
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT INTO ledger_entry (platform, key, sequence, record_id, resource, "
                "operation, receipt, state, payload, accepted, received) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (platform, key) "
                "DO UPDATE SET state = excluded.state, received = excluded.received", rows)
            self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()
