"""Clients of the receiving platforms: one HTTP implementation of :class:`Destination`.

``national`` (国家互联网+监管系统), ``gsxt`` (国家企业信用信息公示系统(甘肃)) and
``creditchina`` (信用中国(甘肃)) speak the same protocol: ``POST {url}/api/{platform}/{resource}``
with ``{"records": [{"key", "record_id", "operation", "payload"}]}`` (at most ``batch_size``),
answered with one result per record in order. A client knows nothing of the outbox; it sends
what it is given and says what the platform answered (see README.md, "Platforms").

- a ``requests`` session, with connect and read timeouts;
- retries with exponential backoff and full jitter, honouring ``Retry-After``: on a dropped
  connection, a timeout, 5xx, 408 and 429. Re-sending a batch is safe because every record
  carries its idempotency key: a batch processed whose response was lost comes back
  ``duplicate``, which counts as success;
- a token-bucket rate limit and a daily quota (records per day, China time) per endpoint;
- the base URL from ``HUIJU_PLATFORM_<NAME>_URL`` and the token from the secret named
  ``HUIJU_PLATFORM_<NAME>_TOKEN`` (environment variable or Airflow connection), resolved when
  first needed and never written into an error message.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

import requests

from connectors.base import ConnectorError, Delivered, resolve_secret, scrub
from connectors.http import retry_after_seconds
from schemas.platforms.model import PLATFORM_NAMES as PLATFORMS

__all__ = ["PLATFORMS", "DailyQuota", "DeliveryError", "PlatformClient", "PlatformConfig",
           "QuotaExhausted", "TokenBucket"]

STATUSES = ("accepted", "duplicate", "rejected")
_RETRY_STATUS = {408, 429, 500, 502, 503, 504}
# The platforms count their day in China time.
PLATFORM_DAY = ZoneInfo("Asia/Shanghai")


class DeliveryError(ConnectorError):
    """A batch could not be delivered (after retries, or refused outright); nothing about its
    records is known. The message names the platform and resource, never the token."""


class QuotaExhausted(DeliveryError):
    """The endpoint's daily quota is used up: the rest waits for tomorrow."""


@dataclass(frozen=True)
class PlatformConfig:
    """How to reach one platform and how hard to push it."""

    name: str
    url: str
    token_secret: str
    batch_size: int = 500  # records per request (the platforms refuse more than 500)
    rate_per_second: float = 20.0  # requests per second per endpoint, on average …
    burst: int = 20  # … and at most this many at once
    daily_quota: int | None = None  # records per endpoint per day
    connect_timeout: float = 5.0
    read_timeout: float = 60.0
    max_attempts: int = 10
    backoff: float = 0.2  # first retry waits up to this, doubling each retry …
    max_backoff: float = 30.0  # … up to this (Retry-After included)

    @classmethod
    def from_env(cls, name: str, **overrides) -> PlatformConfig:
        """The config of platform ``name`` from ``HUIJU_PLATFORM_<NAME>_URL`` and the optional
        ``…_BATCH_SIZE``, ``…_RATE``, ``…_BURST`` and ``…_DAILY_QUOTA``."""
        if name not in PLATFORMS:
            raise ConnectorError(f"unknown platform {name!r}; one of {', '.join(PLATFORMS)}")
        prefix = f"HUIJU_PLATFORM_{name.upper()}_"
        url = os.environ.get(prefix + "URL")
        if not url:
            raise ConnectorError(f"platform {name}: set {prefix}URL to its base URL")
        settings: dict = {}
        for suffix, key, kind in (("BATCH_SIZE", "batch_size", int), ("RATE", "rate_per_second",
                                  float), ("BURST", "burst", int),
                                  ("DAILY_QUOTA", "daily_quota", int)):
            value = os.environ.get(prefix + suffix)
            if value:
                try:
                    settings[key] = kind(value)
                except ValueError:
                    raise ConnectorError(f"{prefix}{suffix}={value!r} is not a number") from None
        return cls(name=name, url=url.rstrip("/"), token_secret=prefix + "TOKEN",
                   **{**settings, **overrides})


class TokenBucket:
    """At most ``burst`` requests at once and ``rate`` per second on average."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.rate, self.capacity = rate, max(burst, 1)
        self._tokens, self._clock, self._sleep = float(self.capacity), clock, sleep
        self._last = clock()
        self._lock = threading.Lock()

    def take(self) -> None:
        """Wait for a token, then use it."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
            self._last = now
            if self._tokens < 1:
                wait = (1 - self._tokens) / self.rate
                self._sleep(wait)
                self._last = self._clock()
                self._tokens = 1.0
            self._tokens -= 1


@dataclass
class DailyQuota:
    """Records an endpoint may still receive today (China time); ``None``: no quota."""

    limit: int | None
    used: int = 0
    day: date | None = None
    today: Callable[[], date] = field(
        default=lambda: datetime.now(PLATFORM_DAY).date(), repr=False)

    def take(self, count: int, what: str) -> None:
        """Count ``count`` records against today's quota, or raise QuotaExhausted."""
        today = self.today()
        if today != self.day:
            self.day, self.used = today, 0
        if self.limit is not None and self.used + count > self.limit:
            raise QuotaExhausted(f"{what}: daily quota of {self.limit} records reached "
                                 f"({self.used} sent on {today.isoformat()})")
        self.used += count


