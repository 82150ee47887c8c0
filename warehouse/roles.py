"""Least privilege in the PostgreSQL warehouse: four group roles, grants and row-level security.

- ``huiju_owner`` owns the schemas and tables and runs the migrations (``huiju db upgrade``; in
  production a login that is a member does ``SET ROLE huiju_owner`` first);
- ``huiju_loader`` reads and writes the rows of every layer, with no DDL: the pipeline and the
  delivery tasks (its logins have ``BYPASSRLS``: see :func:`add_login`);
- ``huiju_auditor`` reads every row of every layer;
- ``huiju_reader`` reads only the rows of the departments granted to it (row-level security):
  the report application, one login role per department (:func:`add_department_reader`).

:func:`apply` is idempotent and runs after every migration (:func:`warehouse.migrate.upgrade`),
so a table that a later revision adds is covered the moment it exists. Roles are cluster-wide
in PostgreSQL; grants and policies are per database. The embedded SQLite store has no roles:
it is a single-user file.

Department readers are ordinary roles that are members of ``huiju_reader`` and listed in
``audit.department_reader``; a row with a ``department_code`` is visible to them only when that
table maps their role to it. ``current_user`` is what the policy compares, so a department's
login cannot widen its own view by setting a variable.
"""

from __future__ import annotations

import sqlalchemy as sa

from warehouse.actions import ACTION_LOG
from warehouse.tables import AUDIT, LAYERS

OWNER, LOADER, READER, AUDITOR = "huiju_owner", "huiju_loader", "huiju_reader", "huiju_auditor"
ROLES = (OWNER, LOADER, READER, AUDITOR)
READER_MAP = f"{AUDIT}.department_reader"


def apply(conn: sa.Connection) -> None:
    """Create the roles when missing, then grant and (re)create the row policies."""
    if conn.dialect.name != "postgresql":
        return
    for role in ROLES:
        _create_role(conn, role)
    database = conn.exec_driver_sql("SELECT current_database()").scalar()
    conn.exec_driver_sql(f'GRANT CONNECT, TEMP ON DATABASE "{database}" TO {LOADER}')
    conn.exec_driver_sql(f'GRANT CONNECT ON DATABASE "{database}" TO {READER}, {AUDITOR}')
    for schema in _schemas(conn):
        conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA {schema} TO {LOADER}, {READER}, {AUDITOR}")
        conn.exec_driver_sql(
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {LOADER}")
        conn.exec_driver_sql(
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {LOADER}")
        conn.exec_driver_sql(f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {AUDITOR}")
    if _exists(conn, ACTION_LOG):  # append-only: the loader may add, never change
        conn.exec_driver_sql(f"REVOKE UPDATE, DELETE, TRUNCATE ON {ACTION_LOG} FROM {LOADER}")
    if not _exists(conn, READER_MAP):
        return  # a revision older than the reader map: department readers get nothing yet
    # A department reader reads only tables whose rows name a department, through the policy.
    for table in _department_tables(conn):
        conn.exec_driver_sql(f"GRANT SELECT ON {table} TO {READER}")
        _police(conn, table, "department_code IN (SELECT department_code FROM "
                             f"{READER_MAP} WHERE role_name = current_user)")
    conn.exec_driver_sql(f"GRANT SELECT ON {READER_MAP} TO {READER}")
    _police(conn, READER_MAP, "role_name = current_user")


def add_login(conn: sa.Connection, role: str, group: str) -> None:
    """Create login ``role`` (when missing) as a member of ``group`` (one of :data:`ROLES`).

    A loader login also gets ``BYPASSRLS``: PostgreSQL refuses ``COPY FROM`` into a table with
    row-level security for any role the policies apply to, and role attributes are not
    inherited from the group. The loader writes every department's rows anyway.
    """
    if group not in ROLES:
        raise ValueError(f"unknown group role {group!r}; one of {', '.join(ROLES)}")
    _create_role(conn, role, login=True)
    conn.exec_driver_sql(f'GRANT {group} TO "{role}"')
    if group == LOADER:
        conn.exec_driver_sql(f'ALTER ROLE "{role}" BYPASSRLS')


def add_department_reader(conn: sa.Connection, role: str, department_code: str) -> None:
    """Let login role ``role`` (created when missing) read ``department_code``'s rows only."""
    _create_role(conn, role, login=True)
    conn.exec_driver_sql(f'GRANT {READER} TO "{role}"')
    conn.execute(sa.text(
        f"INSERT INTO {READER_MAP} (role_name, department_code) VALUES (:role, :code) "
        "ON CONFLICT DO NOTHING"), {"role": role, "code": department_code})


def owns(conn: sa.Connection, table: sa.Table) -> bool:
    """Whether the current role may alter ``table`` (a loader may not: no DDL)."""
    if conn.dialect.name != "postgresql":
        return True
    return bool(conn.execute(sa.text(
        "SELECT pg_has_role(current_user, c.relowner, 'USAGE') FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = :schema "
        "AND c.relname = :name"), {"schema": table.schema, "name": table.name}).scalar())


def _create_role(conn: sa.Connection, role: str, *, login: bool = False) -> None:
    # Two migrations of two databases may race to create a cluster-wide role.
    login_clause = "LOGIN" if login else "NOLOGIN"
    conn.exec_driver_sql(f"""
        DO $$ BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
                CREATE ROLE "{role}" {login_clause};
            END IF;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END $$""")


def _schemas(conn: sa.Connection) -> list[str]:
    present = set(conn.execute(sa.text(
        "SELECT nspname FROM pg_namespace")).scalars())
    return [schema for schema in LAYERS if schema in present]


def _exists(conn: sa.Connection, table: str) -> bool:
    return conn.exec_driver_sql(f"SELECT to_regclass('{table}')").scalar() is not None


def _department_tables(conn: sa.Connection) -> list[str]:
    """Every table of the layers with a ``department_code`` column, as ``schema.table``."""
    rows = conn.execute(sa.text(
        "SELECT table_schema || '.' || table_name FROM information_schema.columns "
        "WHERE column_name = 'department_code' AND table_schema = ANY(:schemas) "
        "ORDER BY 1"), {"schemas": list(LAYERS)}).scalars()
    return [name for name in rows if name != READER_MAP]



def _police(conn: sa.Connection, table: str, reader_sees: str) -> None:
    conn.exec_driver_sql(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    policies = {
        "huiju_loader_all": f"FOR ALL TO {LOADER} USING (true) WITH CHECK (true)",
        "huiju_auditor_all": f"FOR SELECT TO {AUDITOR} USING (true)",
        "huiju_reader_department": f"FOR SELECT TO {READER} USING ({reader_sees})",
    }
    for name, body in policies.items():
        conn.exec_driver_sql(f"DROP POLICY IF EXISTS {name} ON {table}")
        conn.exec_driver_sql(f"CREATE POLICY {name} ON {table} {body}")
