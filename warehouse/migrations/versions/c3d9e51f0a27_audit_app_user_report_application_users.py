"""audit: app_user, the report application's users

Revision ID: c3d9e51f0a27
Revises: 88b433628f68
Create Date: 2026-12-01 22:15:00.000000

Written by hand in the shape `huiju db revision` writes (warehouse.tables ``audit.app_user``).
"""
# ruff: noqa  (generated code)

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'c3d9e51f0a27'
down_revision: str | Sequence[str] | None = '88b433628f68'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('app_user',
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False, comment='department | auditor | admin'),
    sa.Column('scope_department_code', sa.String(length=64), nullable=True, comment='the one department a department user sees'),
    sa.Column('password_hash', sa.String(length=256), nullable=False, comment='scrypt, salted'),
    sa.Column('is_active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=256), nullable=False),
    sa.CheckConstraint("(role = 'department') = (scope_department_code IS NOT NULL)", name=op.f('ck_app_user_department_scope')),
    sa.CheckConstraint("role IN ('department', 'auditor', 'admin')", name=op.f('ck_app_user_role')),
    sa.PrimaryKeyConstraint('username', name=op.f('pk_app_user')),
    schema='audit',
    comment="users of the report application (reports/users.py)"
    )


def downgrade() -> None:
    op.drop_table('app_user', schema='audit')
