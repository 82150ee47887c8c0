"""`make demo`: the whole pipeline twice, in real Airflow, on the embedded store."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

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
    # --serve: the report site as on a terminal (here on any free port) until interrupted
    demo = subprocess.Popen([str(huiju), "demo", "--home", str(tmp_path), "--http-port",
                             str(port), "--serve", "--reports-port", "0"], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(demo.stdout), daemon=True)
    reader.start()
    try:
        site = _site_url(demo, lines, timeout=600)
        _check_site(site, "\n".join(lines))
    finally:
        demo.send_signal(signal.SIGINT)  # Ctrl-C
        returncode = demo.wait(timeout=60)
        reader.join(timeout=10)
    out = "".join(lines)
    assert returncode == 0, out
    assert "report site stopped" in out, out[-2000:]
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
                          r"\d+s, batch \d{13}$", out, re.MULTILINE)
    assert len(finished) == 2 * feeds and len(set(finished)) == feeds, out
    assert "\x1b[" not in out  # no terminal controls in a file
    # and the tables end readable: every identifier whole, no cell cut or folded
    rows = [line for line in out.splitlines() if line.startswith("│")]
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


SITE = re.compile(r"Reports \(.*?\): (http://127\.0\.0\.1:\d+/) ")


def _site_url(demo: subprocess.Popen, lines: list[str], timeout: float) -> str:
    """The report site's URL the demo prints last, once it is serving."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := SITE.search("".join(lines)):
            return found.group(1)
        assert demo.poll() is None, "the demo ended without serving:\n" + "".join(lines)
        time.sleep(0.5)
    raise AssertionError("no report site URL within the time:\n" + "".join(lines))


def _log_in(site: str, username: str, password: str) -> requests.Session:
    session = requests.Session()
    form = session.get(site + "login", timeout=30).text
    token = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    answer = session.post(site + "login", data={"username": username, "password": password,
                                               "csrf": token}, timeout=30,
                          allow_redirects=False)
    assert answer.status_code == 303 and "failed" not in answer.headers["location"], username
    return session


def _check_site(site: str, out: str) -> None:
    """The printed logins work over HTTP and the pages hold the demo's data."""
    logins = dict(re.findall(r"^\s*│?\s*(auditor|gs-scjg)\s.*?(\S+)\s*│?\s*$", out, re.M))
    assert set(logins) == {"auditor", "gs-scjg"}, out[-3000:]
    auditor = _log_in(site, "auditor", logins["auditor"])
    cells = auditor.get(site + "api/audit/completeness", timeout=120).json()["cells"]
    # every sample department's data sets are there, with what the demo loaded
    departments = {c["department_code"] for c in cells}
    assert {"GS-SCJG", "LZ-SJJ", "GS-YJJ"} <= departments, departments
    assert sum(c["passed"] for c in cells) > 0 and not any(c["breaks"] for c in cells)
    page = auditor.get(site + "audit", timeout=120)
    assert page.status_code == 200 and "GS-SCJG" in page.text
    # a department login sees its own report and no other department's
    clerk = _log_in(site, "gs-scjg", logins["gs-scjg"])
    own = clerk.get(site + "api/departments/GS-SCJG/report", timeout=60)
    assert own.status_code == 200, own.text
    assert clerk.get(site + "api/departments/LZ-SJJ/report", timeout=60).status_code == 404
