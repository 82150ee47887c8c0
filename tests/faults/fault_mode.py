"""How hard the fault suites push: ``make faults`` sets ``HUIJU_FAULTS_FULL=1`` for the full
suites, else a fast subset runs (``make test``, CI).

A module of its own, not ``conftest``: a test module importing ``conftest`` gets whichever
conftest was imported last (``tests/integration``'s when both folders are collected).
"""

from __future__ import annotations

import os

FULL = os.environ.get("HUIJU_FAULTS_FULL") == "1"


def kill_points(fast: int, full: int = 100) -> int:
    """How many kill points a suite tries: ``full`` under ``make faults``, else ``fast``."""
    return full if FULL else fast
