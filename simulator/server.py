"""The simulator's HTTP server: the three receiving platforms on one socket.

A stdlib ``ThreadingHTTPServer`` rather than an ASGI app, because two of the faults need the
socket itself: a *dropped* connection (closed before processing) and a *lost response*
(processed, then closed) must reach the client as a real connection error, which an ASGI
server cannot produce on demand.

    with SimulatorServer(token="t0k", faults=FaultPlan(rate=0.1, seed=7)) as server:
        requests.post(f"{server.url}/api/creditchina/CF", json={"records": [...]}, ...)
        requests.get(f"{server.url}/_ledger/creditchina").json()
"""

from __future__ import annotations

import hmac
import importlib
import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from pydantic import ValidationError

from simulator.faults import FaultPlan, FaultStream
from simulator.leads import LeadFeed
from simulator.ledger import PlatformLedger
from simulator.models import BATCH_ADAPTER, MAX_BATCH
from simulator.openapi import build_openapi, feed_paths
from simulator.shapes import PLATFORMS, ResourceShape, load_shapes
from simulator.store import LedgerStore

__all__ = ["MAX_BODY_BYTES", "SimulatorServer"]

MAX_BODY_BYTES = 64 * 1024 * 1024   # a body above this is refused (413) without parsing
MAX_PAGE = 500                      # leads or tasks per page of the feeds
FEED_ROUTES = {"/api/national/leads": "leads", "/api/national/joint-tasks": "tasks"}


class SimulatorServer:
    """One simulator: a ledger and a fault stream per platform, served on ``host:port``
    (``port`` 0 takes a free one; read it back from ``url``)."""

    def __init__(self, *, token: str, host: str = "127.0.0.1", port: int = 0,
                 faults: FaultPlan | None = None, shapes_dir: Path | str | None = None,
                 feed: LeadFeed | None = None, ledger_path: Path | str | None = None,
                 verbose: bool = False) -> None:
        if not token:
            raise ValueError("the simulator needs a token")
        self.token = token
        self.host, self.port = host, port
        self.faults = faults or FaultPlan()
        self.verbose = verbose
        self.shapes: dict[str, dict[str, ResourceShape]] = load_shapes(shapes_dir)
        self.shape_file_resources = sum(len(r) for r in self.shapes.values())
        # the leads feed and what goes back to it (issue 13); a national shape file may
        # declare dispositions / joint-feedback itself, the feed's checks still apply
        self.feed = feed or LeadFeed(self.faults.seed)
        national = self.shapes["national"]
        for name, resource in self.feed.resources().items():
            national[name] = self.feed.attach(national[name]) if name in national else resource
        self.store = LedgerStore(ledger_path) if ledger_path else None
        self.ledgers = {name: PlatformLedger(name, self.store) for name in PLATFORMS}
        self.streams = {name: FaultStream(self.faults, name) for name in PLATFORMS}
        self.feed_stream = FaultStream(self.faults, "national-feed")
        self.openapi = json.dumps(build_openapi(self.shapes, feed_paths()),
                                  ensure_ascii=False).encode()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``http://host:port`` of the running server."""
        if self._server is None:
            raise RuntimeError("server not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def bind(self) -> SimulatorServer:
        """Open the listening socket (``url`` is known from here on)."""
        self._server = _Server((self.host, self.port), _handler(self))
        # the identifier rules (numpy) take seconds to import: load them while the first
        # requests, which rarely read the feeds, are already answered
        threading.Thread(target=importlib.import_module, args=("simulator.identifiers",),
                         daemon=True).start()
        return self

    def serve_forever(self) -> None:
        """Answer requests until ``stop`` (or KeyboardInterrupt)."""
        if self._server is None:
            self.bind()
        assert self._server is not None
        self._server.serve_forever()

    def start(self) -> SimulatorServer:
        """Serve in a background thread."""
        self.bind()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True,
                                        name="simulator")
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            if self._thread is not None:
                self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self.store is not None:
            self.store.close()
            self.store = None

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def authorised(self, header: str | None) -> bool:
        expected = f"Bearer {self.token}".encode()
        return header is not None and hmac.compare_digest(header.encode(), expected)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


class _Drop(Exception):
    """Close the connection without answering."""


