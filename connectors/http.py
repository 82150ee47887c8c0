"""HTTP sources: paginated JSON APIs (page, offset or cursor pagination), token auth from a
secret, retries with exponential backoff (honouring Retry-After), a client-side rate limit and
incremental reads through an ``updated_since`` parameter. See README.md, "HTTP"."""

from __future__ import annotations

import email.utils
import hashlib
import json
import time
from collections.abc import Iterator
from typing import Any, Literal

import pyarrow as pa
import requests
from pydantic import BaseModel, ConfigDict, Field

from connectors.base import Batch, ConnectorError, RowError, mask_url, resolve_secret, scrub
from connectors.files import cell_to_str

__all__ = ["HttpSource", "HttpSourceConfig", "json_path"]

_RETRY_STATUS = {429, 500, 502, 503, 504}


class HttpSourceConfig(BaseModel):
    """One paginated JSON endpoint."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(description="endpoint URL (no credentials in it)")
    name: str | None = Field(None, description="endpoint name in refs; default the URL path")
    token_secret: str | None = Field(None, description="NAME of the env var/Airflow conn with "
                                                       "the token")
    auth_header: str = "Authorization"
    auth_scheme: str = Field("Bearer", description="prefix before the token; '' for none")
    params: dict[str, str] = Field(default_factory=dict, description="fixed query parameters")
    pagination: Literal["page", "offset", "cursor"] = "page"
    page_param: str = "page"
    first_page: int = 1
    offset_param: str = "offset"
    size_param: str = "page_size"
    page_size: int = Field(100, gt=0)
    cursor_param: str = "cursor"
    records_path: str = Field("data", description="dot path to the list of records")
    next_cursor_path: str = Field("next_cursor", description="dot path to the next cursor")
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
    base_url_secret: str | None = Field(
        None, description="NAME of the env var/Airflow conn holding the base URL; `url` is "
                          "then a path under it (one file serves test and production)")
    flatten: bool = Field(False, description="nested objects become columns parent.child")
    match: dict[str, str] = Field(
        default_factory=dict,
        description="keep only records whose (flattened) fields have these values: the "
                    "endpoint serves several data sets, one feed each")
    keep_cursor: bool = Field(
        False, description="cursor pagination of an append-only feed: keep the last cursor "
                           "after the final page, so the next run reads only what is new")


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
                 session: requests.Session | None = None) -> None:
        """``token`` bypasses secret resolution (tests, tools)."""
        self.config = config
        self._token = token
        self._session = session or requests.Session()
        self._last_request = 0.0
        self.requests_sent = 0

    @property
    def _name(self) -> str:
        if self.config.name:
            return self.config.name
        return requests.utils.urlparse(self.config.url).path or self.config.url

    @property
    def _url(self) -> str:
        cfg = self.config
        if not cfg.base_url_secret:
            return cfg.url
        return resolve_secret(cfg.base_url_secret).rstrip("/") + "/" + cfg.url.lstrip("/")

    def _headers(self) -> dict[str, str]:
        token = self._token
        if token is None and self.config.token_secret:
            token = self._token = resolve_secret(self.config.token_secret)
        if not token:
            return {}
        scheme = f"{self.config.auth_scheme} " if self.config.auth_scheme else ""
        return {self.config.auth_header: scheme + token}

    def _get(self, params: dict[str, Any]) -> Any:
        cfg = self.config
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
                response = self._session.get(self._url, params={**cfg.params, **params},
                                             headers=headers, timeout=cfg.timeout)
            except (requests.ConnectionError, requests.Timeout) as error:
                problem = f"{type(error).__name__}: {error}"
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
        return ConnectorError(scrub(f"{self._name} ({mask_url(self.config.url)}): {message}",
                                    [self._token]))

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

    def read(self, state: dict | None) -> Iterator[Batch]:  # noqa: C901 - one loop over pages, caps and cursors
        """Yield a batch per page of records updated since the cursor."""
        cfg = self.config
        state = dict(state or {})
        since = state.get("updated_since")
        high = state.get("high_water", since)
        position = {k: state[k] for k in ("page", "offset", "cursor") if k in state}
        pages, previous = 0, None
        while True:
            document = self._get(self._page_params(position, since))
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
            next_cursor = json_path(document, cfg.next_cursor_path)
            last = (len(records) < cfg.page_size if cfg.pagination != "cursor"
                    else not next_cursor or not records)
            if cfg.pagination == "cursor" and not last and next_cursor == position.get("cursor"):
                raise self._error(f"pagination does not advance: {where} names itself as the "
                                  "next cursor")
            capped = not last and cfg.max_pages is not None and pages >= cfg.max_pages
            asked = position
            if cfg.pagination == "page":
                position = {"page": position.get("page", cfg.first_page) + 1}
            elif cfg.pagination == "offset":
                position = {"offset": position.get("offset", 0) + len(records)}
            else:
                position = {"cursor": next_cursor}
            if last and cfg.keep_cursor and cfg.pagination == "cursor":
                cursor = {"cursor": next_cursor or asked.get("cursor")}
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

    def _position_param(self) -> str:
        cfg = self.config
        return {"page": cfg.page_param, "offset": cfg.offset_param,
                "cursor": cfg.cursor_param}[cfg.pagination]

    def _where(self, position: dict) -> str:
        cfg = self.config
        if cfg.pagination == "page":
            return f"page={position.get('page', cfg.first_page)}"
        if cfg.pagination == "offset":
            return f"offset={position.get('offset', 0)}"
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
