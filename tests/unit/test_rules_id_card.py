"""居民身份证号 rule (GB 11643): the standard's sample, reason codes, 15→18 conversion, and
python-stdnum as an oracle on generated valid and corrupted numbers."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import ric as stdnum_ric
from stdnum.exceptions import ValidationError

from schemas.code_tables import code_table
from schemas.rules.id_card import (
    ADDRESS,
    BIRTH_DATE,
    BIRTH_RANGE,
    CHARSET,
    CHECK,
    LEGACY_15,
    LENGTH,
    REASONS,
    WEIGHTS,
    check_id_card,
    explain_id_card,
    id15_to_18,
    id_check_char,
)

TODAY = dt.date(2026, 6, 1)
ADDRESS_CODES = sorted(c for c in code_table("行政区划代码").codes if len(c) == 6)


@st.composite
def valid_ids(draw, earliest=dt.date(1900, 1, 1), latest=dt.date(2026, 5, 31)) -> str:
    address = draw(st.sampled_from(ADDRESS_CODES))
    born = draw(st.dates(earliest, latest))
    first17 = f"{address}{born:%Y%m%d}{draw(st.integers(0, 999)):03d}"
    return first17 + id_check_char(first17)


@st.composite
def corrupted_ids(draw) -> str:
    code = draw(valid_ids())
    position = draw(st.integers(0, 17))
    alphabet = "0123456789X"
    char = draw(st.sampled_from(alphabet))
    if char == code[position]:
        char = alphabet[(alphabet.index(char) + 1) % len(alphabet)]
    return code[:position] + char + code[position + 1:]


def stdnum_is_valid(number: str) -> bool:
    """``stdnum.cn.ric.is_valid`` minus its KeyError (see test_stdnum_quirk_key_error)."""
    try:
        return stdnum_ric.is_valid(number)
    except KeyError:
        return False


def stdnum_birth_place_known(number: str) -> bool:
    try:
        stdnum_ric.get_birth_place(number)
    except (ValidationError, KeyError):
        return False
    return True


def test_stdnum_quirk_key_error():
    """python-stdnum 2.2 raises KeyError (not a ValidationError) from ``is_valid`` for address
    codes its database knows only down to the province, e.g. 320193; the oracle treats that
    as "invalid". Should an upgrade fix it, this test says so."""
    with pytest.raises(KeyError):
        stdnum_ric.is_valid("320193200001010009")


# ---------------------------------------------------------------- worked examples


def test_the_standards_sample():
    assert sum(int(c) * w for c, w in zip("11010519491231002", WEIGHTS, strict=True)) == 167
    assert id_check_char("11010519491231002") == "X"
    assert check_id_card(["11010519491231002X"], TODAY)[0] == 0


def test_weights_are_powers_of_two_mod_11():
    assert list(WEIGHTS) == [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("11010519491231002", LENGTH),
        ("11010519491231002XX", LENGTH),
        ("110105491231002", LEGACY_15),
        ("11010519491231002x", CHARSET),  # lower case is the normaliser's job
        ("1101051949123100XX", CHARSET),
        ("11010519491231002Y", CHARSET),
        ("１1010519491231002X", CHARSET),  # full-width digit
        ("00010519491231002X", ADDRESS),
        ("99010519491231002X", ADDRESS),
        ("110105194902300027", BIRTH_DATE),  # 30 February
        ("110105194913010027", BIRTH_DATE),
        ("110105189912310027", BIRTH_RANGE),  # before 1900
        ("110105202701010027", BIRTH_RANGE),  # after TODAY
        ("110105194912310021", CHECK),
    ],
)
def test_reason_codes(value, reason):
    if reason in (ADDRESS, BIRTH_DATE, BIRTH_RANGE):  # give the number a right check char
        value = value[:17] + id_check_char(value[:17])
    assert check_id_card([value], TODAY)[0] == reason
    assert explain_id_card(value, TODAY) is not None


def test_explanation_names_the_expected_check_character():
    zh, en = explain_id_card("110105194912310021", TODAY)
    assert "应为 X" in zh and "should be X" in en


def test_today_is_injectable():
    born_2026 = "110105202605200010"
    born_2026 = born_2026[:17] + id_check_char(born_2026[:17])
    assert check_id_card([born_2026], dt.date(2026, 5, 19))[0] == BIRTH_RANGE
    assert check_id_card([born_2026], dt.date(2026, 5, 20))[0] == 0


def test_address_codes_accept_any_known_province_prefix():
    # retired county codes on old cards: only the province prefix is checked (documented)
    first17 = "62990019800101001"  # 6299xx is no county, but 62 is 甘肃省
    assert check_id_card([first17 + id_check_char(first17)], TODAY)[0] == 0
    first17 = "71000019800101001"  # 710000 台湾省 is not in the national table used
    assert check_id_card([first17 + id_check_char(first17)], TODAY)[0] == ADDRESS


def test_missing_values_and_input_forms():
    values = ["11010519491231002X", None, "", "bad"]
    expected = [0, 0, 0, LENGTH]
    assert list(check_id_card(values, TODAY)) == expected
    assert check_id_card(values, TODAY).dtype == np.int8
    assert list(check_id_card(pd.Series(values, index=[9, 8, 7, 6]), TODAY)) == expected


def test_every_reason_has_messages():
    for zh, en in REASONS.values():
        assert zh and en


# ---------------------------------------------------------------- 15 → 18


def test_id15_to_18_inserts_19_and_appends_the_check_character():
    assert id15_to_18(["110105491231002"]).tolist() == ["11010519491231002X"]


def test_id15_to_18_leaves_other_values_alone():
    values = pd.Series(["11010519491231002X", "abc", None, "11010549123100"], index=[5, 6, 7, 8])
    result = id15_to_18(values)
    assert result.index.tolist() == [5, 6, 7, 8]
    assert result.tolist()[:2] == ["11010519491231002X", "abc"]
    assert pd.isna(result.iloc[2])


@settings(max_examples=200)
@given(st.sampled_from(ADDRESS_CODES), st.dates(dt.date(1900, 1, 1), dt.date(1999, 12, 31)),
       st.integers(0, 999))
def test_id15_to_18_output_passes_the_rule(address, born, sequence):
    legacy = f"{address}{born:%y%m%d}{sequence:03d}"
    converted = id15_to_18([legacy])
    assert converted[0] == f"{address}{born:%Y%m%d}{sequence:03d}" + converted[0][-1]
    assert check_id_card(converted, TODAY)[0] == 0
    assert stdnum_ric.calc_check_digit(converted[0]) == converted[0][-1]


# ---------------------------------------------------------------- python-stdnum as an oracle


@settings(max_examples=200)
@given(valid_ids())
def test_stdnum_agrees_on_valid_numbers_except_its_historical_county_check(number):
    """stdnum also checks that the county existed in the birth year (its own historical
    database); Huiju only checks the province prefix. That is the one difference here."""
    assert check_id_card([number], TODAY)[0] == 0
    assert stdnum_is_valid(number) == stdnum_birth_place_known(number)


@settings(max_examples=200)
@given(corrupted_ids())
def test_stdnum_agrees_on_single_character_corruptions(number):
    assert check_id_card([number], TODAY)[0] != 0
    assert not stdnum_is_valid(number)


@settings(max_examples=200)
@given(
    st.one_of(st.sampled_from(ADDRESS_CODES), st.integers(0, 999_999).map("{:06d}".format)),
    st.dates(dt.date(1850, 1, 1), dt.date(2100, 12, 31)),
    st.integers(0, 999),
)
def test_where_huiju_and_stdnum_differ_it_is_for_documented_reasons(address, born, sequence):
    first17 = f"{address}{born:%Y%m%d}{sequence:03d}"
    number = first17 + id_check_char(first17)
    ours = check_id_card([number], TODAY)[0]
    theirs = stdnum_is_valid(number)
    if theirs and ours:
        # stdnum has no lower bound and no "not in the future" on the birth date, and knows
        # province codes the national table lacks (71 台湾)
        assert ours in (BIRTH_RANGE, ADDRESS), number
        if ours == BIRTH_RANGE:
            assert born.year < 1900 or born > TODAY
    if ours == 0 and not theirs:
        assert not stdnum_birth_place_known(number), number


def test_stdnum_has_no_bounds_on_the_birth_date():
    for first17 in ("11010520991231001", "11010518501231001"):  # born 2099 / 1850
        number = first17 + id_check_char(first17)
        assert stdnum_ric.is_valid(number)
        assert check_id_card([number], TODAY)[0] == BIRTH_RANGE


def test_stdnum_upper_cases_what_huiju_leaves_to_the_normaliser():
    assert stdnum_ric.is_valid("11010519491231002x")
    assert check_id_card(["11010519491231002x"], TODAY)[0] == CHARSET
