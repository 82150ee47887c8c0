"""dates.parse_dates on every format legacy systems write, and the not_future rule."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.rules.dates import (
    NOT_FUTURE_LATE,
    NOT_FUTURE_REASONS,
    NOT_FUTURE_UNPARSEABLE,
    check_not_future,
    parse_dates,
)

MARCH_26 = pd.Timestamp("2021-03-26")
OPEN_ENDED = pd.Timestamp("9999-12-31")


@pytest.mark.parametrize(
    "raw",
    [
        "2021-03-26", "2021-3-26", "2021年3月26日", "2021年03月26日", "２０２１年３月２６日",
        "2021.3.26", "2021.03.26", "2021/3/26", "2021/03/26", "20210326",
        "2021-03-26 00:00:00.0", "2021-03-26 14:05:09", "2021-03-26T14:05", "2021/3/26 9:05",
        " 2021-03-26 ", "44281", "44281.0", "44281.75",
    ],
)
def test_every_listed_format(raw):
    parsed, bad = parse_dates([raw])
    assert parsed.iloc[0] == MARCH_26
    assert not bad[0]


@pytest.mark.parametrize(
    "raw", ["长期", "永久", "长期有效", "9999-12-31", "9999/12/31", "99991231"])
def test_open_ended_validity(raw):
    parsed, bad = parse_dates([raw])
    assert parsed.iloc[0] == OPEN_ENDED
    assert not bad[0]


@pytest.mark.parametrize(
    "raw", ["2021-02-29", "2021-13-01", "2021年3月32日", "2021.3.", "26/03/2021", "21-03-26",
            "2021-03/26", "abc", "0", "2958466", "-5", "2021-03-26x"])
def test_unparseable(raw):
    parsed, bad = parse_dates([raw])
    assert pd.isna(parsed.iloc[0])
    assert bad[0]


def test_missing_is_not_unparseable():
    parsed, bad = parse_dates([None, "", "  ", float("nan")])
    assert parsed.isna().all()
    assert not bad.any()


def test_a_bare_number_is_an_excel_serial():
    # documented ambiguity: "2021.3" (year.month?) reads as Excel day 2021.3 = 1905-07-13
    assert parse_dates(["2021.3"])[0].iloc[0] == pd.Timestamp("1905-07-13")


def test_leap_day_and_excel_epoch():
    parsed, _ = parse_dates(["2020-02-29", "1", "60", "61", "2958465"])
    assert parsed.tolist() == [pd.Timestamp("2020-02-29"), pd.Timestamp("1899-12-31"),
                               pd.Timestamp("1900-02-28"), pd.Timestamp("1900-03-01"),
                               OPEN_ENDED]


def test_result_dtype_and_index():
    parsed, bad = parse_dates(pd.Series(["2021-03-26", "x"], index=[3, 1]))
    assert str(parsed.dtype) == "datetime64[s]"
    assert parsed.index.tolist() == [3, 1]
    assert bad.dtype == bool and list(bad) == [False, True]


def test_numbers_from_excel():
    parsed, bad = parse_dates(pd.Series([44281.0, 20210326, None], dtype=object))
    assert parsed.tolist()[:2] == [MARCH_26, MARCH_26]
    assert not bad.any()


def test_datetime_columns_keep_their_china_calendar_date():
    utc = pd.Series(pd.to_datetime(["2021-03-25 17:30"]).tz_localize("UTC"))  # 01:30 in China
    assert parse_dates(utc)[0].tolist() == [MARCH_26]
    naive = pd.Series(pd.to_datetime(["2021-03-26 23:59"]))
    assert parse_dates(naive)[0].tolist() == [MARCH_26]


def test_declared_formats_replace_the_built_in_patterns():
    parsed, bad = parse_dates(["26/03/2021", "长期", "2021-03-26"], formats=["%d/%m/%Y"])
    assert parsed.tolist()[:2] == [MARCH_26, OPEN_ENDED]
    assert list(bad) == [False, False, True]


@settings(max_examples=200)
@given(st.dates(dt.date(1900, 3, 1), dt.date(9999, 12, 30)),
       st.sampled_from(["{d:%Y-%m-%d}", "{d.year}年{d.month}月{d.day}日",
                        "{d.year}.{d.month}.{d.day}", "{d.year}/{d.month}/{d.day}",
                        "{d:%Y%m%d}", "{d:%Y-%m-%d} 00:00:00.0", "{serial}"]))
def test_round_trip(date, pattern):
    serial = (date - dt.date(1899, 12, 30)).days
    parsed, bad = parse_dates([pattern.format(d=date, serial=serial)])
    assert not bad[0]
    assert parsed.iloc[0] == pd.Timestamp(date)


# ---------------------------------------------------------------- not_future

TODAY = dt.date(2024, 5, 1)


def test_not_future():
    values = ["2024-05-01", "2024-05-02", "2020年1月1日", "长期", "abc", None, ""]
    assert list(check_not_future(values, today=TODAY)) == [
        0, NOT_FUTURE_LATE, 0, NOT_FUTURE_LATE, NOT_FUTURE_UNPARSEABLE, 0, 0]


def test_not_future_on_datetime_columns():
    stamps = pd.Series(pd.to_datetime(["2024-04-30 16:30", "2024-05-01 16:30"]).tz_localize("UTC"))
    # 2024-05-01 00:30 and 2024-05-02 00:30 in China
    assert list(check_not_future(stamps, today=TODAY)) == [0, NOT_FUTURE_LATE]
    dates = pd.Series(np.array(["2024-05-01", "NaT"], dtype="datetime64[s]"))
    assert list(check_not_future(dates, today=TODAY)) == [0, 0]


def test_not_future_defaults_to_today_in_china():
    assert check_not_future(["2000-01-01", "2999-01-01"]).tolist() == [0, NOT_FUTURE_LATE]


def test_every_reason_has_messages():
    assert all(zh and en for zh, en in NOT_FUTURE_REASONS.values())
