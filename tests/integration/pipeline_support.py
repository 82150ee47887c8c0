"""Helpers shared by the pipeline integration tests (this module holds no tests).

``legacy_home`` builds the sample departments' legacy sources (the integration conftest's
module-scoped ``built`` fixture calls it once per test module) and writes a departments folder
next to them: the shipped YAML files, with GS-YJJ's license API pointed at the local
``HttpSourceServer``. ``use_workspace`` then points one test at that home with its own
warehouse and staging folder (``point_huiju_at``: the settings and the migrated warehouse, for
other workspaces too).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pytest
import sqlalchemy as sa

from connectors.testing.http_source import HttpSourceServer
from huiju.demo import legacy
from warehouse.engine import create_warehouse_engine
from warehouse.migrate import upgrade

REPO = Path(__file__).resolve().parents[2]
SHIPPED_DEPARTMENTS = REPO / "departments"
# The shipped gs_yjj.yaml names the demo's fixed port; the test server takes a free one.
LICENSE_URL = re.compile(r"^(\s+url: )http://127\.0\.0\.1:\d+/\S+$", re.MULTILINE)
RECORDS_PATH = re.compile(r"^(\s+records_path: )\S+$", re.MULTILINE)
SERVER_RECORDS_PATH = "data.list"  # HttpSourceServer answers {"data": {"list": [...]}}
# A files source's folder in the shipped files: relative to the file, into the repository's var/
SHIPPED_FOLDER = re.compile(r"((?:directory|archive_dir|rejected_dir): )\.\./var/")
# GS-SCJG's enterprise feed read 4 rows at a time and capped at 7 rows per run (two reads):
# one `huiju run` loads it in several batches
CAPPED_ENTERPRISE = {"gs_scjg.yaml": {
    "extract: {table: 企业基本信息, primary_key: [主体身份代码], cursor_column: 更新时间}":
        "extract: {table: 企业基本信息, primary_key: [主体身份代码], "
        "cursor_column: 更新时间, batch_size: 4}\n        max_rows_per_run: 7"}}


@dataclass
class LegacyHome:
    """A built legacy home: sources under ``home/var``, department files, the API server."""

    home: Path
    departments: Path
    sources: legacy.LegacySources
    server: HttpSourceServer

    @property
    def case_db(self) -> Path:
        return self.home / "var" / "legacy" / "gs_scjg_case.db"

    @property
    def lz_drop(self) -> Path:
        return self.home / "var" / "drop" / "lz_sjj"

    @property
    def yjj_drop(self) -> Path:
        return self.home / "var" / "drop" / "gs_yjj"

    @property
    def license_ref_prefix(self) -> str:
        """How the HTTP connector names the endpoint in refs (the URL path)."""
        return urlparse(self.server.url).path


def write_departments(folder: Path, home: Path, server_url: str,
                      edits: dict[str, dict[str, str]] | None = None) -> Path:
    """Copy the shipped department files to ``folder``; point GS-YJJ's API at ``server_url``.

    The shipped files' folders (``../var/drop/…``) are relative to their own folder; the
    copies keep them relative, to the sources built under ``home/var`` as seen from
    ``folder``. ``edits`` maps a file name to ``{old text: new text}`` replacements (e.g.
    thresholds).
    """
    folder.mkdir(parents=True, exist_ok=True)
    to_var = os.path.relpath(home / "var", folder)
    for path in sorted(SHIPPED_DEPARTMENTS.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        text = SHIPPED_FOLDER.sub(lambda m: f"{m.group(1)}{to_var}/", text)
        if path.name == "gs_yjj.yaml":
            text, urls = LICENSE_URL.subn(lambda m: m.group(1) + server_url, text)
            text, paths = RECORDS_PATH.subn(lambda m: m.group(1) + SERVER_RECORDS_PATH, text)
            assert (urls, paths) == (1, 1), "gs_yjj.yaml changed: adjust the test's API rewrite"
        for old, new in (edits or {}).get(path.name, {}).items():
            assert old in text, f"{path.name}: {old!r} not found"
            text = text.replace(old, new)
        (folder / path.name).write_text(text, encoding="utf-8")
    return folder


@contextlib.contextmanager
def legacy_home(root: Path):
    """Build the legacy sources under ``root`` and serve the license API while in use."""
    sources = legacy.build(root)
    with HttpSourceServer(sources.api_records, token=legacy.API_TOKEN,
                          updated_field="UPDATED_AT") as server:
        departments = write_departments(root / "departments", root, server.url)
        yield LegacyHome(root, departments, sources, server)


def copy_home(built: LegacyHome, root: Path) -> LegacyHome:
    """A private copy of a built home's sources (for a test that edits them)."""
    shutil.copytree(built.home / "var" / "legacy", root / "var" / "legacy")
    shutil.copytree(built.home / "var" / "drop", root / "var" / "drop")
    departments = write_departments(root / "departments", root, built.server.url)
    env = dict(built.sources.env)
    env["HUIJU_SRC_GS_SCJG_CASE_DB"] = f"sqlite:///{root / 'var' / 'legacy' / 'gs_scjg_case.db'}"
    sources = legacy.LegacySources(env=env, api_records=built.sources.api_records,
                                   defects=built.sources.defects)
    return LegacyHome(root, departments, sources, built.server)


