"""组织机构代码 rule (GB 11714-1997, REFERENCE §4.3)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.rules.org_code import (
    CHARSET,
    CHECK,
    LENGTH,
    PLACEHOLDER,
    REASONS,
    check_org_code,
    explain_org_code,
    org_code_check_char,
)

BODY_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def test_worked_example():
    assert org_code_check_char("75162553") == "8"
    assert list(check_org_code(["75162553-8", "751625538"])) == [0, 0]


def test_ten_becomes_x_and_eleven_becomes_zero():
    # Σ mod 11 == 1 → 11 - 1 = 10 → X;  Σ mod 11 == 0 → 11 → 0
    assert org_code_check_char("00000001") == "9"  # Σ = 2 → 11 - 2 = 9
    bodies = {}
    for n in range(200):
        body = f"{n:08d}"
        total = sum(int(c) * w for c, w in zip(body, [3, 7, 9, 10, 5, 8, 4, 2], strict=True))
        bodies.setdefault(total % 11, body)
    assert org_code_check_char(bodies[1]) == "X"
    assert org_code_check_char(bodies[0]) == "0"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("75162553", LENGTH),
        ("75162553-", CHARSET),  # nine characters, the last no check character
        ("7516255-38", LENGTH),  # hyphen in the wrong place
        ("75162553_8", LENGTH),
        ("7516255a8", CHARSET),  # lower case is the normaliser's job
        ("75162553Y", CHARSET),  # check is 0-9 or X
        ("00000000-0", PLACEHOLDER),  # passes the arithmetic, but is a placeholder
        ("75162553-9", CHECK),
    ],
)
def test_reason_codes(value, reason):
    assert check_org_code([value])[0] == reason
    assert explain_org_code(value) is not None


def test_explanation_names_the_expected_character():
    zh, en = explain_org_code("75162553-9")
    assert "应为 8" in zh and "should be 8" in en
    assert explain_org_code("75162553-8") is None


def test_letters_i_o_s_v_z_are_legal_in_a_bare_organisation_code():
    body = "IOSVZ123"
    assert check_org_code([body + org_code_check_char(body)])[0] == 0


def test_missing_values_pass():
    assert list(check_org_code([None, "", " "])) == [0, 0, 0]


def test_every_reason_has_messages():
    assert all(zh and en for zh, en in REASONS.values())


@settings(max_examples=200)
@given(st.integers(1, 36**8 - 1), st.booleans())
def test_check_char_always_completes_a_valid_code(number, hyphen):
    body = "".join(BODY_CHARS[number // 36**i % 36] for i in range(8))
    code = body + ("-" if hyphen else "") + org_code_check_char(body)
    assert check_org_code([code])[0] == 0
