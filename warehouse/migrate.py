"""Schema migrations: Alembic, configured in code (no alembic.ini at runtime)."""

from __future__ import annotations

from importlib import resources

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from warehouse import roles
from warehouse.engine import create_schemas
from warehouse.tables import LAYERS, metadata


def alembic_config(conn: sa.Connection | None = None) -> Config:
    """An Alembic config whose scripts are the package's ``warehouse/migrations``."""
    config = Config()
    config.set_main_option("script_location",
                           str(resources.files("warehouse").joinpath("migrations")))
    config.set_main_option("path_separator", "os")
    if conn is not None:
        config.attributes["connection"] = conn
    return config


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Create the layer schemas, migrate to ``revision`` (the newest by default), then grant
    the roles their rights on whatever tables now exist (:mod:`warehouse.roles`)."""
    with engine.begin() as conn:
        create_schemas(conn)
        command.upgrade(alembic_config(conn), revision)
        roles.apply(conn)


def current(engine: sa.Engine) -> str | None:
    """The revision the warehouse is at (None: never migrated)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head() -> str | None:
    """The newest revision shipped with the code."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def pending_changes(engine: sa.Engine) -> list:
    """What autogenerate would still write: empty when the migrations match the declaration."""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={
            "include_schemas": True,
            "include_name": lambda name, type_, _p: type_ != "schema" or name in LAYERS,
            "compare_type": True,
        })
        return compare_metadata(context, metadata())


def revision(engine: sa.Engine, message: str) -> None:
    """Write a new revision file with what autogenerate finds (after a data set changed)."""
    with engine.begin() as conn:
        create_schemas(conn)
        command.revision(alembic_config(conn), message=message, autogenerate=True)
