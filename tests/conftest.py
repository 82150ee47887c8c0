"""Shared fixtures: real PostgreSQL and MariaDB databases, one fresh database per test.

A server that cannot be reached skips the test with a clear message on a laptop; with
HUIJU_REQUIRE_SERVICES=1 (as .ci/run sets) it fails instead, so CI never skips silently.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

PG_ADMIN_URL = os.environ.get("HUIJU_TEST_PG_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
MARIADB_ADMIN_URL = os.environ.get("HUIJU_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/")


def _unreachable(what: str, error: Exception) -> None:
    message = f"{what} is unreachable ({type(error).__name__}: {error}); start it to run this test"
    if os.environ.get("HUIJU_REQUIRE_SERVICES") == "1":
        pytest.fail(f"HUIJU_REQUIRE_SERVICES=1 but {message}", pytrace=False)
    pytest.skip(message)


def _admin_engine(url: str, what: str) -> sa.Engine:
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as error:
        engine.dispose()
        _unreachable(what, error)
    return engine


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[sa.Engine]:
    engine = _admin_engine(PG_ADMIN_URL, "PostgreSQL at " + PG_ADMIN_URL)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def mariadb_admin() -> Iterator[sa.Engine]:
    engine = _admin_engine(MARIADB_ADMIN_URL, "MariaDB at " + MARIADB_ADMIN_URL)
    yield engine
    engine.dispose()


@contextmanager
def _pg_database(pg_admin: sa.Engine) -> Iterator[str]:
    name = f"huiju_test_{uuid.uuid4().hex[:12]}"
    with pg_admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}" ENCODING \'UTF8\' TEMPLATE template0'))
    yield pg_admin.url.set(database=name).render_as_string(hide_password=False)
    with pg_admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def pg_url(pg_admin: sa.Engine) -> Iterator[str]:
    """A SQLAlchemy URL of a new, empty PostgreSQL database, dropped after the test."""
    with _pg_database(pg_admin) as url:
        yield url


@pytest.fixture
def second_pg_url(pg_admin: sa.Engine) -> Iterator[str]:
    """Another new, empty PostgreSQL database, for a test comparing two warehouses."""
    with _pg_database(pg_admin) as url:
        yield url


@pytest.fixture
def mariadb_url(mariadb_admin: sa.Engine) -> Iterator[str]:
    """A SQLAlchemy URL of a new, empty MariaDB database (utf8mb4), dropped after the test."""
    name = f"huiju_test_{uuid.uuid4().hex[:12]}"
    with mariadb_admin.connect() as conn:
        conn.execute(sa.text(
            f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
    url = mariadb_admin.url.set(database=name, query={"charset": "utf8mb4"})
    yield url.render_as_string(hide_password=False)
    with mariadb_admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{name}`"))


@pytest.fixture(autouse=True)
def _no_airflow_context_left_behind() -> Iterator[None]:
    """An in-process Airflow run (``dag.test()``) exports ``AIRFLOW_CTX_*`` into os.environ
    and never removes them; left there, every later test would act as that DAG run."""
    before = {k for k in os.environ if k.startswith("AIRFLOW_CTX_")}
    yield
    for key in [k for k in os.environ if k.startswith("AIRFLOW_CTX_") and k not in before]:
        del os.environ[key]
