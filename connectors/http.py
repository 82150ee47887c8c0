"""HTTP sources: paginated JSON APIs (page, offset, cursor or ``next``-link pagination); the
base URL, the token and any other header may come from secrets; retries with exponential
backoff (honouring Retry-After), a client-side rate limit and incremental reads through an
``updated_since`` parameter. See README.md, "HTTP"."""

from __future__ import annotations

import email.utils
import hashlib
import json
import re
import time
from collections.abc import Iterator
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit

import pyarrow as pa
import requests
from pydantic import BaseModel, ConfigDict, Field, model_validator

from connectors.base import Batch, ConnectorError, RowError, mask_url, resolve_secret, scrub
from connectors.files import cell_to_str

__all__ = ["HttpSource", "HttpSourceConfig", "json_path"]

_RETRY_STATUS = {429, 500, 502, 503, 504}
_ERRNO = re.compile(r"\[Errno -?\d+\] ([^\"')]+)")


class HttpSourceConfig(BaseModel):
    """One paginated JSON endpoint."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(None, description="endpoint URL (no credentials in it); or give "
                                              "url_secret")
    url_secret: str | None = Field(None, description="NAME of the env var/Airflow conn holding "
                                                     "the API's base URL (resolved when read; "
                                                     "errors name the secret, never the URL)")
    path: str = Field("", description="appended to the base URL of url_secret (or to url), "
                                      "e.g. /records")
    header_secrets: dict[str, str] = Field(default_factory=dict, description="extra request "
                                           "headers: header name → NAME of the secret holding "
                                           "its value (e.g. X-Api-Key)")
    name: str | None = Field(None, description="endpoint name in refs; default the URL path")
    token_secret: str | None = Field(None, description="NAME of the env var/Airflow conn with "
                                                       "the token")
    auth_header: str = "Authorization"
    auth_scheme: str = Field("Bearer", description="prefix before the token; '' for none")
    params: dict[str, str] = Field(default_factory=dict, description="fixed query parameters")
    pagination: Literal["page", "offset", "cursor", "next"] = Field(
        "page", description="page: page number; offset: records skipped; cursor: a token "
                            "from each answer (next_cursor_path) sent back as cursor_param; "
                            "next: follow the URL each answer gives at next_link_path")
    page_param: str = Field("page", description="query parameter of the page number (page)")
    first_page: int = Field(1, description="number of the first page (page)")
    offset_param: str = Field("offset", description="query parameter of the offset (offset)")
    size_param: str = Field("page_size", description="query parameter of the page size")
    page_size: int = Field(100, gt=0, description="records asked for per page")
    cursor_param: str = Field("cursor", description="query parameter of the cursor (cursor)")
    records_path: str = Field("data", description="dot path to the list of records")
    next_cursor_path: str = Field("next_cursor", description="dot path to the next cursor")
    next_link_path: str = Field("next", description="dot path to the next page's URL (next); "
                                                    "absolute or relative to the endpoint, "
                                                    "on the endpoint's host")
    id_field: str | None = Field(None, description="record field used in refs")
    updated_since_param: str | None = Field(None, description="query parameter for increments")
    updated_field: str | None = Field(None, description="record field giving its update time")
    timeout: float = Field(30, gt=0, description="seconds per request")
    max_retries: int = Field(5, ge=0)
    backoff: float = Field(1.0, ge=0, description="first retry delay; doubles each retry")
    max_backoff: float = Field(60, ge=0, description="cap on any one wait, Retry-After included")
    rate_limit: float | None = Field(None, gt=0, description="requests per second at most")
    max_pages: int | None = Field(1000, gt=0, description="pages read per run at most; the "
                                                          "next run goes on from there")
    flatten: bool = Field(False, description="nested objects become columns parent.child")
    match: dict[str, str] = Field(
        default_factory=dict,
        description="keep only records whose (flattened) fields have these values: the "
                    "endpoint serves several data sets, one feed each")
    keep_cursor: bool = Field(
        False, description="cursor pagination of an append-only feed: keep the last cursor "
                           "after the final page, so the next run reads only what is new")

    @model_validator(mode="after")
    def _one_address(self) -> HttpSourceConfig:
        if (self.url is None) == (self.url_secret is None):
            raise ValueError("give exactly one of url and url_secret")
        return self


def json_path(document: Any, path: str) -> Any:
    """Follow a dot path (``data.list``; digits index lists); ``None`` when absent."""
    for part in [p for p in path.split(".") if p]:
        if isinstance(document, dict):
            document = document.get(part)
        elif isinstance(document, list) and part.isdigit() and int(part) < len(document):
            document = document[int(part)]
        else:
            return None
    return document


class HttpSource:
    """Reads one endpoint page by page; each page is one batch.

    State: ``{"updated_since": v}`` between runs, plus the position (``page``, ``offset`` or
    ``cursor``) and the run's ``high_water`` while a run is under way.
    """

    def __init__(self, config: HttpSourceConfig, token: str | None = None,
                 session: requests.Session | None = None, base_url: str | None = None) -> None:
        """``token`` and ``base_url`` bypass secret resolution (tests, tools)."""
        self.config = config
        self._token = token
        self._base = base_url
        self._extra: dict[str, str] | None = None
        # every resolved secret value (and the secret host's name): scrubbed from each message
        self._secrets: list[str | None] = [token]
        self._session = session or requests.Session()
        self._last_request = 0.0
        self.requests_sent = 0

    @property
    def _name(self) -> str:
        cfg = self.config
        if cfg.name:
            return cfg.name
        if cfg.url is not None:
            return urlsplit(cfg.url).path or cfg.url
        return cfg.path or str(cfg.url_secret)

    def _endpoint(self) -> str:
        """The endpoint URL: ``url`` or the base URL of ``url_secret``, plus ``path``."""
        cfg = self.config
        base = cfg.url
        if base is None:
            if self._base is None:
                self._base = resolve_secret(str(cfg.url_secret))
            base = self._base
            parts = urlsplit(base)
            self._secrets += [base, parts.netloc, parts.hostname]
        if not cfg.path:
            return base
        return base.rstrip("/") + "/" + cfg.path.lstrip("/")

    def _network_problem(self, error: Exception) -> str:
        """A failed connection in words; for a secret address only the cause (requests' text
        spells out the host and port, which are part of the secret)."""
        if self.config.url is not None:
            return f"{type(error).__name__}: {error}"
        cause = _ERRNO.search(str(error))
        return f"{type(error).__name__}: {cause.group(1) if cause else 'cannot connect'}"

    def _shown(self) -> str:
        """The endpoint as messages show it: the masked URL, or the secret's name."""
        cfg = self.config
        if cfg.url is not None:
            return mask_url(cfg.url + (cfg.path or ""))
        return f"URL from secret {cfg.url_secret!r}{cfg.path}"

    def _headers(self) -> dict[str, str]:
        cfg = self.config
        if self._extra is None:   # resolved once, late (on the first request)
            self._extra = {header: resolve_secret(secret)
                           for header, secret in cfg.header_secrets.items()}
            self._secrets += self._extra.values()
        headers = dict(self._extra)
        token = self._token
        if token is None and cfg.token_secret:
            token = self._token = resolve_secret(cfg.token_secret)
            self._secrets.append(token)
        if token:
            scheme = f"{cfg.auth_scheme} " if cfg.auth_scheme else ""
            headers[cfg.auth_header] = scheme + token
        return headers

    def _get(self, params: dict[str, Any], link: str | None = None) -> Any:
        """GET the endpoint with ``params`` (or a ``next`` ``link`` as given) and parse JSON."""
        cfg = self.config
        url = self._endpoint() if link is None else link
        query = {**cfg.params, **params} if link is None else None
        headers = self._headers()
        for attempt in range(cfg.max_retries + 1):
            if cfg.rate_limit:
                wait = self._last_request + 1 / cfg.rate_limit - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
            self._last_request = time.monotonic()
            self.requests_sent += 1
            delay = min(cfg.backoff * 2**attempt, cfg.max_backoff)
            try:
                response = self._session.get(url, params=query, headers=headers,
                                             timeout=cfg.timeout)
            except (requests.ConnectionError, requests.Timeout) as error:
                problem = self._network_problem(error)
            else:
                if response.status_code in (401, 403):
                    raise self._error(f"authentication refused (HTTP {response.status_code}); "
                                      f"check secret {cfg.token_secret!r}")
                if response.status_code not in _RETRY_STATUS:
                    if response.status_code >= 400:
                        raise self._error(f"HTTP {response.status_code}: "
                                          f"{response.text[:200]}")
                    try:
                        return response.json()
                    except ValueError as error:
                        raise self._error(f"response is not JSON: {error}") from None
                problem = f"HTTP {response.status_code}"
                delay = retry_after_seconds(response.headers.get("Retry-After"), delay,
                                            cfg.max_backoff)
            if attempt == cfg.max_retries:
                raise self._error(f"giving up after {attempt + 1} attempts: {problem}")
            time.sleep(delay)
        raise AssertionError("unreachable")

    def _error(self, message: str) -> ConnectorError:
        return ConnectorError(scrub(f"{self._name} ({self._shown()}): {message}",
                                    sorted(filter(None, self._secrets), key=len, reverse=True)))

    def check(self) -> None:
        """Fetch one record; raise ConnectorError when the API cannot be reached or read."""
        params = self._page_params({}, None)
        params[self.config.size_param] = 1
        records = json_path(self._get(params), self.config.records_path)
        if records is not None and not isinstance(records, list):
            raise self._error(f"no list of records at {self.config.records_path!r}")

    def _page_params(self, position: dict, since: Any) -> dict[str, Any]:
        cfg = self.config
        params: dict[str, Any] = {cfg.size_param: cfg.page_size}
        if cfg.pagination == "page":
            params[cfg.page_param] = position.get("page", cfg.first_page)
        elif cfg.pagination == "offset":
            params[cfg.offset_param] = position.get("offset", 0)
        elif position.get("cursor") is not None:
            params[cfg.cursor_param] = position["cursor"]
        if since is not None and cfg.updated_since_param:
            params[cfg.updated_since_param] = since
        return params

    def read(self, state: dict | None) -> Iterator[Batch]:
        """Yield a batch per page of records updated since the cursor."""
        cfg = self.config
        state = dict(state or {})
        since = state.get("updated_since")
        high = state.get("high_water", since)
        position = {k: state[k] for k in ("page", "offset", "cursor", "next") if k in state}
        pages, previous = 0, None
        while True:
            link = position.get("next")
            document = self._get(self._page_params(position, since),
                                 urljoin(self._endpoint(), link) if link else None)
            records = json_path(document, cfg.records_path)
            if records is None:
                records = []
            if not isinstance(records, list):
                raise self._error(f"no list of records at {cfg.records_path!r}")
            where = self._where(position)
            # An API that ignores the position answers the same page for ever: stop loudly
            # rather than read (and hold) it again and again.
            digest = hashlib.sha256(json.dumps(records, sort_keys=True, default=str)
                                    .encode()).hexdigest() if records else None
            if digest is not None and digest == previous:
                raise self._error(f"pagination does not advance: {where} returned the same "
                                  f"{len(records)} records as the page before (check "
                                  f"pagination / {self._position_param()})")
            previous = digest
            pages += 1
            rows = [(i, _flat(r) if cfg.flatten else r) for i, r in enumerate(records)
                    if isinstance(r, dict)]
            if cfg.match:  # the records of the endpoint's other feeds are theirs to count
                rows = [(i, r) for i, r in rows
                        if all(cell_to_str(r.get(k)) == v for k, v in cfg.match.items())]
            if cfg.updated_field:
                stamps = [str(r[cfg.updated_field]) for _, r in rows
                          if r.get(cfg.updated_field) is not None]
                if stamps:
                    high = max([high, *stamps]) if high is not None else max(stamps)
            following, last = self._advance(position, records, document, where)
            capped = not last and cfg.max_pages is not None and pages >= cfg.max_pages
            asked, position = position, following
            if last and cfg.keep_cursor and cfg.pagination == "cursor":
                cursor = {"cursor": position.get("cursor") or asked.get("cursor")}
            elif last:
                cursor = {"updated_since": high} if cfg.updated_since_param else None
            else:
                cursor = {**position, "updated_since": since, "high_water": high}
            errors = [RowError(f"{self._name}#{where}/{i}", "record is not a JSON object",
                               json.dumps(r, ensure_ascii=False))
                      for i, r in enumerate(records) if not isinstance(r, dict)]
            batch = self._batch(rows, where, cursor, errors)
            if capped:
                batch.warnings.append(f"{self._name}: page cap reached ({cfg.max_pages} pages "
                                      "this run); the next run goes on from "
                                      f"{self._where(position)}")
            yield batch
            if last or capped:
                return

    def _advance(self, position: dict, records: list, document: Any,
                 where: str) -> tuple[dict, bool]:
        """The position after this page, and whether this page was the last."""
        cfg = self.config
        if cfg.pagination == "page":
            following = {"page": position.get("page", cfg.first_page) + 1}
            return following, len(records) < cfg.page_size
        if cfg.pagination == "offset":
            return {"offset": position.get("offset", 0) + len(records)}, \
                len(records) < cfg.page_size
        key, found = (("cursor", json_path(document, cfg.next_cursor_path))
                      if cfg.pagination == "cursor"
                      else ("next", json_path(document, cfg.next_link_path)))
        last = not found or not records
        if not last and key == "next":
            found = self._relative_link(str(found))
        if not last and found == position.get(key):
            raise self._error(f"pagination does not advance: {where} names itself as the "
                              f"next {'cursor' if key == 'cursor' else 'page'}")
        return {key: found}, last

    def _relative_link(self, link: str) -> str:
        """A ``next`` link as kept in the state: path and query on the endpoint's host.

        A link to another host is refused: the token (and the secret base URL) must never go
        to a host the department did not name.
        """
        endpoint = urlsplit(self._endpoint())
        target = urlsplit(urljoin(self._endpoint(), link))
        if (target.scheme, target.netloc) != (endpoint.scheme, endpoint.netloc):
            raise self._error(f"the next link leads to another host ({target.scheme}://"
                              f"{target.hostname}); refused, the token is not sent there")
        return target.path + (f"?{target.query}" if target.query else "")

    def _position_param(self) -> str:
        cfg = self.config
        return {"page": cfg.page_param, "offset": cfg.offset_param,
                "cursor": cfg.cursor_param, "next": cfg.next_link_path}[cfg.pagination]

    def _where(self, position: dict) -> str:
        cfg = self.config
        if cfg.pagination == "page":
            return f"page={position.get('page', cfg.first_page)}"
        if cfg.pagination == "offset":
            return f"offset={position.get('offset', 0)}"
        if cfg.pagination == "next":
            return f"next={position.get('next') or '(first page)'}"
        return f"cursor={position.get('cursor') or ''}"

    def _batch(self, numbered: list[tuple[int, dict]], where: str, cursor: dict | None,
               errors: list[RowError]) -> Batch:
        rows = [r for _, r in numbered]
        header: dict[str, None] = {}
        for row in rows:
            header.update(dict.fromkeys(row))
        columns = {k: pa.array([cell_to_str(r.get(k)) for r in rows], type=pa.string())
                   for k in header}
        table = pa.table(columns) if columns else pa.table({})
        if self.config.id_field:
            refs = [f"{self._name}#{r.get(self.config.id_field)}" for r in rows]
        else:
            refs = [f"{self._name}#{where}/{i}" for i, _ in numbered]
        return Batch(table=table, refs=refs, cursor=cursor, errors=errors)


def _flat(record: dict, prefix: str = "") -> dict:
    """``{"a": {"b": 1}}`` → ``{"a.b": 1}``; lists stay values."""
    flat: dict = {}
    for key, value in record.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def retry_after_seconds(header: str | None, default: float, cap: float) -> float:
    """Seconds to wait from a Retry-After header (delta seconds or an HTTP date)."""
    if not header:
        return default
    try:
        seconds = float(header)
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(header)
        except (TypeError, ValueError):
            return default
        seconds = parsed.timestamp() - time.time()
    return min(max(seconds, 0.0), cap)
