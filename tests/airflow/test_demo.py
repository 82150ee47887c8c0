"""`make demo`: the whole pipeline twice, in real Airflow, on the embedded store."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from huiju.departments import load_department

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]


def test_demo_runs_end_to_end_twice_and_proves_completeness(tmp_path):
    # a clean environment, as on a user's machine: nothing of this test session's settings
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HUIJU_", "AIRFLOW_", "AIRFLOW__"))}
    env["COLUMNS"] = "200"
    huiju = Path(sys.executable).with_name("huiju")
    # the license API on a port free now, not the shipped 8765: two suites on one host
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = subprocess.run([str(huiju), "demo", "--home", str(tmp_path), "--http-port", str(port)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "after run 2 it is identical to run 1" in out
    # every DAG of the three departments loaded a batch per feed, twice, and each agrees
    # with its raw rows and versions
    feeds = sum(len(list(load_department(path).feeds()))
                for path in (REPO / "departments").glob("*.yaml"))
    found = re.search(r"all (\d+) batches agree with their raw rows and versions", out)
    assert found and int(found.group(1)) == 2 * feeds, out
    # piped: each feed's progress as a plain line (rows read, rows/s, its batch) per run
    finished = re.findall(r"^progress (\S+ \S+ → \S+): loaded \d+, quarantined \d+, "
                          r"superseded \d+; [\d,]+ rows read in \d+ batches, [\d,]+ rows/s, "
                          r"\d+s, batch \d{13}$", done.stdout, re.MULTILINE)
    assert len(finished) == 2 * feeds and len(set(finished)) == feeds, out
    assert "\x1b[" not in done.stdout  # no terminal controls in a file
    # and the tables end readable: every identifier whole, no cell cut or folded
    rows = [line for line in done.stdout.splitlines() if line.startswith("│")]
    assert rows and not [line for line in rows if "…" in line], rows
    assert any("LZ-SJJ" in line and "drop_folder → inspection" in line
               and re.search(r"\b\d{13}\b", line) for line in rows), rows
    assert (tmp_path / "var" / "warehouse" / "huiju.db").exists()
    # the license feed read the API on that port (GS-YJJ's license batches balanced above)
    assert f"127.0.0.1:{port}/" in (tmp_path / "departments" / "gs_yjj.yaml").read_text(
        encoding="utf-8")
    # then delivered to the three platforms through injected faults: nothing missing or left
    delivered = re.search(r"all (\d+) versions due to (\d+) platform resources are "
                          r"acknowledged, rejected with a reason, withheld or pending", out)
    assert delivered and int(delivered.group(1)) > 0, out
    for platform in ("national", "gsxt", "creditchina"):
        assert f"huiju_deliver_{platform} success" in out
