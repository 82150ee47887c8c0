"""Structured logs: every Huiju log record names its department, feed, batch and run.

The pipeline's tasks run inside :func:`log_context`, which puts those ids into a context
variable; :class:`ContextFilter` copies them onto each record (so Airflow's own handlers see
them as attributes too), and :class:`JsonFormatter` writes one JSON object per line. The CLI
switches to JSON lines with ``HUIJU_LOG_FORMAT=json`` (cron, CI, log shippers); the default is
plain text.
"""

from __future__ import annotations

import functools
import json
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

CONTEXT_KEYS = ("department", "source", "dataset", "batch_id", "run_id")
_context: ContextVar[dict[str, str]] = ContextVar("huiju_log_context", default={})  # noqa: B039


@contextmanager
def log_context(**ids: Any) -> Iterator[None]:
    """Add ``ids`` (department, source, dataset, batch_id, run_id) to every record inside."""
    merged = {**_context.get(), **{k: str(v) for k, v in ids.items() if v is not None}}
    token = _context.set(merged)
    try:
        yield
    finally:
        _context.reset(token)


def task(function: Callable) -> Callable:
    """Run a pipeline task inside the log context of the feed it works on.

    The task's first argument is either the department code (then source and data set follow,
    ``run_id`` is a keyword) or the dict the previous task returned.
    """
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _annotate_huiju_records()  # Airflow workers never run the CLI's configure()
        first = args[0] if args else None
        if isinstance(first, dict):
            ids = {k: first.get(k) for k in CONTEXT_KEYS}
        else:
            ids = dict(zip(("department", "source", "dataset"), args, strict=False))
            ids["run_id"] = kwargs.get("run_id")
        with log_context(**ids):
            return function(*args, **kwargs)
    return wrapper


class ContextFilter(logging.Filter):
    """Copy the current log context onto each record as attributes."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Always keep the record; annotate it."""
        for key, value in _context.get().items():
            setattr(record, key, value)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message and the context ids."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON line (non-ASCII kept readable)."""
        entry = {"at": datetime.fromtimestamp(record.created, UTC).isoformat(),
                 "level": record.levelname.lower(), "logger": record.name,
                 "message": record.getMessage()}
        entry.update({k: getattr(record, k) for k in CONTEXT_KEYS if hasattr(record, k)})
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def _annotate_huiju_records() -> logging.Logger:
    logger = logging.getLogger("huiju")
    if not any(isinstance(f, ContextFilter) for f in logger.filters):
        logger.addFilter(ContextFilter())
    return logger


def configure(stream=None) -> None:
    """Attach the context filter to Huiju's loggers, and JSON lines if HUIJU_LOG_FORMAT=json."""
    logger = _annotate_huiju_records()
    if os.environ.get("HUIJU_LOG_FORMAT", "text").lower() != "json":
        return
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    logger.handlers = [h for h in logger.handlers if not isinstance(h.formatter, JsonFormatter)]
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
