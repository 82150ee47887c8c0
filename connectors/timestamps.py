"""Legacy time stamps as instants: the parsing a text cursor column needs.

Legacy systems keep update times in VARCHAR columns, written however the application of the
day wrote them: ``2025-02-02 10:00:00``, ``2025/02/02 10:00:00``, ``2025-03-01T03:00:00Z``,
``20250202``, ``2025年2月2日``. Compared as text, ``2025/…`` sorts after every ``2025-…`` value
(``/`` > ``-``), so one such value would move a cursor past every later update. Here each value
is parsed into an aware ``datetime``: the feed's declared formats first, then ISO 8601, then
the common legacy layouts. A value without a zone is wall-clock time in the feed's zone
(Asia/Shanghai unless declared); a value with ``Z`` or an offset keeps it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import unicodedata
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

__all__ = ["LEGACY_FORMATS", "LEGACY_TIMEZONE", "parse_timestamp", "row_hash"]

LEGACY_TIMEZONE = "Asia/Shanghai"
# Tried after the declared formats and ISO 8601 (which already covers "2025-02-02 10:00:00",
# "2025-02-02T10:00:00Z", "2025-02-02", "20250202" and offsets).
LEGACY_FORMATS = (
    "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M:%S.%f", "%Y/%m/%d %H:%M", "%Y/%m/%d",
    "%Y.%m.%d %H:%M:%S", "%Y.%m.%d",
    "%Y%m%d%H%M%S", "%Y%m%d %H:%M:%S",
    "%Y年%m月%d日 %H:%M:%S", "%Y年%m月%d日%H:%M:%S", "%Y年%m月%d日 %H:%M", "%Y年%m月%d日",
    "%Y年%m月%d日%H时%M分%S秒", "%Y年%m月%d日 %H时%M分%S秒", "%Y年%m月%d日%H时%M分",
)


def parse_timestamp(value: Any, formats: Sequence[str] = (),
                    timezone: str = LEGACY_TIMEZONE) -> dt.datetime | None:
    """``value`` as an aware datetime, or ``None`` when it is not a time stamp.

    A naive value is read as wall-clock time in ``timezone``; a date is its midnight there.
    """
    zone = ZoneInfo(timezone)
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=zone)
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time(0), tzinfo=zone)
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if not isinstance(value, str):
        return None
    # full-width digits and separators (２０２５／０２／０２) are the same time stamp
    text = unicodedata.normalize("NFKC", value).strip()
    if not text:
        return None
    parsed = _strptime(text, formats)
    if parsed is None:
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            parsed = _strptime(text, LEGACY_FORMATS)
    if parsed is None:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)


def _strptime(text: str, formats: Sequence[str]) -> dt.datetime | None:
    for layout in formats:
        try:
            return dt.datetime.strptime(text, layout)  # noqa: DTZ007 (zone set by the caller)
        except ValueError:
            continue
    return None


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dt.date | dt.time | dt.timedelta):
        return str(value)
    return value


def row_hash(values: Sequence[Any]) -> str:
    """A short, stable digest of one source row's values: tells apart rows that share a key."""
    text = json.dumps([_plain(v) for v in values], ensure_ascii=False, default=str,
                      separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]
