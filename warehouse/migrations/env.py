"""Alembic environment of the warehouse, driven from ``warehouse.migrate`` (no alembic.ini).

The caller passes an open connection in ``config.attributes["connection"]``; the target is
``warehouse.tables.metadata()``, itself generated from the standard schema declaration.
"""

from __future__ import annotations

from alembic import context

from warehouse.tables import LAYERS, metadata


def _include_name(name, type_, _parent_names) -> bool:
    # Only the warehouse's own layers: not PostgreSQL's public schema, nor SQLite's main/temp.
    if type_ == "schema":
        return name in LAYERS
    return True


def run_migrations_online() -> None:
    """Run the migrations on the connection the caller put in the Alembic config."""
    connection = context.config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=metadata(),
        include_schemas=True,
        include_name=_include_name,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():  # pragma: no cover - offline SQL scripts are not used
    raise SystemExit("warehouse migrations run online only: use `huiju db upgrade`")
run_migrations_online()