def use_workspace(monkeypatch: pytest.MonkeyPatch, built: LegacyHome, tmp_path: Path,
                  warehouse_url: str | None = None, departments: Path | None = None,
                  migrate: bool = True) -> str:
    """Point Huiju at ``built`` with this test's own warehouse and staging; return the URL.

    The warehouse is migrated to the current schema (unless ``migrate`` is False). Without
    ``warehouse_url`` it is the embedded SQLite store, under ``tmp_path`` (not the shared home).
    """
    url = warehouse_url or f"sqlite:///{tmp_path / 'warehouse' / 'huiju.db'}"
    monkeypatch.setenv("COLUMNS", "240")  # rich: keep messages on one line for the asserts
    return point_huiju_at(monkeypatch, url, {
        "HUIJU_HOME": built.home, "HUIJU_DEPARTMENTS_DIR": departments or built.departments,
        "HUIJU_STAGING_DIR": tmp_path / "staging", "HUIJU_ARCHIVE_DIR": tmp_path / "archive",
        **built.sources.env}, migrate=migrate)


def point_huiju_at(monkeypatch: pytest.MonkeyPatch, url: str, settings: dict[str, object],
                   migrate: bool = True) -> str:
    """Set one test's Huiju settings (environment variables, as a task reads them) and its
    warehouse ``url``, migrated to the current schema unless ``migrate`` is False."""
    for name, value in {**settings, "HUIJU_WAREHOUSE_URL": url}.items():
        monkeypatch.setenv(name, str(value))
    return migrated(url) if migrate else url


def migrated(url: str) -> str:
    """``url``, its warehouse upgraded to the current schema."""
    engine = create_warehouse_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    return url


# --------------------------------------------------------------------------- queries


def query(url: str, sql: str, **params) -> list[dict]:
    engine = create_warehouse_engine(url)
    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.text(sql), params)]
    finally:
        engine.dispose()


def scalar(url: str, sql: str, **params):
    rows = query(url, sql, **params)
    return next(iter(rows[0].values())) if rows else None


def core_rows(url: str, dataset: str, department: str) -> list[dict]:
    """A department's core rows, minus load timestamps (equal means the same content)."""
    rows = query(url, f"SELECT * FROM core.{dataset} WHERE department_code = :d",
                 d=department)
    out = [{k: v for k, v in row.items() if k not in ("first_loaded_at", "updated_at")}
           for row in rows]
    return sorted(out, key=lambda r: r["source_ref"])


def quarantine_rules(url: str, department: str, dataset: str,
                     status: str | None = "open") -> dict[str, set[str]]:
    """``{source_ref: {rule_id, …}}`` of the department's quarantine rows of ``dataset``."""
    sql = ("SELECT source_ref, rule_id FROM quarantine.record "
           "WHERE department_code = :d AND dataset = :s")
    if status:
        sql += " AND status = :st"
    found: dict[str, set[str]] = {}
    for row in query(url, sql, d=department, s=dataset, st=status):
        found.setdefault(row["source_ref"], set()).add(row["rule_id"])
    return found


def legacy_rows(case_db: Path, sql: str, *params) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(case_db)) as conn:
        return conn.execute(sql, params).fetchall()


def execute_legacy(case_db: Path, sql: str, *params) -> None:
    with contextlib.closing(sqlite3.connect(case_db)) as conn, conn:
        conn.execute(sql, params)
