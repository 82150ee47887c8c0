"""The demo's report site: demo logins, then ``huiju serve``'s application on the demo warehouse.

After the pipeline the demo adds one department user per sample department, an auditor and an
admin, all with the fixed password :data:`DEMO_PASSWORD` (a demo on 127.0.0.1, never a
deployment: real users are added with ``huiju users add``, which reads the password from the
terminal). It prints the site's URL and these logins last; on a terminal it then serves the
site until Ctrl-C (``--no-serve`` or ``HUIJU_DEMO_SERVE=0`` for scripted use, ``--serve`` or
``HUIJU_DEMO_SERVE=1`` to serve without a terminal, as the demo's test does).
"""

from __future__ import annotations

import os
import secrets
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

DEMO_PASSWORD = "huiju-demo"  # the demo's published password, printed on purpose
REPORTS_PORT = 8766  # beside the demo's license API on 8765
SERVE_ENV = "HUIJU_DEMO_SERVE"


@dataclass(frozen=True)
class DemoLogin:
    """One demo user: name, role and department (a department user's)."""

    username: str
    role: str
    department: str | None = None


def demo_logins(departments_dir: Path) -> list[DemoLogin]:
    """A department user per department file (its code in lower case), an auditor, an admin."""
    from huiju.departments import load_department

    codes = sorted(load_department(path).code for path in departments_dir.glob("*.yaml"))
    return [*(DemoLogin(code.lower(), "department", code) for code in codes),
            DemoLogin("auditor", "auditor"), DemoLogin("admin", "admin")]


def add_demo_users(engine: sa.Engine, logins: list[DemoLogin]) -> None:
    """Add each demo login not there yet (a second demo in the same home keeps them)."""
    from reports.users import add_user, find_user

    for login in logins:
        if find_user(engine, login.username) is None:
            add_user(engine, username=login.username, password=DEMO_PASSWORD, role=login.role,
                     department=login.department, actor="huiju demo")


def should_serve(choice: bool | None) -> bool:
    """``--serve``/``--no-serve`` if given, else ``HUIJU_DEMO_SERVE``, else: on a terminal."""
    if choice is not None:
        return choice
    if (value := os.environ.get(SERVE_ENV, "").strip()) in ("0", "1"):
        return value == "1"
    return sys.stdout.isatty()


def bind(host: str, port: int) -> socket.socket:
    """The listening socket of the site (``port`` 0: a free one), bound before the URL is
    printed so the URL is the one that answers."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    """The site's address for a browser."""
    host, port = sock.getsockname()[:2]
    return f"http://{'[' + host + ']' if ':' in host else host}:{port}/"


def print_logins(console, url: str, logins: list[DemoLogin], *, serving: bool,
                 home: Path) -> None:
    """The demo's last lines: where the reports are, and who can log in."""
    from rich.table import Table

    grid = Table("login", "role", "sees", "password", title_justify="left",
                 title="Demo logins of the report site")
    for login in logins:
        sees = {"department": login.department, "auditor": "every department (read-only)",
                "admin": "users"}[login.role]
        grid.add_row(login.username, login.role, sees, DEMO_PASSWORD)
    console.print(grid)
    if serving:
        console.print(f"Reports (数据质量报告 / 完整性审计): {url}  — Ctrl-C stops the site")
    else:
        console.print(f"Reports: {url} (not started; serve it with "
                      f"`HUIJU_HOME={home} huiju serve --port {url.rsplit(':', 1)[1].strip('/')}`"
                      " or run `huiju demo --serve`)")


def serve(engine: sa.Engine, sock: socket.socket) -> None:
    """Serve the report application on ``sock`` until Ctrl-C (SIGINT) or SIGTERM."""
    import uvicorn

    from reports.app import create_app

    app = create_app(engine, secret=secrets.token_urlsafe(48), warm_view=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn re-raises the Ctrl-C it shut down on: that is the end
        pass
    finally:
        sock.close()
    sys.stdout.write("report site stopped\n")
