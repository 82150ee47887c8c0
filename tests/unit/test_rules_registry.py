"""The RULES registry: the contract every rule keeps, and the smaller rules (catalog codes,
exchange columns, years, ratios, USCC-or-ID)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from schemas.model import CHECK_FAMILIES
from schemas.rules import RULES, ValueRule
from schemas.rules.catalog import (
    LIST_LEVEL,
    LIST_TOO_LONG,
    LIST_TOO_SHORT,
    LIST_USCC,
    SUPERVISE_DIGITS,
    SUPERVISE_LENGTH,
)
from schemas.rules.exchange import BATCH_DATE, BATCH_FORMAT, BATCH_SEQUENCE, OPERATION_UNKNOWN
from schemas.rules.numbers import (
    RATIO_NUMBER,
    RATIO_RANGE,
    YEAR_FORMAT,
    YEAR_RANGE,
    check_year,
)

CONTRACT_NAMES = {
    "uscc", "id_card", "uscc_or_id_card", "org_code", "gansu_division_code",
    "supervise_item_code", "check_list_code", "year", "ratio", "not_future", "batch_id",
    "operation",
}
EXPECTED_FAMILIES = {
    "uscc": "06", "id_card": "07", "uscc_or_id_card": "06", "org_code": "01",
    "gansu_division_code": "01", "supervise_item_code": "03", "check_list_code": "04",
    "year": "10", "ratio": "01", "not_future": "10", "batch_id": "02", "operation": "02",
}
# per rule: a valid value and an invalid one
SAMPLES = {
    "uscc": ("91350213751625538W", "91350213751625538X"),
    "id_card": ("11010519491231002X", "110105194912310021"),
    "uscc_or_id_card": ("11010519491231002X", "91350213751625538X"),
    "org_code": ("75162553-8", "75162553-9"),
    "gansu_division_code": ("620102", "620171"),
    "supervise_item_code": ("12345678901234", "1234567890123"),
    "check_list_code": ("91350213751625538W1", "91350213751625538W6"),
    "year": ("2021", "1999"),
    "ratio": ("99.5", "100.5"),
    "not_future": ("2021-03-26", "2999-03-26"),
    "batch_id": ("2019041100002", "2019041100000"),
    "operation": ("u", "x"),
}


def test_registry_has_exactly_the_contract_names():
    assert set(RULES) == CONTRACT_NAMES
    assert all(name == rule.name for name, rule in RULES.items())


@pytest.mark.parametrize("name", sorted(CONTRACT_NAMES))
def test_rule_declaration(name):
    rule = RULES[name]
    assert isinstance(rule, ValueRule)
    assert rule.family == EXPECTED_FAMILIES[name]
    assert rule.family in CHECK_FAMILIES
    assert rule.zh and rule.en
    assert rule.reasons and all(isinstance(code, int) and 0 < code < 128 for code in rule.reasons)
    for zh, en in rule.reasons.values():
        assert zh.strip() and en.strip()
        assert zh != en


@pytest.mark.parametrize("name", sorted(CONTRACT_NAMES))
def test_rule_contract_on_every_input_form(name):
    rule = RULES[name]
    good, bad = SAMPLES[name]
    values = [good, bad, None, ""]
    expected = rule.check(values)
    assert expected.dtype == np.int8
    assert expected[0] == 0 and expected[1] in rule.reasons
    assert list(expected[2:]) == [0, 0]  # missing is the required-rule's business
    forms = [
        pd.Series(values, dtype="str", index=[10, 11, 12, 13]),
        pd.Series(values, dtype=object),
        pa.array(values),
        pa.chunked_array([values[:1], values[1:]]),
        np.array(values, dtype=object),
        tuple(values),
    ]
    for form in forms:
        assert list(rule.check(form)) == list(expected), type(form)
    assert len(rule.check([])) == 0


@pytest.mark.parametrize("name", sorted(CONTRACT_NAMES))
def test_every_returned_reason_code_is_declared(name):
    rule = RULES[name]
    junk = ["", "x", "0", "00000000000000000000", "9" * 800 + "9", "1" * 19, "１２", "长期",
            "-1", "62", "2021", "2021-02-30", "20210230000001", "i ", "I", "abc-def", "%"]
    codes = set(rule.check(junk).tolist()) - {0}
    assert codes <= set(rule.reasons)
    assert all(m is None or len(m) == 2 for m in rule.messages(rule.check(junk)))


def test_explain_is_offered_where_a_check_character_can_be_named():
    for name in ("uscc", "id_card", "org_code"):
        assert RULES[name].explain is not None
        assert RULES[name].explain(SAMPLES[name][0]) is None
        zh, en = RULES[name].explain(SAMPLES[name][1])
        assert "应为" in zh and "should be" in en


# ---------------------------------------------------------------- the smaller rules


def test_uscc_or_id_card():
    check = RULES["uscc_or_id_card"].check
    assert list(check(["91350213751625538W", "11010519491231002X", "N2620121MF0000AB9K",
                       "91350213751625538X", "110105194912310021", "x"])) == [0, 0, 0, 1, 1, 1]


def test_supervise_item_code():
    check = RULES["supervise_item_code"].check
    assert list(check(["12345678901234", "1234567890123", "123456789012345", "1234567890123A",
                       "１２３４５６７８９０１２３４"])) == [
        0, SUPERVISE_LENGTH, SUPERVISE_LENGTH, SUPERVISE_DIGITS, SUPERVISE_DIGITS]


def test_check_list_code():
    check = RULES["check_list_code"].check
    uscc = "91350213751625538W"
    assert list(check([uscc + "1", uscc + "5" + "12345678901234" + "0001", uscc + "0",
                       uscc + "6", "91350213751625538X1", uscc, uscc + "1" + "x" * 782,
                       "N2620121MF0000AB9K3"])) == [
        0, 0, LIST_LEVEL, LIST_LEVEL, LIST_USCC, LIST_TOO_SHORT, LIST_TOO_LONG, 0]
    assert check([uscc + "1" + "x" * 781])[0] == 0  # exactly 800


def test_year():
    today = dt.date(2024, 6, 1)
    values = ["2000", "2025", "2026", "1999", "24", "2024年", None]
    assert list(check_year(values, today)) == [0, 0, YEAR_RANGE, YEAR_RANGE, YEAR_FORMAT,
                                               YEAR_FORMAT, 0]
    assert list(check_year(pd.Series([2021, 2021.0, None]), today)) == [0, 0, 0]
    assert list(check_year(pd.Series([2021, None], dtype="Int64"), today)) == [0, 0]


def test_ratio():
    check = RULES["ratio"].check
    assert list(check(["0", "100", "99.5", "85%", ".5", "-0.1", "100.01", "abc", "1e2"])) == [
        0, 0, 0, 0, 0, RATIO_RANGE, RATIO_RANGE, RATIO_NUMBER, RATIO_NUMBER]
    assert list(check(pd.Series([50.0, 150.0, np.nan]))) == [0, RATIO_RANGE, 0]


def test_batch_id():
    check = RULES["batch_id"].check
    assert list(check(["2019041100002", "2019041100001", "2019041100000", "2019023000001",
                       "201904110002", "20190411000021", "2019-04-1100002"])) == [
        0, 0, BATCH_SEQUENCE, BATCH_DATE, BATCH_FORMAT, BATCH_FORMAT, BATCH_FORMAT]


def test_operation():
    check = RULES["operation"].check
    assert list(check(["i", "u", "d", "I", "insert", "x"])) == [0, 0, 0] + [OPERATION_UNKNOWN] * 3


def test_module_patterns_run_in_pyarrows_regex_engine():
    """pandas runs a str-method regex in pyarrow (RE2, vectorised) only if RE2 can parse it;
    otherwise it silently loops in Python per value. Keep every pattern RE2-clean."""
    import pyarrow.compute as pc

    from schemas.rules import amounts, dates, text

    for pattern in (text._LABEL, text._COUNTER, dates._YMD, dates._SERIAL, amounts._NOISE,
                    amounts._NUMBER):
        pc.match_substring_regex(pa.array(["x"]), pattern)  # raises on RE2-invalid syntax
