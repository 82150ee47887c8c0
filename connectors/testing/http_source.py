"""A small local HTTP source: serves records as paginated JSON, with token auth and injectable
429/500 failures. Binds 127.0.0.1 on a free port; used by the tests and the demo.

    with HttpSourceServer(records, token="t0k", pagination="page") as server:
        HttpSource(HttpSourceConfig(url=server.url, ...), token="t0k")

Responses are ``{"data": {"list": [...], "total": n, "next_cursor": c, "next": link}}``.
Query parameters: ``page``/``page_size`` (page), ``offset``/``page_size`` (offset),
``cursor``/``page_size`` (cursor) or ``after``/``page_size`` (next: only the ``next`` link
says where the following page is); ``updated_since`` keeps records whose ``updated_at`` is
strictly greater.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs, quote, urlparse

__all__ = ["HttpSourceServer"]


class HttpSourceServer:
    """Serves ``records`` (a list of dicts) at ``/records`` until stopped.

    ``port`` 0 (the default) takes a free port. ``failures`` maps a request number (1-based,
    counting every request) to an HTTP status to answer instead (e.g. ``{2: 429, 3: 500}``);
    429 answers carry ``Retry-After: retry_after``. ``broken_paging`` makes a broken API:
    ``repeat`` ignores the position and answers the first page every time; ``endless`` answers
    every position with a full page of new records. ``headers`` are further request headers
    the server demands (401 otherwise). ``next_style`` shapes the ``next`` link: ``relative``
    (``/records?after=…``), ``absolute`` (``http://host:port/records?after=…``) or ``foreign``
    (a link to another host, which a client must refuse to follow).
    """

    def __init__(self, records: list[dict[str, Any]], *, token: str | None = None,
                 pagination: Literal["page", "offset", "cursor", "next"] = "page",
                 failures: dict[int, int] | None = None, retry_after: str = "1",
                 updated_field: str = "updated_at", port: int = 0,
                 broken_paging: Literal["repeat", "endless"] | None = None,
                 headers: dict[str, str] | None = None,
                 next_style: Literal["relative", "absolute", "foreign"] = "relative") -> None:
        self.records = records
        self.headers = {k.lower(): v for k, v in (headers or {}).items()}
        self.next_style = next_style
        self.broken_paging = broken_paging
        self.token = token
        self.pagination = pagination
        self.failures = dict(failures or {})
        self.retry_after = retry_after
        self.updated_field = updated_field
        self.port = port
        self.requests: list[tuple[int, str]] = []   # (status, path?query) per request
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The records endpoint."""
        if self._server is None:
            raise RuntimeError("server not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/records"

    def start(self) -> HttpSourceServer:
        """Serve on a free (or the given) port in a background thread."""
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Shut the server down and close its socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> HttpSourceServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def answer(self, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        """(status, extra headers, JSON body) for one GET; the request handler's logic."""
        with self._lock:
            number = len(self.requests) + 1
            status = self.failures.get(number)
            if status is None and self.token is not None \
                    and headers.get("authorization") != f"Bearer {self.token}":
                status = 401
            if status is None and any(headers.get(k) != v for k, v in self.headers.items()):
                status = 401
            if status is None and urlparse(path).path != "/records":
                status = 404
            self.requests.append((status or 200, path))
        if status == 429:
            return 429, {"Retry-After": self.retry_after}, {"error": "too many requests"}
        if status is not None:
            return status, {}, {"error": f"injected or refused ({status})"}
        query = {k: v[-1] for k, v in parse_qs(urlparse(path).query).items()}
        rows = self.records
        since = query.get("updated_since")
        if since:
            rows = [r for r in rows if str(r.get(self.updated_field, "")) > since]
        size = int(query.get("page_size", 100))
        if self.pagination == "page":
            start = (int(query.get("page", 1)) - 1) * size
        elif self.pagination == "offset":
            start = int(query.get("offset", 0))
        elif self.pagination == "next":
            start = int(query.get("after") or 0)
        else:
            start = int(query.get("cursor") or 0)
        if self.broken_paging == "repeat":
            start = 0
        chunk = rows[start:start + size]
        if self.broken_paging == "endless":
            chunk = [{"id": f"R{start + i}", "updated_at": "2025-01-01"} for i in range(size)]
            rows = [*rows, *chunk] * 2
        more = start + size < len(rows)
        next_cursor = str(start + size) if self.pagination == "cursor" and more else None
        link = self._next_link(start + size, size, since) \
            if self.pagination == "next" and more else None
        return 200, {}, {"data": {"list": chunk, "total": len(rows), "next_cursor": next_cursor,
                                  "next": link}}

    def _next_link(self, after: int, size: int, since: str | None) -> str:
        """The link to the page after ``after`` records, shaped by ``next_style``."""
        query = f"after={after}&page_size={size}"
        if since:
            query += f"&updated_since={quote(since)}"
        relative = f"/records?{query}"
        if self.next_style == "absolute":
            return self.url.removesuffix("/records") + relative
        if self.next_style == "foreign":
            return f"http://elsewhere.invalid{relative}"
        return relative

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, extra, body = server.answer(self.path, headers)
                payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                for key, value in extra.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                """Quiet: requests are recorded in ``server.requests``."""

        return Handler
