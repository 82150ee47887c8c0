"""What a platform has received: every accepted idempotency key with its receipt (回执), how
often it was accepted, and the state of the record version it carried.

One ``PlatformLedger`` per platform, kept in memory and guarded by one lock, so a batch is
applied atomically and concurrent batches never double-accept a key.
"""

from __future__ import annotations

import secrets
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

from simulator.shapes import ResourceShape, check_payload
from simulator.store import LedgerStore

ACTIVE, SUPERSEDED, WITHDRAWN = "active", "superseded", "withdrawn"


@dataclass
class Entry:
    """One accepted key."""

    key: str
    record_id: str
    resource: str
    operation: str
    receipt: str
    state: str
    payload: Any
    accepted: int = 1
    received: int = 1   # accepted + answered duplicate: > 1 shows the sender retried
    sequence: int = 0   # order of acceptance on the platform

    def as_dict(self, with_payload: bool = False) -> dict[str, Any]:
        row = {"key": self.key, "record_id": self.record_id, "resource": self.resource,
               "operation": self.operation, "accepted": self.accepted, "received": self.received,
               "receipt": self.receipt, "state": self.state}
        if with_payload:
            row["payload"] = self.payload
        return row


class PlatformLedger:
    """The receiving side of one platform.

    A record's identity is ``(resource, record_id)``; each accepted key is one version of it.
    The newest accepted key decides the record's state: an ``i``/``u`` makes the earlier keys
    ``superseded``; a ``d`` withdraws the record, so its still-active keys and the ``d`` key
    itself are ``withdrawn``.
    """

    def __init__(self, platform: str, store: LedgerStore | None = None) -> None:
        self.platform = platform
        self.store = store
        self.lock = threading.Lock()
        self.entries: dict[str, Entry] = {}
        self.versions: dict[tuple[str, str], list[Entry]] = {}
        self.requests = 0
        self.rejected = 0
        self.faults: Counter[str] = Counter()
        # receipts are unique per server run, so a restarted simulator never repeats one
        self._prefix = f"{platform.upper()}-{secrets.token_hex(3).upper()}-"
        self._sequence = 0
        for entry in store.load(platform) if store is not None else ():
            self.entries[entry.key] = entry
            self.versions.setdefault((entry.resource, entry.record_id), []).append(entry)
            self._sequence = entry.sequence

    def count_request(self, fault: str | None) -> None:
        """Count one API request to this platform and the fault injected into it, if any."""
        with self.lock:
            self.requests += 1
            if fault:
                self.faults[fault] += 1

    def receive(self, resource: ResourceShape, records: list[dict[str, Any]]
                ) -> list[dict[str, Any]]:
        """Apply one batch in order and return one result per record (the response body's
        ``results``)."""
        results = []
        touched: dict[str, Entry] = {}
        with self.lock:
            for record in records:
                results.append(self._receive_one(resource, record, touched))
            if self.store is not None:
                # written before the answer leaves: an answered key is never forgotten
                self.store.save(self.platform, touched.values())
        return results

    def _receive_one(self, resource: ResourceShape, record: dict[str, Any],
                     touched: dict[str, Entry]) -> dict[str, Any]:
        key = record["key"]
        seen = self.entries.get(key)
        if seen is not None:
            # the sender retried a key it had already delivered: same receipt, not re-accepted
            seen.received += 1
            touched[key] = seen
            return {"key": key, "status": "duplicate", "receipt": seen.receipt, "errors": []}
        operation = record["operation"]
        errors = [] if operation == "d" else check_payload(resource, record.get("payload"))
        if errors:
            self.rejected += 1
            return {"key": key, "status": "rejected", "receipt": None,
                    "errors": [e.as_dict() for e in errors]}
        self._sequence += 1
        entry = Entry(key, record["record_id"], resource.name, operation,
                      f"{self._prefix}{self._sequence:08d}",
                      WITHDRAWN if operation == "d" else ACTIVE, record.get("payload"),
                      sequence=self._sequence)
        history = self.versions.setdefault((resource.name, entry.record_id), [])
        for earlier in history:
            before = earlier.state
            if operation == "d" and earlier.state == ACTIVE:
                earlier.state = WITHDRAWN
            elif operation != "d":
                earlier.state = SUPERSEDED
            if earlier.state != before:
                touched[earlier.key] = earlier
        history.append(entry)
        self.entries[key] = entry
        touched[key] = entry
        return {"key": key, "status": "accepted", "receipt": entry.receipt, "errors": []}

    def snapshot(self, *, record_id: str | None = None, with_payload: bool = False,
                 with_records: bool = True) -> dict[str, Any]:
        """The ledger as ``GET /_ledger/{platform}`` serves it; ``summary`` counts the keys
        by state and how often they arrived, so a large run can be checked without the list."""
        with self.lock:
            entries = [e for e in self.entries.values()
                       if record_id is None or e.record_id == record_id]
            states = Counter(e.state for e in entries)
            summary = {"keys": len(entries), **{s: states[s] for s in (ACTIVE, SUPERSEDED,
                                                                       WITHDRAWN)},
                       "accepted": sum(e.accepted for e in entries),
                       "received": sum(e.received for e in entries)}
            return {"platform": self.platform,
                    "records": [e.as_dict(with_payload) for e in entries] if with_records
                    else [],
                    "summary": summary, "requests": self.requests, "rejected": self.rejected,
                    "faults": dict(self.faults)}
