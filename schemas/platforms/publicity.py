"""公示期: when a 双公示 行政处罚 record stops being public (REFERENCE.md §3.5).

The rule sets are data (``publicity.yaml``); this module only picks the set in force on the
decision date and adds the longest maximum period of the decision's penalty types.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

import yaml

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class RuleSet:
    """One publicity rule set and the day it came into force."""

    id: str
    zh: str
    en: str
    in_force_from: dt.date
    default_months: int
    months_by_type: dict[str, int]

    def months(self, types: list[str]) -> int:
        """The period of a decision with these penalty types: the longest of them."""
        return max((self.months_by_type.get(t, self.default_months) for t in types),
                   default=self.default_months)


@cache
def rule_sets() -> tuple[RuleSet, ...]:
    """Every rule set, oldest first."""
    text = resources.files("schemas.platforms").joinpath("publicity.yaml").read_text("utf-8")
    sets = [RuleSet(id=item["id"], zh=item["zh"], en=item["en"],
                    in_force_from=item["in_force_from"],
                    default_months=int(item["default_months"]),
                    months_by_type={str(k): int(v)
                                    for k, v in (item.get("months_by_type") or {}).items()})
            for item in yaml.load(text, Loader=_LOADER)["rule_sets"]]
    return tuple(sorted(sets, key=lambda s: s.in_force_from))


def rule_set_on(day: dt.date) -> RuleSet:
    """The rule set in force on ``day`` (the first one for earlier days)."""
    sets = rule_sets()
    chosen = sets[0]
    for candidate in sets:
        if candidate.in_force_from <= day:
            chosen = candidate
    return chosen


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus whole calendar months, clamped to the month's end (2024-01-31 + 1 → 02-29)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def as_date(value) -> dt.date | None:
    """A date from a warehouse value (date, datetime or ISO text); None when empty."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def as_codes(value) -> list[str]:
    """The codes of a list field, stored joined by ``,`` or given as a list."""
    if value is None or value == "":
        return []
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value).split(",") if part.strip()]


def publicity_end(row: dict) -> dt.date | None:
    """The last day a penalty decision is publicised: 处罚决定日期 + the longest maximum period
    of its 处罚种类 under the rule set in force on the decision date. None when the row is not
    a penalty decision (no ``punish_decision_date``)."""
    decided, types = row.get("punish_decision_date"), row.get("punish_type")
    if isinstance(types, list):
        types = ",".join(types)
    return _end(decided, types) if decided not in (None, "") else None


@lru_cache(maxsize=65536)
def _end(decided, types: str | None) -> dt.date:
    # Rows repeat few (date, types) pairs: computing each once keeps 100 000 payloads fast.
    day = as_date(decided)
    return add_months(day, rule_set_on(day).months(as_codes(types)))
