"""HuijuNotifier destinations: log, file (JSON lines) and webhook (a real local HTTP server)."""

from __future__ import annotations

import json
import logging
import threading
import types
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

pytestmark = pytest.mark.airflow


def _context() -> dict:
    ti = types.SimpleNamespace(dag_id="huiju_gs_scjg", task_id="penalty.extract_case_db",
                               map_index=0, try_number=3)
    run = types.SimpleNamespace(run_id="scheduled__2024-03-01", run_type="scheduled")
    return {"ti": ti, "dag_run": run, "run_id": run.run_id,
            "params": {"department_code": "GS-SCJG"},
            "exception": ConnectionError("案件库 connection refused")}


@pytest.fixture
def webhook():
    """A local HTTP endpoint recording JSON bodies; answers with ``status`` (default 204)."""
    received: list[dict] = []
    state = {"status": 204}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"path": self.path, "json": json.loads(body)})
            self.send_response(state["status"])
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook?token=s3cret-token", received, state
    server.shutdown()
    server.server_close()


def test_destinations_are_parsed_strictly():
    from huiju.notify import Destination, parse_destination

    assert parse_destination(None) == Destination("log")
    assert parse_destination("webhook:OPS_HOOK") == Destination("webhook", "OPS_HOOK")
    assert parse_destination("file:/var/log/huiju.jsonl") == Destination(
        "file", "/var/log/huiju.jsonl")
    for bad in ("mail:ops@example.org", "webhook:", "file", "log:x"):
        with pytest.raises(ValueError, match="HUIJU_NOTIFY"):
            parse_destination(bad)


def test_log_destination_is_the_default(monkeypatch, caplog):
    from huiju.notify import HuijuNotifier

    monkeypatch.delenv("HUIJU_NOTIFY", raising=False)
    with caplog.at_level(logging.ERROR, logger="huiju.notify"):
        HuijuNotifier()(_context())
    [record] = [r for r in caplog.records if r.name == "huiju.notify"]
    assert "penalty.extract_case_db" in record.getMessage()
    assert "案件库 connection refused" in record.getMessage()


def test_file_destination_appends_json_lines(monkeypatch, tmp_path):
    from huiju.notify import HuijuNotifier

    target = tmp_path / "alerts" / "failures.jsonl"
    monkeypatch.setenv("HUIJU_NOTIFY", f"file:{target}")
    HuijuNotifier()(_context())
    HuijuNotifier()(_context())
    lines = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 2
    assert lines[0] | {"at": None} == {
        "event": "task_failed", "at": None, "dag_id": "huiju_gs_scjg",
        "department_code": "GS-SCJG", "task_id": "penalty.extract_case_db", "map_index": 0,
        "try_number": 3, "run_id": "scheduled__2024-03-01", "run_type": "scheduled",
        "error_type": "ConnectionError", "error": "案件库 connection refused"}


def test_webhook_posts_json_to_the_named_url(monkeypatch, webhook):
    from huiju.notify import HuijuNotifier

    url, received, _ = webhook
    monkeypatch.setenv("HUIJU_OPS_WEBHOOK", url)
    monkeypatch.setenv("HUIJU_NOTIFY", "webhook:HUIJU_OPS_WEBHOOK")
    HuijuNotifier()(_context())
    [request] = received
    assert request["path"] == "/hook?token=s3cret-token"
    assert request["json"]["task_id"] == "penalty.extract_case_db"


def test_webhook_errors_never_reveal_the_url(monkeypatch, webhook):
    from huiju.notify import HuijuNotifier

    url, _, state = webhook
    state["status"] = 500
    monkeypatch.setenv("HUIJU_OPS_WEBHOOK", url)
    with pytest.raises(RuntimeError) as error:
        HuijuNotifier("webhook:HUIJU_OPS_WEBHOOK").notify(_context())
    assert "HUIJU_OPS_WEBHOOK" in str(error.value) and "500" in str(error.value)
    assert "s3cret" not in str(error.value) and "127.0.0.1" not in str(error.value)

    monkeypatch.delenv("HUIJU_OPS_WEBHOOK")
    with pytest.raises(ValueError, match=r"HUIJU_OPS_WEBHOOK.*not set"):
        HuijuNotifier("webhook:HUIJU_OPS_WEBHOOK").notify(_context())
