"""Structured logs: every Huiju log record names its department, feed, batch and run.

The pipeline's tasks run inside :func:`log_context`, which puts those ids into a context
variable; :class:`ContextFilter` copies them onto each record (so Airflow's own handlers see
them as attributes too), and :class:`JsonFormatter` writes one JSON object per line. The CLI
switches to JSON lines with ``HUIJU_LOG_FORMAT=json`` (cron, CI, log shippers); the default is
plain text. :class:`PersonalDataFilter` masks resident ID numbers in every record, and
notifications are masked the same way (:func:`mask_personal`).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
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


# A resident ID number inside free text: 6-digit address code, 8-digit birth date, 3 digits and
# a check character (18 digits), or the 15-digit legacy form. Logs and notifications keep the
# address and sequence (enough to find the record) and lose the birth date, as the public
# 双公示 feeds do (schemas/platforms/transforms.mask_id_number).
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{8})(\d{3}[0-9Xx])(?![0-9A-Za-z])"
                        r"|(?<![0-9A-Za-z])(\d{6})(\d{6})(\d{3})(?![0-9A-Za-z])")


def mask_personal(text: str) -> str:
    """``text`` with every resident ID number's birth date replaced by ``*``.

    >>> mask_personal("证件号码 62010219850315108X 不合法")
    '证件号码 620102********108X 不合法'
    """
    def masked(match: re.Match) -> str:
        if match.group(1):
            return match.group(1) + "*" * 8 + match.group(3)
        return match.group(4) + "*" * 6 + match.group(6)
    return _ID_NUMBER.sub(masked, text)


class PersonalDataFilter(logging.Filter):
    """Mask resident ID numbers in every Huiju log record (message and arguments)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Always keep the record; mask it."""
        message = record.getMessage()
        masked = mask_personal(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


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


_FACTORY_INSTALLED = False


def _annotate_huiju_records() -> None:
    """Make every record of the ``huiju`` loggers carry the context ids, masked.

    A filter on the ``huiju`` logger would miss its children (``huiju.pipeline`` …: logger
    filters are not inherited), so the record factory does it, once per process.
    """
    global _FACTORY_INSTALLED
    if _FACTORY_INSTALLED:
        return
    previous = logging.getLogRecordFactory()
    context, personal = ContextFilter(), PersonalDataFilter()

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        name = record.name or ""  # logging.makeLogRecord builds one with no name first
        if name == "huiju" or name.startswith("huiju."):
            context.filter(record)
            personal.filter(record)
        return record

    logging.setLogRecordFactory(factory)
    _FACTORY_INSTALLED = True


def configure(stream=None) -> None:
    """Attach the context filter to Huiju's loggers, and JSON lines if HUIJU_LOG_FORMAT=json."""
    _annotate_huiju_records()
    logger = logging.getLogger("huiju")
    if os.environ.get("HUIJU_LOG_FORMAT", "text").lower() != "json":
        return
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger.handlers = [h for h in logger.handlers if not isinstance(h.formatter, JsonFormatter)]
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
