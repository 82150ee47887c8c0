"""Connect to the warehouse: PostgreSQL in production, SQLite as the embedded default store.

The layers are PostgreSQL schemas (raw, core, quarantine, audit). On SQLite each layer is a
database file ATTACHed under the same name next to the main file (``<dir>/core.db`` …), so the
same schema-qualified table names work on both. SQLite commits across attached databases
atomically only with a rollback journal, so every file is put in ``journal_mode=DELETE``
(never WAL, which would let a crash leave one layer committed and another not).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.pool import StaticPool

from warehouse.tables import LAYERS

DEFAULT_URL = "sqlite:///var/warehouse/huiju.db"
# Execution option: how a SQLite transaction begins ("IMMEDIATE" for writers).
BEGIN_OPTION = "huiju_sqlite_begin"


def warehouse_url(url: str | None = None) -> str:
    """The URL given, else ``HUIJU_WAREHOUSE_URL``, else the embedded store under ``var/``."""
    return url or os.environ.get("HUIJU_WAREHOUSE_URL") or DEFAULT_URL


def create_warehouse_engine(url: str | sa.URL | None = None, **kwargs) -> sa.Engine:
    """An engine on the warehouse; on SQLite with the layer databases attached."""
    parsed = sa.make_url(url if url is not None else warehouse_url())
    if parsed.get_backend_name() != "sqlite":
        return sa.create_engine(parsed, **kwargs)
    database = parsed.database or ""
    in_memory = database in ("", ":memory:")
    if in_memory:
        # One shared connection, or every checkout would see its own empty memory databases.
        kwargs.setdefault("poolclass", StaticPool)
        kwargs.setdefault("connect_args", {"check_same_thread": False})
        folder = None
    else:
        folder = Path(database).resolve().parent
        folder.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(parsed, **kwargs)
    _prepare_sqlite(engine, folder)
    return engine


SHA256_HEX = "huiju_sha256_hex"


def _sha256_hex(text: str | None) -> str | None:
    return None if text is None else hashlib.sha256(text.encode("utf-8")).hexdigest()


def _prepare_sqlite(engine: sa.Engine, folder: Path | None) -> None:
    @sa.event.listens_for(engine, "connect")
    def _attach(dbapi_connection, _record) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin (so DDL and
        # the temporary staging table are inside the load's one transaction).
        dbapi_connection.isolation_level = None
        # PostgreSQL's sha256(): the outbox derives idempotency keys in SQL (warehouse/outbox.py).
        dbapi_connection.create_function(SHA256_HEX, 1, _sha256_hex, deterministic=True)
        cursor = dbapi_connection.cursor()
        for layer in LAYERS:
            target = ":memory:" if folder is None else str(folder / f"{layer}.db")
            cursor.execute("ATTACH DATABASE ? AS " + layer, (target,))
            if folder is not None:
                cursor.execute(f"PRAGMA {layer}.journal_mode=DELETE")
        if folder is not None:
            cursor.execute("PRAGMA main.journal_mode=DELETE")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: sa.Connection) -> None:
        # A loader asks for IMMEDIATE (take the write lock up front rather than fail to upgrade
        # a read lock half way); readers begin DEFERRED and are not held up by a load.
        conn.exec_driver_sql(f"BEGIN {conn.get_execution_options().get(BEGIN_OPTION, '')}")


def create_schemas(conn: sa.Connection) -> None:
    """Create the layer schemas (PostgreSQL); on SQLite they are attached on connect."""
    if conn.dialect.name == "postgresql":
        for layer in LAYERS:
            conn.execute(sa.schema.CreateSchema(layer, if_not_exists=True))