def _handler(sim: SimulatorServer) -> type[BaseHTTPRequestHandler]:

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"   # keep-alive: clients reuse connections between batches
        server_version = "HuijuSimulator/1"

        def do_GET(self) -> None:
            self._answer(self._get)

        def do_POST(self) -> None:
            self._answer(self._post)

        def _answer(self, route) -> None:
            try:
                status, body, headers = route(urlparse(self.path))
            except _Drop:
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass   # the client hung up first: the connection is gone either way
                return
            payload = body if isinstance(body, bytes) else \
                json.dumps(body, ensure_ascii=False).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(payload)

        def _get(self, url) -> tuple[int, Any, dict[str, str] | None]:
            parts = url.path.strip("/").split("/")
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            if url.path == "/_health":
                return 200, {"status": "ok", "platforms": {
                    p: sorted(sim.shapes[p]) for p in PLATFORMS}}, None
            if url.path == "/openapi.json":
                return 200, sim.openapi, None
            if url.path == "/_feeds":
                return 200, sim.feed.status(), None
            if url.path in FEED_ROUTES:
                return self._feed(FEED_ROUTES[url.path], query)
            if len(parts) == 2 and parts[0] == "_ledger":
                ledger = sim.ledgers.get(parts[1])
                if ledger is None:
                    return 404, {"error": f"no platform {parts[1]!r}"}, None
                return 200, ledger.snapshot(record_id=query.get("record_id"),
                                            with_payload=query.get("payloads") == "1",
                                            with_records=query.get("records") != "0"), None
            return 404, {"error": f"no route GET {url.path}"}, None

        def _feed(self, kind: str, query: dict[str, str]
                  ) -> tuple[int, Any, dict[str, str] | None]:
            if not sim.authorised(self.headers.get("Authorization")):
                return 401, {"error": "missing or wrong bearer token"}, \
                    {"WWW-Authenticate": "Bearer"}
            cursor, limit = query.get("cursor") or "0", query.get("limit") or "100"
            if not cursor.isdigit() or not limit.isdigit() \
                    or not 1 <= int(limit) <= MAX_PAGE:
                return 400, {"error": f"cursor must be one this feed returned and limit "
                                      f"1..{MAX_PAGE}"}, None
            fault = sim.feed_stream.next()
            sim.feed.count_request(fault)
            status = self._fault_before(fault)
            if status is not None:
                return status
            page = sim.feed.page(kind, cursor, int(limit))
            if fault == "lost_response":
                raise _Drop
            return 200, page, None

        def _fault_before(self, fault: str | None
                          ) -> tuple[int, Any, dict[str, str] | None] | None:
            """The answer a fault gives instead of processing (None: go on processing)."""
            if fault == "dropped":
                raise _Drop
            if fault == "server_error":
                return 500, {"error": "internal server error (injected)"}, None
            if fault == "unavailable":
                return 503, {"error": "service unavailable (injected)"}, None
            if fault == "throttled":
                return 429, {"error": "too many requests (injected)"}, \
                    {"Retry-After": str(sim.faults.retry_after)}
            if fault == "slow":
                time.sleep(sim.faults.slow_seconds)
            return None

        def _publish(self, length: int) -> tuple[int, Any, dict[str, str] | None]:
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
                leads, tasks = int(body.get("leads", 0)), int(body.get("tasks", 0))
            except (ValueError, TypeError, AttributeError):
                return 400, {"error": 'body must be {"leads": n, "tasks": n}'}, None
            if leads < 0 or tasks < 0:
                return 400, {"error": "counts must not be negative"}, None
            return 200, sim.feed.publish(leads, tasks), None

        def _post(self, url) -> tuple[int, Any, dict[str, str] | None]:
            parts = url.path.strip("/").split("/")
            length = int(self.headers.get("Content-Length") or 0)
            if url.path == "/_feeds/publish":
                return self._publish(length)
            if len(parts) != 3 or parts[0] != "api":
                self._discard(length)
                return 404, {"error": f"no route POST {url.path}"}, None
            platform, resource_name = parts[1], parts[2]
            resource = sim.shapes.get(platform, {}).get(resource_name)
            if resource is None:
                self._discard(length)
                return 404, {"error": f"no resource {resource_name!r} on platform "
                                      f"{platform!r}"}, None
            if not sim.authorised(self.headers.get("Authorization")):
                self._discard(length)
                return 401, {"error": "missing or wrong bearer token"}, \
                    {"WWW-Authenticate": "Bearer"}
            if length > MAX_BODY_BYTES:
                self._discard(length)
                return 413, {"error": f"body of {length} bytes exceeds {MAX_BODY_BYTES}"}, None
            try:
                batch = BATCH_ADAPTER.validate_json(self.rfile.read(length))
            except ValidationError as error:
                details = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in error.errors()]
                if any(e["type"] == "too_long" and tuple(e["loc"]) == ("records",)
                       for e in error.errors()):
                    return 413, {"error": f"more than {MAX_BATCH} records in one batch"}, None
                return 400, {"error": "malformed batch", "details": details[:20]}, None
            fault = sim.streams[platform].next()
            sim.ledgers[platform].count_request(fault)
            if sim.verbose:
                sys.stderr.write(f"POST {url.path} {len(batch['records'])} records "
                                 f"fault={fault}\n")
            status = self._fault_before(fault)
            if status is not None:
                return status
            results = sim.ledgers[platform].receive(resource, batch["records"])
            if fault == "lost_response":
                raise _Drop
            return 200, {"results": results}, None

        def _discard(self, length: int) -> None:
            """Read and drop an unwanted body, so the client is not cut off mid-send."""
            while length > 0:
                chunk = self.rfile.read(min(length, 1 << 20))
                if not chunk:
                    break
                length -= len(chunk)

        def log_message(self, format: str, *args: object) -> None:
            if sim.verbose:
                sys.stderr.write(f"{self.address_string()} {format % args}\n")

    return Handler
