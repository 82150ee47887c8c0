""""Today" for the date rules is the calendar day in China, whatever the server's clock zone.

Between 16:00 and 24:00 UTC, China is already on the next day: a penalty decided today in
Gansu must pass ``not_future`` on a server running on UTC. The clock is frozen at 20:30 UTC
(04:30 the next morning in China) in a year still to come, so no real clock passes these
tests by chance, and the whole validation path (suite → GX → rule → ``today_in_china``) runs.
"""

from __future__ import annotations

import datetime as dt
import types

import pandas as pd
import pytest

import schemas.rules.dates as dates
from expectations.testing.samples import sample_frame
from expectations.validate import validate_frame
from schemas.catalog import dataset
from schemas.rules.dates import NOT_FUTURE_LATE, check_not_future, today_in_china

SPEC = dataset("penalty")
FROZEN_UTC = dt.datetime(2030, 6, 30, 20, 30, tzinfo=dt.UTC)
UTC_DAY = dt.date(2030, 6, 30)
CHINA_DAY = dt.date(2030, 7, 1)  # 04:30 in Asia/Shanghai
NOT_FUTURE = "10-NOTFUTURE-penalty.punish_decision_date"


class _FrozenDateTime(dt.datetime):
    """``datetime`` whose clock reads FROZEN_UTC; the server's own zone is UTC."""

    @classmethod
    def now(cls, tz=None):
        return FROZEN_UTC.astimezone(tz) if tz else FROZEN_UTC.replace(tzinfo=None)

    @classmethod
    def utcnow(cls):
        return FROZEN_UTC.replace(tzinfo=None)

    @classmethod
    def today(cls):
        return FROZEN_UTC.replace(tzinfo=None)


class _FrozenDate(dt.date):
    @classmethod
    def today(cls):
        return UTC_DAY


@pytest.fixture
def frozen_clock(monkeypatch):
    """The ``datetime`` module as the date rules see it, with its clock stopped at 20:30 UTC."""
    frozen = types.ModuleType("datetime")
    frozen.__dict__.update(vars(dt))
    frozen.datetime, frozen.date = _FrozenDateTime, _FrozenDate
    monkeypatch.setattr(dates, "dt", frozen)


def test_a_decision_dated_today_in_china_passes_at_2030_utc(frozen_clock):
    frame = sample_frame(SPEC, 3, seed=5)
    frame["punish_decision_date"] = pd.Series(
        pd.to_datetime([CHINA_DAY, CHINA_DAY + dt.timedelta(days=1), UTC_DAY]),
        dtype=frame["punish_decision_date"].dtype)

    outcome = validate_frame(frame, SPEC)

    quarantine = outcome.quarantine
    assert quarantine.loc[quarantine["rule_id"] == NOT_FUTURE, "row"].tolist() == [1], (
        "only the day after today in China is in the future")
    assert outcome.counts["passed"] == 2
    # the clock the rules read really was the frozen one
    assert today_in_china() == CHINA_DAY


def test_not_future_defaults_to_the_china_day_not_the_utc_day(frozen_clock):
    values = [CHINA_DAY.isoformat(), (CHINA_DAY + dt.timedelta(days=1)).isoformat()]
    assert check_not_future(values).tolist() == [0, NOT_FUTURE_LATE]
