"""Fixtures of the integration tier shared by several test modules."""

from __future__ import annotations

import pytest
from pipeline_support import LegacyHome, legacy_home

from warehouse.engine import create_warehouse_engine
from warehouse.migrate import upgrade

WAREHOUSES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=WAREHOUSES)
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


@pytest.fixture
def pg_warehouse(pg_url):
    """A migrated, empty PostgreSQL warehouse's engine (its owner: the migrating role)."""
    engine = create_warehouse_engine(pg_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=WAREHOUSES)
def warehouse_url(request, tmp_path) -> str:
    """The URL of an empty warehouse — the embedded SQLite store under tmp_path, then a fresh
    PostgreSQL database — not yet migrated (``use_workspace`` migrates it)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'warehouse' / 'huiju.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> LegacyHome:
    """The sample departments' legacy sources with their API served, built once per test
    module that asks (its tests only read it; ``copy_home`` gives one a copy to edit)."""
    with legacy_home(tmp_path_factory.mktemp("legacy")) as home:
        yield home
