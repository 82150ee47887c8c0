"""``huiju run`` shows progress per feed (issue 11): piped, plain ``progress`` lines — rows read,
rows/s, the batch — then a table whose identifiers are whole; on a terminal (a pseudo-terminal
here), a live display and no plain lines."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from warehouse.engine import create_warehouse_engine
from warehouse.migrate import upgrade

ROWS, READ_SIZE = 120, 25  # five connector batches of at most 25 rows
CODE = "GS-PROGRESS-LONGDEPARTMENTCODE"  # longer than a folded column would keep
DEPARTMENT = f"""code: {CODE}
name: {{zh: 进度显示测试局, en: Progress Test Bureau}}
division_code: "620100"
schedule: "@daily"
sources:
  - id: monthly_enterprise_exports
    kind: files
    system: 报表
    connection: {{directory: drop, batch_size: {READ_SIZE}}}
    feeds:
      - dataset: enterprise
        extract: {{patterns: ["*.csv"]}}
        mapping: {{pripid: 编号, ent_name: 名称, legal_rep: 法人}}
"""
LABEL = f"{CODE} monthly_enterprise_exports → enterprise"


def _workspace(tmp_path: Path) -> dict[str, str]:
    departments = tmp_path / "departments"
    (departments / "drop").mkdir(parents=True)
    (departments / "progress.yaml").write_text(DEPARTMENT, encoding="utf-8")
    lines = [f"E{n:04d},兰州第{n}公司,张{n}" for n in range(ROWS)]
    (departments / "drop" / "企业.csv").write_text("编号,名称,法人\n" + "\n".join(lines) + "\n",
                                                  encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'warehouse' / 'huiju.db'}"
    (tmp_path / "warehouse").mkdir()
    engine = create_warehouse_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUIJU_", "COLUMNS"))}
    env.update({"HUIJU_HOME": str(tmp_path), "HUIJU_DEPARTMENTS_DIR": str(departments),
                "HUIJU_WAREHOUSE_URL": url, "HUIJU_PROGRESS_SECONDS": "0"})
    return env


def _batch_id(env: dict[str, str]) -> str:
    engine = create_warehouse_engine(env["HUIJU_WAREHOUSE_URL"])
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT batch_id FROM audit.batch")).scalar_one()
    finally:
        engine.dispose()


def _huiju() -> str:
    return str(Path(sys.executable).with_name("huiju"))


def test_piped_run_prints_plain_progress_lines_then_whole_identifiers(tmp_path):
    env = _workspace(tmp_path)
    env["COLUMNS"] = "60"  # a narrow terminal setting must not fold a piped table
    done = subprocess.run([_huiju(), "run", "--department", CODE], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    batch = _batch_id(env)
    lines = done.stdout.splitlines()
    progress = [line for line in lines if line.startswith("progress ")]
    # one line per step and (interval 0) per connector batch read: rows, rows/s, batch id
    reading = [line for line in progress if line.startswith(f"progress {LABEL}: extract; ")]
    counts = [int(re.search(r"; ([\d,]+) rows read in", line).group(1).replace(",", ""))
              for line in reading]
    assert counts == [0, 25, 50, 75, 100, 120], progress
    assert all(re.search(r"[\d,]+ rows/s, \d+s, batch " + batch + "$", line)
               for line in reading[1:]), reading
    assert progress[-1].startswith(f"progress {LABEL}: loaded batch {batch}; 120 rows read")
    assert "\r" not in done.stdout and "\x1b[" not in done.stdout  # a log, not a screen
    # the accounting table follows, every identifier whole on one line
    table = lines[lines.index(progress[-1]) + 1:]
    row = next(line for line in table if batch in line)
    assert CODE in row and "monthly_enterprise_exports" in row and "enterprise" in row
    assert "…" not in "\n".join(table)


def test_run_on_a_terminal_shows_a_live_display(tmp_path):
    """A pseudo-terminal as stdout: rich draws and redraws the feed's line in place."""
    env = _workspace(tmp_path)
    env.update({"COLUMNS": "200", "LINES": "40", "TERM": "xterm-256color"})
    leader, follower = pty.openpty()
    process = subprocess.Popen([_huiju(), "run", "--department", CODE], env=env, cwd=tmp_path,
                               stdin=subprocess.DEVNULL, stdout=follower, stderr=follower,
                               close_fds=True)
    os.close(follower)
    output = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 300)
        if not ready:
            process.kill()
            raise AssertionError(f"no output for 300 s: {output[-2000:]!r}")
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
    os.close(leader)
    assert process.wait(timeout=60) == 0, output[-3000:]
    text = output.decode("utf-8", errors="replace")
    batch = _batch_id(env)
    assert "\x1b[" in text  # drawn with terminal controls: a live display
    assert "progress " + LABEL not in text  # not the piped lines
    assert f"{LABEL}: loaded batch {batch}; 120 rows read in 5 batches" in text
    assert "rows/s" in text
