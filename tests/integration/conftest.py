"""Fixtures of the integration tier shared by several test modules."""

from __future__ import annotations

import pytest

from warehouse.engine import create_warehouse_engine
from warehouse.migrate import upgrade


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def warehouse(request, tmp_path):
    """A migrated, empty warehouse — the embedded SQLite store, then a real PostgreSQL —
    as ``(engine, url)``."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/warehouse/huiju.db"
    else:
        url = request.getfixturevalue("pg_url")
    engine = create_warehouse_engine(url)
    upgrade(engine)
    yield engine, url
    engine.dispose()