class PlatformClient:
    """One platform's endpoints, behind :class:`connectors.base.Destination`."""

    def __init__(self, config: PlatformConfig, *, token: str | None = None,
                 session: requests.Session | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 jitter: Callable[[], float] = random.random) -> None:
        """``token`` bypasses secret resolution (tools); ``sleep``/``jitter`` for tests."""
        self.config = config
        self._token = token
        self._session = session or requests.Session()
        self._sleep, self._jitter = sleep, jitter
        self._buckets: dict[str, TokenBucket] = {}
        self._quotas: dict[str, DailyQuota] = {}
        self.requests_sent = 0
        self.retries = 0

    def quota(self, resource: str) -> DailyQuota:
        """The daily quota of one endpoint (the delivery task seeds ``used`` from the outbox)."""
        return self._quotas.setdefault(resource, DailyQuota(self.config.daily_quota))

    def endpoint(self, resource: str) -> str:
        """The URL records of ``resource`` are posted to."""
        return f"{self.config.url}/api/{self.config.name}/{resource}"

    def check(self) -> None:
        """Reach the platform's base URL once (any answer below 500 means it is up)."""
        try:
            response = self._session.get(self.config.url, timeout=self._timeout())
        except requests.RequestException as error:
            raise self._error(self.config.url, f"unreachable: {type(error).__name__}") from None
        if response.status_code >= 500:
            raise self._error(self.config.url, f"HTTP {response.status_code}")

    def send(self, resource: str, records: list[dict]) -> list[Delivered]:
        """Deliver ``records`` to ``resource`` in batches; one answer per record, in order.

        Raises DeliveryError when a batch cannot be delivered (the batches before it were);
        the caller keeps those records pending and sends them again, with the same keys.
        """
        answers: list[Delivered] = []
        size = self.config.batch_size
        for start in range(0, len(records), size):
            answers += self._post(resource, records[start:start + size])
        return answers

    # --- one request, retried -------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        if self._token is None:
            self._token = resolve_secret(self.config.token_secret)
        return {"Authorization": f"Bearer {self._token}"}

    def _timeout(self) -> tuple[float, float]:
        return (self.config.connect_timeout, self.config.read_timeout)

    def _post(self, resource: str, batch: list[dict]) -> list[Delivered]:
        cfg, url = self.config, self.endpoint(resource)
        headers = self._headers()
        bucket = self._buckets.setdefault(resource, TokenBucket(cfg.rate_per_second, cfg.burst,
                                                                 sleep=self._sleep))
        body = {"records": batch}
        for attempt in range(cfg.max_attempts):
            self.quota(resource).take(len(batch), f"{cfg.name}/{resource}")
            bucket.take()
            self.requests_sent += 1
            delay = min(cfg.max_backoff, cfg.backoff * 2 ** attempt) * self._jitter()
            try:
                response = self._session.post(url, json=body, headers=headers,
                                              timeout=self._timeout())
            except requests.RequestException as error:
                # Dropped before or after the platform processed the batch: either way the
                # same keys go again, and what was processed answers "duplicate".
                problem = type(error).__name__
            else:
                if response.status_code == 200:
                    return self._answers(resource, batch, response)
                if response.status_code not in _RETRY_STATUS:
                    raise self._error(f"{cfg.name}/{resource}", self._refusal(response))
                problem = f"HTTP {response.status_code}"
                delay = retry_after_seconds(response.headers.get("Retry-After"), delay,
                                            cfg.max_backoff) + delay * 0.1
            if attempt + 1 == cfg.max_attempts:
                raise self._error(f"{cfg.name}/{resource}",
                                  f"giving up after {attempt + 1} attempts: {problem}")
            self.retries += 1
            self._sleep(delay)
        raise AssertionError("unreachable")

    def _refusal(self, response: requests.Response) -> str:
        if response.status_code in (401, 403):
            return (f"authentication refused (HTTP {response.status_code}); check secret "
                    f"{self.config.token_secret!r}")
        return f"HTTP {response.status_code}: {response.text[:200]}"

    def _answers(self, resource: str, batch: list[dict],
                 response: requests.Response) -> list[Delivered]:
        where = f"{self.config.name}/{resource}"
        try:
            results = response.json()["results"]
        except (ValueError, KeyError, TypeError):
            raise self._error(where, "response has no list of results") from None
        if not isinstance(results, list) or len(results) != len(batch):
            raise self._error(where, f"{len(results) if isinstance(results, list) else 'no'} "
                                     f"results for {len(batch)} records")
        answers = []
        for sent, result in zip(batch, results, strict=True):
            status = result.get("status") if isinstance(result, dict) else None
            if status not in STATUSES or result.get("key") != sent["key"]:
                raise self._error(where, f"result {result!r:.200} does not answer key "
                                         f"{sent['key']}")
            errors = tuple({"code": e.get("code"), "field": e.get("field"),
                            "reason": e.get("reason")}
                           for e in result.get("errors") or [] if isinstance(e, dict))
            answers.append(Delivered(sent["key"], status, result.get("receipt"), errors))
        return answers

    def _error(self, where: str, message: str) -> DeliveryError:
        return DeliveryError(scrub(f"{where}: {message}", [self._token]))
