"""Failure notifications for Huiju's Airflow tasks.

``HuijuNotifier`` is an Airflow ``BaseNotifier``; the DAG factory sets it as every task's
``on_failure_callback``, so it fires in the worker once a task has failed for good (after
its retries). Where the message goes is chosen by the environment variable ``HUIJU_NOTIFY``,
read when the notification is sent — never when a DAG file is parsed:

| HUIJU_NOTIFY | destination |
|---|---|
| ``log`` (default) | an ERROR record on the ``huiju.notify`` logger (the task log) |
| ``webhook:<VAR>`` | HTTP POST of the JSON message to the URL in environment variable ``<VAR>`` |
| ``file:<path>`` | one JSON line appended to ``<path>`` |

The webhook URL is a secret (it usually embeds a token): it is named, resolved late and
never logged.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from airflow.sdk import BaseNotifier

log = logging.getLogger("huiju.notify")

ENV_VAR = "HUIJU_NOTIFY"
WEBHOOK_TIMEOUT_SECONDS = 10
MAX_ERROR_CHARS = 2000


@dataclass(frozen=True)
class Destination:
    """Where a notification goes: ``kind`` is log, webhook or file; ``target`` its argument."""

    kind: str
    target: str = ""


def parse_destination(spec: str | None) -> Destination:
    """Read a ``HUIJU_NOTIFY`` value; raise ``ValueError`` naming what is wrong."""
    spec = (spec or "log").strip()
    kind, _, target = spec.partition(":")
    if kind == "log" and not target:
        return Destination("log")
    if kind in ("webhook", "file") and target.strip():
        return Destination(kind, target.strip())
    raise ValueError(
        f"{ENV_VAR}={spec!r} is not one of: log | webhook:<env var holding the URL> | file:<path>")


def failure_message(context: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON-serialisable facts of a failed task, from its Airflow context."""
    ti = context.get("ti") or context.get("task_instance")
    dag = context.get("dag")
    dag_run = context.get("dag_run")
    error = context.get("exception")
    params = context.get("params") or {}
    return {
        "event": "task_failed",
        "at": datetime.now(UTC).isoformat(),
        "dag_id": getattr(dag, "dag_id", None) or getattr(ti, "dag_id", None),
        "department_code": params.get("department_code") if hasattr(params, "get") else None,
        "task_id": getattr(ti, "task_id", None),
        "map_index": getattr(ti, "map_index", None),
        "try_number": getattr(ti, "try_number", None),
        "run_id": context.get("run_id") or getattr(dag_run, "run_id", None),
        "run_type": _text(getattr(dag_run, "run_type", None)),
        "error_type": type(error).__name__ if error is not None else None,
        "error": str(error)[:MAX_ERROR_CHARS] if error is not None else None,
    }


def _text(value: Any) -> str | None:
    """An enum's value (``DagRunType.MANUAL`` → ``manual``), else the text, else None."""
    value = getattr(value, "value", value)
    return str(value) if value not in (None, "") else None


class HuijuNotifier(BaseNotifier):
    """Send a task-failure message to the destination named by ``HUIJU_NOTIFY``.

    ``destination`` overrides the environment (tests, or a DAG that must always page).
    """

    template_fields = ()

    def __init__(self, destination: str | None = None):
        super().__init__()
        self.destination = destination

    def notify(self, context: Any) -> None:
        """Deliver the message; a broken destination raises (Airflow logs it in the task log)."""
        send(failure_message(context), self.destination)


def send(message: dict[str, Any], destination: str | None = None) -> None:
    """Deliver one JSON message to ``destination`` (default: ``HUIJU_NOTIFY``); resident ID
    numbers in its text values are masked (a failed task's error may quote a record)."""
    from huiju.jsonlog import mask_personal

    message = {key: mask_personal(value) if isinstance(value, str) else value
               for key, value in message.items()}
    where = parse_destination(destination or os.environ.get(ENV_VAR))
    if where.kind == "log":
        log.error("Huiju %s: %s", message.get("event", "notification"),
                  json.dumps(message, ensure_ascii=False))
    elif where.kind == "file":
        path = Path(where.target)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(message, ensure_ascii=False) + "\n")
    else:
        _post_webhook(where.target, message)


def _post_webhook(url_variable: str, message: dict[str, Any]) -> None:
    import requests

    url = os.environ.get(url_variable)
    if not url:
        raise ValueError(f"{ENV_VAR} names webhook variable {url_variable}, which is not set")
    response = requests.post(url, json=message, timeout=WEBHOOK_TIMEOUT_SECONDS)
    if response.status_code >= 400:
        # Say which variable, never the URL: it usually carries a token.
        raise RuntimeError(
            f"webhook from {url_variable} answered HTTP {response.status_code}")
