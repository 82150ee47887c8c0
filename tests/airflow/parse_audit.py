"""Execute a DAG file under an audit hook and report any I/O it does at parse time.

Run as a script in a fresh interpreter (``python parse_audit.py DAG_FILE``) so the hook —
which cannot be removed once added — never outlives the check, and so every module the DAG
file imports (``huiju.dag_factory`` …) is imported for real inside the audited window.

Airflow itself is imported (and a throw-away DAG built, so Airflow's lazily loaded
configuration is in place) *before* the hook is armed: what is audited is the DAG file. It
prints one JSON object: the DAG ids the file defined and the violations, each an audit event
with its argument. Allowed: what Python's import system itself does — opening ``.py``/``.pyc``
files and listing directories on ``sys.path`` or package directories — and reading the
time-zone database (static system data, not configuration).
"""

from __future__ import annotations

import json
import os
import runpy
import sys
from pathlib import Path

FORBIDDEN = ("socket.connect", "socket.getaddrinfo", "sqlite3.connect", "subprocess.Popen",
             "os.system", "os.posix_spawn", "os.exec", "os.fork", "os.startfile")
CODE_SUFFIXES = (".py", ".pyc")


def _is_tz_data(path: str) -> bool:
    return "zoneinfo" in path or "/tzdata/" in path or path.endswith("/localtime")


def _is_import_dir(path: str) -> bool:
    """A directory the import system lists: on sys.path, a package, or a __pycache__."""
    real = os.path.realpath(path or ".")
    on_path = {os.path.realpath(p or ".") for p in sys.path}
    return (real in on_path or os.path.exists(os.path.join(real, "__init__.py"))
            or os.path.basename(real) == "__pycache__")


def main(dag_file: str) -> int:
    import airflow.sdk  # noqa: F401  (Airflow first, as the DAG processor has it)
    from airflow.sdk import DAG

    with DAG("warm_up", schedule=None):
        pass

    folder = str(Path(dag_file).resolve().parent)
    sys.path.insert(0, folder)  # the DAG processor puts the bundle (DAG folder) on sys.path
    violations: list[dict] = []
    armed = False

    def hook(event: str, args: tuple) -> None:
        if not armed:
            return
        if event == "open":
            target = args[0]
            if isinstance(target, int):  # an already-open descriptor
                return
            path = os.fsdecode(target)
            if path.endswith(CODE_SUFFIXES) or _is_tz_data(path):
                return
            violations.append({"event": event, "arg": path})
        elif event in ("os.listdir", "os.scandir"):
            path = os.fsdecode(args[0]) if args and args[0] is not None else "."
            if not isinstance(args[0], int) and not _is_import_dir(path):
                violations.append({"event": event, "arg": path})
        elif event.startswith(FORBIDDEN):
            violations.append({"event": event, "arg": repr(args)[:200]})

    sys.addaudithook(hook)
    armed = True
    try:
        namespace = runpy.run_path(dag_file, run_name="huiju_dag_file_under_audit")
    finally:
        armed = False
    dags = sorted(value.dag_id for value in namespace.values() if isinstance(value, DAG))
    sys.stdout.write(json.dumps({"dags": dags, "violations": violations}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
