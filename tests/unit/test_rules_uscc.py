"""统一社会信用代码 rule: REFERENCE §4.1 worked examples, the authority table, and python-stdnum
as an oracle on generated valid and corrupted codes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import uscc as stdnum_uscc

from schemas.rules import uscc
from schemas.rules.org_code import org_code_check_char
from schemas.rules.uscc import (
    AUTHORITY,
    CHARSET,
    CHARSET_ERROR,
    CHECK,
    DIVISION,
    LENGTH,
    ORG_CHECK,
    PLACEHOLDER,
    REGISTRATION_AUTHORITIES,
    check_uscc,
    explain_uscc,
    uscc_check_char,
)

REAL_CODES = [
    "91350213751625538W",
    "91230500MA1B3N1N2M",
    "12440300MB2C92173E",
    "53640000MJX173680A",
    "11230500001755309F",
]
GANSU_FIXTURES = [
    "91620100MA71ABCD8H",  # 企业, 兰州
    "92620102MA72QW3E4N",  # 个体, 城关区
    "11620000013623450H",  # 机关
    "N2620121MF0000AB9K",  # 村集体, 永登
    "Y1620000123456788M",
]

# ---------------------------------------------------------------- generators

PREFIXES = sorted(d + k for d, (_, kinds) in REGISTRATION_AUTHORITIES.items() for k in kinds)


@st.composite
def valid_usccs(draw, prefixes=PREFIXES) -> str:
    """A USCC that is valid by GB 32100: a legal prefix, six digits, an organisation code
    (body in the USCC charset) with its own check character, and the check character."""
    prefix = draw(st.sampled_from(prefixes))
    division = f"{draw(st.integers(0, 999_999)):06d}"
    # the 8-character body as one base-31 number: one draw instead of eight (fast tests)
    number = draw(st.integers(1, 31**8 - 1))
    body = "".join(CHARSET[number // 31**i % 31] for i in range(8))
    first17 = prefix + division + body + org_code_check_char(body)
    return first17 + uscc_check_char(first17)


@st.composite
def corrupted(draw, codes, alphabet=CHARSET + "IOSVZ") -> tuple[str, str]:
    """(valid code, the same code with exactly one character replaced)."""
    code = draw(codes)
    position = draw(st.integers(0, len(code) - 1))
    char = draw(st.sampled_from(alphabet))
    if char == code[position]:  # replace by the next character instead: still one change
        char = alphabet[(alphabet.index(char) + 1) % len(alphabet)]
    return code, code[:position] + char + code[position + 1:]


DIGIT_PREFIXES = [p for p in PREFIXES if p[0].isdigit()]
LETTER_PREFIXES = [p for p in PREFIXES if not p[0].isdigit()]

# ---------------------------------------------------------------- worked examples


def test_worked_example_sums_as_in_reference():
    first17 = "91350213751625538"
    values = [CHARSET.index(c) for c in first17]
    assert sum(v * w for v, w in zip(values, uscc.WEIGHTS, strict=True)) == 1181
    assert uscc_check_char(first17) == "W"
    assert org_code_check_char("75162553") == "8"


def test_weights_are_powers_of_three_mod_31():
    assert list(uscc.WEIGHTS) == [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def test_charset_has_31_characters_without_i_o_s_v_z():
    assert len(CHARSET) == 31
    assert not set("IOSVZ") & set(CHARSET)


@pytest.mark.parametrize("code", REAL_CODES + GANSU_FIXTURES)
def test_real_codes_and_gansu_fixtures_pass(code):
    assert check_uscc([code])[0] == 0
    assert explain_uscc(code) is None


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("91350213751625538", LENGTH),
        ("91350213751625538WW", LENGTH),
        ("9135021375162553IW", CHARSET_ERROR),  # I is not in the charset
        ("91350213751625538w", CHARSET_ERROR),  # lower case is the normaliser's job
        ("９1350213751625538W", CHARSET_ERROR),  # full-width: 18 characters, not ASCII
        ("00000000000000000X", PLACEHOLDER),  # as 许可机关代码 in real sample data
        ("000000000000000000", PLACEHOLDER),  # would even pass the check character
        ("B1350213751625538W", AUTHORITY),  # no registration authority B
        ("94350213751625538W", AUTHORITY),  # 工商 has no category 4
        ("Y2620000123456788M", AUTHORITY),  # 其他 has only category 1
        ("913502A3751625538W", DIVISION),
        ("91350213751625539W", ORG_CHECK),
        ("91350213751625538X", CHECK),
    ],
)
def test_reason_codes(value, reason):
    assert check_uscc([value])[0] == reason
    zh, en = explain_uscc(value)
    assert zh and en


def test_explanations_name_the_expected_character():
    zh, en = explain_uscc("91350213751625538X")
    assert "应为 W" in zh and "should be W" in en
    zh, en = explain_uscc("91350213751625539W")
    assert "应为 8" in zh and "should be 8" in en


def test_missing_values_are_not_this_rules_business():
    assert list(check_uscc([None, "", "  ", float("nan")])) == [0, 0, 0, 0]


def test_result_is_int8_and_accepts_series_arrow_and_lists():
    values = [*REAL_CODES, "bad", None]
    expected = check_uscc(values)
    assert expected.dtype == np.int8
    series = pd.Series(values, index=range(100, 100 + len(values)), dtype="str")
    for form in (series, pa.array(values), pa.chunked_array([values[:3], values[3:]]),
                 np.array(values, dtype=object)):
        assert list(check_uscc(form)) == list(expected)


def test_uscc_check_char_rejects_bad_input():
    with pytest.raises(ValueError):
        uscc_check_char("9135021375162553")
    with pytest.raises(ValueError):
        uscc_check_char("9135021375162553I")


# ---------------------------------------------------------------- the authority table


def test_authority_table_is_the_one_in_the_reference():
    assert {d: sorted(k) for d, (_, k) in REGISTRATION_AUTHORITIES.items()} == {
        "1": ["1", "2", "3", "9"], "2": ["1", "9"], "3": ["1", "2", "3", "4", "5", "9"],
        "4": ["1", "9"], "5": ["1", "2", "3", "9"], "6": ["1", "2", "9"], "7": ["1", "2", "9"],
        "8": ["1", "9"], "9": ["1", "2", "3"], "A": ["1", "9"], "N": ["1", "2", "3", "9"],
        "Y": ["1"],
    }
    assert REGISTRATION_AUTHORITIES["3"][0] == "司法行政"  # not the wrong 教育/公安 lists
    assert REGISTRATION_AUTHORITIES["9"][0] == "工商"


def test_every_pair_outside_the_table_is_an_authority_error():
    legal = set(PREFIXES)
    pairs = [dept + kind for dept in CHARSET for kind in CHARSET]
    codes = []
    for pair in pairs:
        first17 = pair + "350213751625538"  # the worked example's positions 3–17
        codes.append(first17 + uscc_check_char(first17))
    reasons = check_uscc(codes)
    assert {p for p, r in zip(pairs, reasons, strict=True) if r == 0} == legal
    assert {int(r) for r in reasons if r} == {AUTHORITY}


# ---------------------------------------------------------------- properties


@settings(max_examples=200)
@given(st.text(CHARSET, min_size=17, max_size=17))
def test_check_char_always_completes_a_code_whose_sum_is_zero(first17):
    code = first17 + uscc_check_char(first17)
    values = [CHARSET.index(c) for c in code]
    weights = [*uscc.WEIGHTS, 1]
    assert sum(v * w for v, w in zip(values, weights, strict=True)) % 31 == 0
    # and the rule never blames the check character of such a code
    assert check_uscc([code])[0] != CHECK


@settings(max_examples=200)
@given(valid_usccs())
def test_generated_codes_are_valid(code):
    assert check_uscc([code])[0] == 0


@settings(max_examples=200)
@given(corrupted(valid_usccs()))
def test_every_single_character_corruption_is_caught(pair):
    _, bad = pair
    assert check_uscc([bad])[0] != 0


# ---------------------------------------------------------------- python-stdnum as an oracle


@settings(max_examples=200)
@given(valid_usccs(DIGIT_PREFIXES))
def test_stdnum_agrees_on_valid_digit_prefixed_codes(code):
    assert stdnum_uscc.is_valid(code)


@settings(max_examples=200)
@given(valid_usccs(LETTER_PREFIXES))
def test_the_documented_difference_stdnum_rejects_valid_a_n_y_codes(code):
    assert check_uscc([code])[0] == 0
    assert not stdnum_uscc.is_valid(code)


@settings(max_examples=200)
@given(corrupted(valid_usccs()))
def test_stdnum_agrees_on_single_character_corruptions(pair):
    _, bad = pair
    assert check_uscc([bad])[0] != 0
    assert not stdnum_uscc.is_valid(bad)


@settings(max_examples=200)
@given(st.text(CHARSET, min_size=17, max_size=17))
def test_where_stdnum_is_looser_it_is_for_the_documented_checks_only(first17):
    """Huiju accepts ⊂ stdnum accepts (for digit positions 1–8); stdnum accepts codes Huiju
    rejects only for the checks stdnum does not make: the authority table, the embedded
    organisation code's check character and the all-zero placeholder."""
    code = first17 + uscc_check_char(first17)
    ours = check_uscc([code])[0]
    theirs = stdnum_uscc.is_valid(code)
    if code[:8].isdigit():
        assert theirs, code  # the weighted check and charset are the same
        if ours:
            assert ours in (AUTHORITY, ORG_CHECK, PLACEHOLDER), code
    else:
        assert not theirs
        if ours == 0:
            assert code[0] in "ANY"


def test_stdnum_tidies_input_that_huiju_leaves_to_the_normaliser():
    # stdnum upper-cases and drops spaces, hyphens and full-width forms before checking;
    # Huiju's rule judges the value as given (text.normalise_code does the tidying).
    for raw in ("91350213751625538w", "9135 0213751625538W", "913502137516255３8W"):
        assert stdnum_uscc.is_valid(raw)
        assert check_uscc([raw])[0] != 0


def test_stdnum_accepts_the_all_zero_placeholder():
    assert stdnum_uscc.is_valid("000000000000000000")
    assert check_uscc(["000000000000000000"])[0] == PLACEHOLDER


def test_a_n_y_example_from_the_reference():
    assert not stdnum_uscc.is_valid("N2620121MF0000AB9K")
    assert check_uscc(["N2620121MF0000AB9K"])[0] == 0
