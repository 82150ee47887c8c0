"""Gansu division codes (REFERENCE §5) and the 兰州新区 decision."""

from __future__ import annotations

import pandas as pd

from schemas.rules.divisions import (
    GANSU,
    LANZHOU_NEW_AREA,
    NEW_AREA,
    NOT_GANSU,
    NOT_SIX_DIGITS,
    PROVINCE,
    REASONS,
    check_gansu_division,
    counties,
    prefecture_of,
    prefectures,
    to_national_division,
)

PREFECTURE_COUNTIES = {  # REFERENCE §5: county-level units per prefecture
    "620100": 8, "620200": 0, "620300": 2, "620400": 5, "620500": 7, "620600": 4,
    "620700": 6, "620800": 7, "620900": 7, "621000": 8, "621100": 7, "621200": 9,
    "622900": 8, "623000": 8,
}


def test_gansu_is_one_province_14_prefectures_86_counties():
    assert GANSU[PROVINCE] == "甘肃省"
    assert len(GANSU) == 101
    assert sorted(prefectures()) == sorted(PREFECTURE_COUNTIES)
    assert len(counties()) == 86
    per_prefecture = pd.Series([prefecture_of(c) for c in counties()]).value_counts()
    assert {p: int(per_prefecture.get(p, 0)) for p in PREFECTURE_COUNTIES} == PREFECTURE_COUNTIES


def test_named_examples():
    assert GANSU["620102"] == "城关区"
    assert GANSU["620881"] == "华亭市"
    assert GANSU["623000"] == "甘南藏族自治州"
    assert LANZHOU_NEW_AREA not in GANSU


def test_rule():
    values = ["620000", "620100", "620102", "623027", "620171", "620199", "110000", "62010",
              "62O102", None, ""]
    assert list(check_gansu_division(values)) == [
        0, 0, 0, 0, NEW_AREA, NOT_GANSU, NOT_GANSU, NOT_SIX_DIGITS, NOT_SIX_DIGITS, 0, 0]


def test_every_gansu_code_passes():
    assert not check_gansu_division(list(GANSU)).any()


def test_lanzhou_new_area_becomes_lanzhou_for_the_national_exchange():
    result = to_national_division(pd.Series(["620171", "620102", None], index=[7, 8, 9]))
    assert result.index.tolist() == [7, 8, 9]
    assert result.tolist()[:2] == ["620100", "620102"]
    assert pd.isna(result.iloc[2])
    assert not check_gansu_division(result).any()
    assert prefecture_of(LANZHOU_NEW_AREA) == "620100"


def test_every_reason_has_messages():
    assert all(zh and en for zh, en in REASONS.values())
