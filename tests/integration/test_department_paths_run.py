"""The same department file, run by ``huiju run`` from two working directories (each its own
HUIJU_HOME), loads the same files: its relative drop, archive and reject folders are relative
to the file's folder (issue 11). The drop folder stays a trust boundary."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from pipeline_support import migrated

from warehouse.engine import create_warehouse_engine

HEADER = "编号,名称,法人\n"
DEPARTMENT = """code: GS-PATHS
name: {zh: 路径测试局, en: Paths Test Bureau}
division_code: "620100"
schedule: "@daily"
sources:
  - id: drop
    kind: files
    system: 报表
    connection: {directory: drop, archive_dir: kept, rejected_dir: ../aside}
    feeds:
      - dataset: enterprise
        extract: {patterns: ["*.csv"]}
        mapping: {pripid: 编号, ent_name: 名称, legal_rep: 法人}
"""


def _run(cwd: Path, departments: Path, url: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUIJU_")}
    env.update({"HUIJU_DEPARTMENTS_DIR": str(departments), "HUIJU_WAREHOUSE_URL": url,
                "COLUMNS": "200"})
    huiju = str(Path(sys.executable).with_name("huiju"))
    return subprocess.run([huiju, "run", "--department", "GS-PATHS"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def _loaded(url: str) -> dict[str, tuple[str, str]]:
    engine = create_warehouse_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT pripid, source_ref FROM core.enterprise "
                "WHERE department_code = 'GS-PATHS'")).all()
    finally:
        engine.dispose()
    return dict(rows)


def _warehouse(path: Path) -> str:
    """An embedded warehouse at ``path`` (its schemas are files beside it: a folder each)."""
    path.parent.mkdir(parents=True)
    return migrated(f"sqlite:///{path}")


def test_one_department_file_loads_the_same_files_from_any_working_directory(tmp_path):
    departments = tmp_path / "etc" / "departments"
    (departments / "drop").mkdir(parents=True)
    (departments / "gs_paths.yaml").write_text(DEPARTMENT, encoding="utf-8")
    drop = departments / "drop"
    (drop / "01_企业.csv").write_text(HEADER + "E1,兰州甲公司,张三\nE2,天水乙公司,李四\n",
                                      encoding="utf-8")
    (drop / "02_坏.csv").write_bytes(b"\xff\xfe\x00\x81\x30\x81\x30\x80\x80\xff\n\x81\n")
    # a ``drop`` folder under each working directory (= HUIJU_HOME): the old resolution
    # would have read these instead
    for cwd, key in (("scheduler", "X1"), ("shell", "X2")):
        (tmp_path / cwd / "drop").mkdir(parents=True)
        (tmp_path / cwd / "drop" / "99_别处.csv").write_text(HEADER + f"{key},别处公司,王五\n",
                                                            encoding="utf-8")

    first = _warehouse(tmp_path / "first" / "huiju.db")
    done = _run(tmp_path / "scheduler", departments, first)
    assert done.returncode == 0, done.stdout + done.stderr
    second = _warehouse(tmp_path / "second" / "huiju.db")
    done = _run(tmp_path / "shell", departments, second)
    assert done.returncode == 0, done.stdout + done.stderr

    loaded = _loaded(first)
    assert set(loaded) == {"E1", "E2"}
    assert _loaded(second) == loaded
    # archive and reject folders: beside the file (``kept``) and one up (``../aside``)
    assert [p.name.split("__", 1)[1] for p in (departments / "kept").iterdir()] == ["01_企业.csv"]
    assert (tmp_path / "etc" / "aside" / "02_坏.csv").exists()
    for cwd in ("scheduler", "shell"):
        assert [p.name for p in (tmp_path / cwd / "drop").iterdir()] == ["99_别处.csv"]
        assert not (tmp_path / cwd / "kept").exists()


def test_a_relative_drop_folder_still_follows_no_link_out(tmp_path):
    """Anchoring the folder to the department file does not open the boundary: a link in
    the drop folder to a file outside is refused unread."""
    departments = tmp_path / "etc" / "departments"
    (departments / "drop").mkdir(parents=True)
    (departments / "gs_paths.yaml").write_text(DEPARTMENT, encoding="utf-8")
    (departments / "drop" / "01_企业.csv").write_text(HEADER + "E1,兰州甲公司,张三\n",
                                                      encoding="utf-8")
    outside = tmp_path / "otherdept"
    outside.mkdir()
    (outside / "their.csv").write_text(HEADER + "Z9,另一个部门,赵六\n", encoding="utf-8")
    (departments / "drop" / "02_链接.csv").symlink_to(outside / "their.csv")

    url = _warehouse(tmp_path / "w" / "huiju.db")
    done = _run(tmp_path, departments, url)
    assert set(_loaded(url)) == {"E1"}, done.stdout + done.stderr
    assert "另一个部门" not in done.stdout + done.stderr
    assert (outside / "their.csv").exists()
