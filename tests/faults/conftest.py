"""The fault tally: every fault suite records what it injected and what it found.

``make faults`` runs these suites in full (``HUIJU_FAULTS_FULL=1``: ≥ 100 kill points, the
PostgreSQL restart); ``make test`` runs a fast subset. At the end of the session pytest prints
one tally — runs, faults injected, inputs tried, rows lost, duplicates, clear errors — and the
session fails if anything was lost or duplicated, whatever the individual tests asserted.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import pytest
from fault_mode import FULL


@dataclass
class Tally:
    """What the fault suites did and found."""

    runs: int = 0
    faults: Counter = field(default_factory=Counter)
    inputs: Counter = field(default_factory=Counter)
    lost: int = 0
    duplicated: int = 0
    clear_errors: int = 0
    unclear_errors: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The tally as printed."""
        faults = ", ".join(f"{k} {v}" for k, v in sorted(self.faults.items())) or "none"
        inputs = ", ".join(f"{k} {v}" for k, v in sorted(self.inputs.items())) or "none"
        return [
            f"mode: {'full' if FULL else 'fast subset (make faults runs the full suites)'}",
            f"runs: {self.runs}",
            f"faults injected: {sum(self.faults.values())} ({faults})",
            f"inputs tried: {sum(self.inputs.values())} ({inputs})",
            f"rows lost: {self.lost}",
            f"duplicates: {self.duplicated}",
            f"clear errors: {self.clear_errors}; unclear: {len(self.unclear_errors)}",
            *(f"  unclear: {text}" for text in self.unclear_errors[:5]),
        ]


_TALLY = Tally()


@pytest.fixture(scope="session")
def tally() -> Tally:
    """The session's tally (shared by every fault suite)."""
    return _TALLY


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """Print the tally when any fault suite ran."""
    if not _TALLY.runs and not _TALLY.inputs:
        return
    terminalreporter.section("Huiju fault tally")
    for line in _TALLY.lines():
        terminalreporter.write_line(line)


def pytest_sessionfinish(session, exitstatus) -> None:
    """Anything lost or duplicated fails the session."""
    if _TALLY.lost or _TALLY.duplicated:
        session.exitstatus = 1
