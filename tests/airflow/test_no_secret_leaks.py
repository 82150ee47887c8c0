"""Secrets nowhere: the whole demo and every CLI command run with known secrets configured,
then every output, log, Airflow task log, exported or staged file and warehouse table is
scanned for them.

The warehouse URL carries a password (PostgreSQL here trusts local logins, so any password
connects), the department API and the platforms have tokens; none of them may appear anywhere
Huiju writes. A command added to the CLI must be added to ``COMMANDS`` (or to ``NOT_RUN`` with
the reason), so a new command cannot escape the scan.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from huiju.cli import build_parser
from huiju.demo.legacy.common import API_TOKEN

pytestmark = [pytest.mark.airflow, pytest.mark.postgres, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
WAREHOUSE_PASSWORD = "W4rehouse-S3cret-7781"
PLATFORM_TOKEN = "Pl4tform-T0ken-5512-secret"
USER_PASSWORD = "Us3r-Passw0rd-9931-secret"
SECRETS = (WAREHOUSE_PASSWORD, PLATFORM_TOKEN, API_TOKEN, USER_PASSWORD)

# Every command, with arguments that exercise it against the demo's warehouse; {out} is a
# folder for files a command writes.
COMMANDS: dict[str, list[list[str]]] = {
    "db": [["db", "current"], ["db", "upgrade"]],
    "dags": [["dags", "generate", "--check"]],
    "schema": [["schema", "list"]],
    "config": [["config", "check"]],
    "trace": [["trace", "行政处罚案件#案件编号=CF202400012"]],
    "verify": [["verify"]],
    "run": [["run", "--department", "LZ-SJJ"]],
    "reconcile": [["reconcile", "--department", "GS-SCJG"]],
    "validate": [["validate", "--department", "LZ-SJJ", "--dataset", "inspection",
                  "--out", "{out}/rejections.csv", "{drop}/水库检查_202411.csv"]],
    "quarantine": [["quarantine", "list"], ["quarantine", "export", "--out", "{out}/q.csv"]],
    "metrics": [["metrics"]],
    "alerts": [["alerts"]],
    "deliver": [["deliver"]],
    "demo": [],          # run first, as a whole (below)
    "expectations": [["expectations", "generate", "--check"]],
    "simulator": [],     # started by the demo with the platform token (scanned with it)
    "source": [["source", "check", "--department", "LZ-SJJ", "--sample", "5"]],
    "status": [["status"], ["status", "--format", "json"]],
    "leads": [["leads", "list", "--all"]],
    "users": [["users", "add", "auditor1", "--role", "auditor", "--password-stdin"],
              ["users", "list"]],
    "serve": [],         # a server: tests/browser drives it
}
NOT_RUN = {"demo": "run once as the first step", "simulator": "a server; the demo runs it",
           "serve": "a server; the browser tests drive it"}
STDIN = {"users add auditor1 --role auditor --password-stdin": USER_PASSWORD + "\n"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _leaks(text: str | bytes) -> list[str]:
    data = text.encode("utf-8", "replace") if isinstance(text, str) else text
    return [secret for secret in SECRETS if secret.encode() in data]


def test_every_command_is_scanned():
    parser = build_parser()
    commands = set(parser._subparsers._group_actions[0].choices)  # argparse has no public list
    assert commands == set(COMMANDS), "add the new command to COMMANDS (or NOT_RUN)"
    assert {name for name, runs in COMMANDS.items() if not runs} == set(NOT_RUN)


def test_no_secret_in_outputs_logs_files_or_tables(tmp_path, pg_url):
    url = sa.make_url(pg_url).set(password=WAREHOUSE_PASSWORD)
    secret_url = url.render_as_string(hide_password=False)
    assert WAREHOUSE_PASSWORD in secret_url
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HUIJU_", "AIRFLOW_", "AIRFLOW__"))}
    env.update({"COLUMNS": "200", "HUIJU_DEMO_SIMULATOR_TOKEN": PLATFORM_TOKEN,
                "HUIJU_LOG_FORMAT": "json"})
    huiju = str(Path(sys.executable).with_name("huiju"))
    home = tmp_path / "home"
    outputs: dict[str, str] = {}

    demo = subprocess.run([huiju, "demo", "--home", str(home), "--http-port", str(_free_port()),
                           "--url", secret_url], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=900, check=False)
    outputs["demo"] = demo.stdout + demo.stderr
    assert demo.returncode == 0, outputs["demo"][-4000:]

    env.update({"HUIJU_HOME": str(home), "HUIJU_WAREHOUSE_URL": secret_url,
                "HUIJU_DEPARTMENTS_DIR": str(home / "departments"),
                "HUIJU_SRC_GS_YJJ_API_TOKEN": API_TOKEN,
                "HUIJU_SRC_GS_SCJG_CASE_DB": f"sqlite:///{home}/var/legacy/gs_scjg_case.db",
                "HUIJU_PLATFORM_NATIONAL_TOKEN": PLATFORM_TOKEN,
                "HUIJU_NOTIFY": f"file:{tmp_path / 'out' / 'notify.jsonl'}"})
    out = tmp_path / "out"
    out.mkdir()
    values = {"out": str(out), "drop": str(home / "var" / "drop" / "lz_sjj")}
    for runs in COMMANDS.values():
        for args in runs:
            done = subprocess.run([huiju, *(a.format(**values) for a in args)], cwd=tmp_path,
                                  env=env, capture_output=True, text=True, timeout=600,
                                  check=False, input=STDIN.get(" ".join(args), ""))
            assert "Traceback" not in done.stderr, (args, done.stderr[-3000:])
            outputs[" ".join(args)] = done.stdout + done.stderr

    leaks = {what: _leaks(text) for what, text in outputs.items() if _leaks(text)}
    for path in [*home.rglob("*"), *tmp_path.joinpath("out").rglob("*")]:
        if path.is_file() and not path.is_symlink() and _leaks(path.read_bytes()):
            leaks[str(path.relative_to(tmp_path))] = _leaks(path.read_bytes())
    engine = sa.create_engine(pg_url)
    try:
        with engine.connect() as conn:
            tables = conn.execute(sa.text(
                "SELECT table_schema || '.' || table_name FROM information_schema.tables "
                "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')")).scalars().all()
            for table in tables:
                rows = conn.execute(sa.text(f"SELECT t::text FROM {table} t")).scalars()
                for row in rows:
                    if _leaks(row):
                        leaks[table] = _leaks(row)
                        break
    finally:
        engine.dispose()
    assert len(tables) > 20 and len(outputs) > len(COMMANDS)
    assert leaks == {}
