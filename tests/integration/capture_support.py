"""A small workspace for the change-capture tests (this module holds no tests): one department
whose SQL table and drop folder fill the ``enterprise`` data set, a warehouse, and helpers to
run its feeds through the real pipeline."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from pipeline_support import point_huiju_at, query

from huiju import pipeline

DEPARTMENT = "GS-CAPTURE"
SECRET = "HUIJU_SRC_CAPTURE_DB"
MAPPING = "{pripid: 编号, ent_name: 名称, legal_rep: 法人}"


def department_yaml(sql_extract: str = "", files_extract: str = "", feed_keys: str = "") -> str:
    """The department file; ``*_extract`` add keys to a feed's extract (``, key: value``)."""
    return f"""code: {DEPARTMENT}
name: {{zh: 变更捕获测试局, en: Change Capture Test Bureau}}
division_code: "620100"
schedule: "@daily"
sources:
  - id: ent_db
    kind: sql
    system: 企业登记系统
    connection: {{url_secret: {SECRET}}}
    feeds:
      - dataset: enterprise
        extract: {{table: 企业, cursor_column: 更新时间, primary_key: [编号],
                   batch_size: 3{sql_extract}}}
        mapping: {MAPPING}{feed_keys}
  - id: drop
    kind: files
    system: 报表
    connection: {{directory: ../drop}}
    feeds:
      - dataset: enterprise
        extract: {{patterns: ["*.csv", "*.json"]{files_extract}}}
        mapping: {MAPPING}{feed_keys}
"""


def workspace(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, source_url: str,
              warehouse_url: str | None = None, **yaml: str) -> str:
    """Point Huiju at a fresh home under ``tmp_path``; returns the (migrated) warehouse URL."""
    home = tmp_path / "home"
    (home / "departments").mkdir(parents=True, exist_ok=True)
    (home / "drop").mkdir(exist_ok=True)
    (home / "departments" / "gs_capture.yaml").write_text(department_yaml(**yaml),
                                                          encoding="utf-8")
    url = warehouse_url or f"sqlite:///{tmp_path / 'warehouse.db'}"
    return point_huiju_at(monkeypatch, url, {
        "HUIJU_HOME": home, "HUIJU_DEPARTMENTS_DIR": home / "departments",
        "HUIJU_STAGING_DIR": tmp_path / "stage", "HUIJU_ARCHIVE_DIR": tmp_path / "archive",
        SECRET: source_url})


def drop_folder(tmp_path: Path) -> Path:
    return tmp_path / "home" / "drop"


def run(source: str, run_id: str = "capture") -> list[dict]:
    """Run one feed of the department until drained; its batches' accounting."""
    return pipeline.run_feed(pipeline.FeedKey(DEPARTMENT, source, "enterprise"), run_id=run_id)


def create_source_table(url: str, unique: bool = True) -> sa.Table:
    engine = sa.create_engine(url)
    key = sa.Column("编号", sa.String(20), primary_key=unique, nullable=not unique)
    table = sa.Table("企业", sa.MetaData(), key, sa.Column("名称", sa.String(100)),
                     sa.Column("法人", sa.String(50)), sa.Column("更新时间", sa.String(40)),
                     sa.Column("版本", sa.Integer))
    with engine.begin() as conn:
        table.metadata.create_all(conn)
    engine.dispose()
    return table


def source_execute(url: str, statement, rows=None) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(statement, rows) if rows is not None else conn.execute(statement)
    engine.dispose()


def current_rows(url: str, source: str) -> dict[str, tuple]:
    """``{pripid: (ent_name, legal_rep)}`` of the live core rows of one source."""
    rows = query(url, "SELECT pripid, ent_name, legal_rep FROM core.enterprise "
                      "WHERE department_code = :d AND source_id = :s AND NOT is_deleted",
                 d=DEPARTMENT, s=source)
    return {r["pripid"]: (r["ent_name"], r["legal_rep"]) for r in rows}
