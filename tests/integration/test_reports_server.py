"""The report application as deployed: `huiju users add`, `huiju serve` as a real process, and
on PostgreSQL reading through a read-only (auditor) login that cannot write."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
import uuid

import pytest
import requests
import sqlalchemy as sa

from huiju.cli import main
from reports import quality
from reports.users import add_user
from tests.browser import sample
from tests.browser.conftest import SECRET, free_port, http_session, serve
from warehouse import roles
from warehouse.engine import create_warehouse_engine
from warehouse.migrate import upgrade


@pytest.fixture
def sqlite_url(tmp_path):
    url = f"sqlite:///{tmp_path}/warehouse/huiju.db"
    engine = create_warehouse_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


def test_users_add_hashes_the_password_and_logs_who_did_it(sqlite_url, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("a long enough password\n"))
    assert main(["users", "add", "clerk", "--role", "department", "--department", sample.A,
                 "--password-stdin", "--url", sqlite_url]) == 0
    assert f"added department clerk of {sample.A}" in capsys.readouterr().out
    monkeypatch.setattr(sys, "stdin", io.StringIO("a long enough password\n"))
    assert main(["users", "add", "boss", "--role", "department", "--password-stdin",
                 "--url", sqlite_url]) == 2  # a department user without a department
    assert "needs --department" in capsys.readouterr().err
    engine = create_warehouse_engine(sqlite_url)
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT password_hash FROM audit.app_user")).scalar_one()
        actor, target = conn.execute(sa.text("SELECT actor, target FROM audit.action")).one()
    engine.dispose()
    assert stored.startswith("scrypt$") and "a long enough password" not in stored
    assert actor.startswith("os:") and target == "user:clerk"
    assert main(["users", "list", "--url", sqlite_url]) == 0
    assert f"clerk\tdepartment\t{sample.A}\tactive" in capsys.readouterr().out


def test_huiju_serve_runs_the_app_behind_a_login(sqlite_url):
    port = free_port()
    env = {**os.environ, "HUIJU_REPORTS_SECRET": SECRET}
    server = subprocess.Popen(
        [sys.executable, "-m", "huiju.cli", "serve", "--port", str(port), "--url", sqlite_url],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                answer = requests.get(base + "/", allow_redirects=False, timeout=5)
                break
            except requests.ConnectionError:
                assert server.poll() is None and time.monotonic() < deadline, "did not start"
                time.sleep(0.2)
        assert answer.status_code == 303 and answer.headers["location"] == "/login"
        login = requests.get(base + "/login", timeout=5)
        assert login.status_code == 200 and "密码" in login.text
        assert "frame-ancestors 'none'" in login.headers["content-security-policy"]
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/" in out and SECRET not in out


@pytest.mark.postgres
def test_on_postgres_the_app_reads_through_a_read_only_login(pg_url):
    owner = create_warehouse_engine(pg_url)
    upgrade(owner)
    sample.build(owner)
    app_role, reader_role = (f"huiju_test_{uuid.uuid4().hex[:10]}" for _ in range(2))
    with owner.begin() as conn:
        roles.add_login(conn, app_role, roles.AUDITOR)
        roles.add_department_reader(conn, reader_role, sample.A)
    reading = create_warehouse_engine(sa.make_url(pg_url).set(username=app_role))
    reader = create_warehouse_engine(sa.make_url(pg_url).set(username=reader_role))
    try:
        from reports.app import create_app

        server, thread = serve(create_app(reading, secret=SECRET), port := free_port())
        try:
            base = f"http://127.0.0.1:{port}"
            clerk = http_session(base, "clerk_a")
            api = clerk.get(f"{base}/api/departments/{sample.A}/report").json()
            with owner.connect() as conn:
                expected = quality.report(conn, sample.A)
            assert [d["passed"] for d in api["datasets"]] == \
                [d["passed"] for d in expected.datasets]
            assert clerk.get(f"{base}/api/departments/{sample.B}/report").status_code == 404
            auditor = http_session(base, "auditor")
            assert sample.B in auditor.get(f"{base}/audit").text
        finally:
            server.should_exit = True
            thread.join(timeout=10)
        # the application's login cannot write, not even its own users
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            add_user(reading, username="intruder", password="x" * 12, role="auditor",
                     department=None, actor="web:intruder")
        # a department's reader login sees its department only, through row-level security
        with reader.connect() as conn:
            assert quality.runs(conn, sample.B) == []
            assert [r["batch_id"] for r in quality.runs(conn, sample.A)] == list(sample.A_RUNS)
    finally:
        reading.dispose()
        reader.dispose()
        with owner.begin() as conn:
            for name in (app_role, reader_role):
                conn.exec_driver_sql(f'DROP OWNED BY "{name}"')
                conn.exec_driver_sql(f'DROP ROLE "{name}"')
        owner.dispose()
