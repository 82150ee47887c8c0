"""The column that holds the feed's source id is called source_id, as in department files

Revision ID: 5b1e0c7d2a94
Revises: 1f35bc488e87
Create Date: 2026-12-07 17:40:00

Written by hand: Alembic's autogenerate sees a rename as a drop and an add. Every table of
every layer that has the column is renamed in place (PostgreSQL and SQLite >= 3.25 both
rename columns in indexes, keys and policies with it), so no data is copied.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '5b1e0c7d2a94'
down_revision: str | Sequence[str] | None = '1f35bc488e87'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LAYERS = ("raw", "core", "quarantine", "audit", "delivery")
COMMENT = "数据源标识（部门文件中的 source id）"


def _rename(old: str, new: str, comment: str | None) -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    for schema in LAYERS:
        for table in inspector.get_table_names(schema):
            columns = {c["name"]: c for c in inspector.get_columns(table, schema)}
            if old not in columns:
                continue
            op.execute(f'ALTER TABLE {schema}."{table}" RENAME COLUMN {old} TO {new}')
            if bind.dialect.name == "postgresql" and columns[old].get("comment"):
                literal = "NULL" if comment is None else "'" + comment + "'"
                op.execute(f'COMMENT ON COLUMN {schema}."{table}".{new} IS {literal}')


def upgrade() -> None:
    """source_system -> source_id everywhere."""
    _rename("source_system", "source_id", COMMENT)


def downgrade() -> None:
    """source_id -> source_system everywhere."""
    _rename("source_id", "source_system", "来源系统")
