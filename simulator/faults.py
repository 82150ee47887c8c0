"""Injected faults: which request fails, and how, drawn from a seeded random stream.

Each stream (one per platform, one for the leads feed) is its own ``random.Random`` seeded
with ``"{seed}:{stream}"``, so the same sequence of requests to a platform meets the same
faults whatever the other platforms receive meanwhile.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

# kind → what the client sees
FAULT_KINDS = {
    "server_error": "HTTP 500, nothing processed",
    "unavailable": "HTTP 503, nothing processed",
    "throttled": "HTTP 429 with Retry-After (seconds), nothing processed",
    "slow": "the answer comes late (--slow-seconds), processed normally",
    "dropped": "connection closed before processing: no response, nothing processed",
    "lost_response": "batch processed, then the connection closed: no response",
}


@dataclass(frozen=True)
class FaultPlan:
    """``rate`` in [0, 1] per request; ``kinds`` the faults drawn from (default: all)."""

    rate: float = 0.0
    seed: int = 0
    kinds: tuple[str, ...] = tuple(FAULT_KINDS)
    retry_after: int = 1
    slow_seconds: float = 1.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"fault rate must be between 0 and 1, got {self.rate}")
        unknown = set(self.kinds) - set(FAULT_KINDS)
        if unknown or not self.kinds:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; known: "
                             f"{', '.join(FAULT_KINDS)}")


class FaultStream:
    """The faults of one stream of requests, in arrival order (thread-safe)."""

    def __init__(self, plan: FaultPlan, stream: str) -> None:
        self.plan = plan
        self._random = random.Random(f"{plan.seed}:{stream}")
        self._lock = threading.Lock()

    def next(self) -> str | None:
        """The fault for the next request, or None. Two draws per request whatever the
        outcome, so the stream stays aligned with the request count."""
        with self._lock:
            hit = self._random.random() < self.plan.rate
            kind = self.plan.kinds[self._random.randrange(len(self.plan.kinds))]
        return kind if hit else None
