"""The two small interfaces of connectors: a :class:`Source` to read, a :class:`Destination`
to deliver to.

A source yields bounded :class:`Batch` objects (an Arrow table of legacy columns, one source
reference per row, the rows it could not parse, and the cursor to resume from after the batch).
The caller loads a batch and commits the batch's cursor in the same transaction; the next
``read(state)`` starts from that cursor. A destination (a receiving platform) takes records,
each with an idempotency key, and answers one :class:`Delivered` per record. Secrets are named
in configuration and resolved late by :func:`resolve_secret`; no error message of this package
contains a secret's value.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol, TypeVar, runtime_checkable

import pyarrow as pa

T = TypeVar("T")

__all__ = [
    "Batch",
    "ConnectorError",
    "Delivered",
    "Destination",
    "RowError",
    "Source",
    "lookahead",
    "resolve_secret",
    "scrub",
]


class ConnectorError(Exception):
    """A source cannot be reached or read; the message is safe to log (it holds no secret)."""


@dataclass(frozen=True)
class RowError:
    """A row that counts as extracted but could not be read (ragged row, broken quote, bad JSON)."""

    ref: str
    message: str
    raw: str | None = None


@dataclass
class Batch:
    """A bounded slice of a source, in source order.

    ``table`` has the legacy column names; values are as read (strings for files and HTTP,
    the driver's Python types for SQL). ``refs[i]`` names the source row of ``table`` row ``i``.
    ``cursor`` is the state to pass to ``read`` to resume *after* this batch (JSON-serialisable;
    ``None`` means "start from the beginning next time").
    """

    table: pa.Table
    refs: list[str]
    cursor: dict | None
    errors: list[RowError] = field(default_factory=list)

    def __post_init__(self) -> None:
        if len(self.refs) != self.table.num_rows:
            raise ValueError(f"{len(self.refs)} refs for {self.table.num_rows} rows")

    @property
    def num_rows(self) -> int:
        """Rows read into the table (errors not included)."""
        return self.table.num_rows


@runtime_checkable
class Source(Protocol):
    """What the pipeline needs of a source system."""

    def read(self, state: dict | None) -> Iterator[Batch]:
        """Yield batches of at most the configured batch size, resuming after ``state``."""
        ...

    def check(self) -> None:
        """Connect (or list) once; raise :class:`ConnectorError` with a clear message."""
        ...


@dataclass(frozen=True)
class Delivered:
    """A platform's answer for one record sent, in the order sent.

    ``status``: ``accepted``; ``duplicate`` (this key was accepted before — the original
    ``receipt``, and as good as accepted); ``rejected`` (``errors``: the platform's ``code``,
    ``field`` and ``reason`` per problem; nothing was recorded).
    """

    key: str
    status: str
    receipt: str | None = None
    errors: tuple[dict, ...] = ()

    @property
    def ok(self) -> bool:
        """Accepted now or before: the platform holds this record version."""
        return self.status in ("accepted", "duplicate")


@runtime_checkable
class Destination(Protocol):
    """What the delivery task needs of a receiving platform."""

    def send(self, resource: str, records: list[dict]) -> list[Delivered]:
        """Deliver ``records`` (``key``, ``record_id``, ``operation``, ``payload``) to
        ``resource``; one answer per record, in order. Sending a key again is safe."""
        ...

    def check(self) -> None:
        """Reach the platform once; raise :class:`ConnectorError` with a clear message."""
        ...


def resolve_secret(name: str) -> str:
    """Return the secret named ``name``: the environment variable ``name`` if set, otherwise the
    Airflow connection with id ``name`` (when Airflow is importable).

    For an Airflow connection the result is its password when it has no host (a token-only
    connection), otherwise its URI. Errors name the secret, never a value.
    """
    value = os.environ.get(name)
    if value:
        return value
    try:
        from airflow.sdk import BaseHook
    except ImportError as error:
        raise ConnectorError(
            f"secret {name!r} not found: no environment variable {name} and Airflow is not "
            "installed to look up a connection of that id") from error
    try:
        conn = BaseHook.get_connection(name)
    except Exception as error:  # Airflow raises several types (not found, no API server, ...)
        raise ConnectorError(
            f"secret {name!r} not found: no environment variable {name} and no Airflow "
            f"connection {name!r} ({type(error).__name__})") from error
    if conn.password and not conn.host:
        return str(conn.password)
    return str(conn.get_uri())


def scrub(text: str, secrets: Iterable[str | None]) -> str:
    """Replace every occurrence of each (non-trivial) secret in ``text`` by ``***``."""
    for secret in secrets:
        if secret and len(secret) >= 3:
            text = text.replace(secret, "***")
    return text


def lookahead(items: Iterable[T]) -> Iterator[tuple[T, bool]]:
    """Yield ``(item, is_last)``; lets a source put its final cursor on the last batch."""
    iterator = iter(items)
    try:
        previous = next(iterator)
    except StopIteration:
        return
    for item in iterator:
        yield previous, False
        previous = item
    yield previous, True
