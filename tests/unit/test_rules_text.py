"""text.normalise_code: NFKC, trimming, labels, page counters and missing markers."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.rules.text import normalise_code


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("９１６２０１００ＭＡ７１ＡＢＣＤ８Ｈ", "91620100MA71ABCD8H"),  # full-width
        ("统一社会信用代码：91620100MA71ABCD8H", "91620100MA71ABCD8H"),
        ("统一社会信用代码: 91620100MA71ABCD8H", "91620100MA71ABCD8H"),
        ("统一社会信用代码91620100MA71ABCD8H", "91620100MA71ABCD8H"),  # known label, no colon
        ("身份证号:11010519491231002x", "11010519491231002X"),
        ("证件号码：11010519491231002X", "11010519491231002X"),
        ("91620100MA71ABCD8H（1/1）", "91620100MA71ABCD8H"),
        ("91620100MA71ABCD8H(1/1)", "91620100MA71ABCD8H"),
        ("91620100MA71ABCD8H ( 2 / 3 )", "91620100MA71ABCD8H"),
        ("91620100MA71ABCD8H()", "91620100MA71ABCD8H"),
        ("91620100MA71（1/1）ABCD8H", "91620100MA71ABCD8H"),  # embedded
        ("\u300091620100ma71abcd8h\u00a0\t", "91620100MA71ABCD8H"),
        ("75162553-8", "75162553-8"),  # the hyphen of an organisation code stays
        ("620102", "620102"),
    ],
)
def test_cleans(raw, clean):
    assert normalise_code([raw]).tolist() == [clean]


@pytest.mark.parametrize(
    "raw", ["undefined", "UNDEFINED", "null", "NULL", "无", "/", "-", "", "  ", "\u3000",
            "（1/1）", "统一社会信用代码：", "None", None])
def test_missing_markers_become_missing(raw):
    assert pd.isna(normalise_code([raw]).iloc[0])


def test_returns_a_str_series_keeping_the_index():
    result = normalise_code(pd.Series([" a ", None], index=[4, 2]))
    assert str(result.dtype) == "str"
    assert result.index.tolist() == [4, 2]
    assert normalise_code(pa.array([" a "])).tolist() == ["A"]


def test_numbers_from_excel_lose_the_float_tail():
    assert normalise_code(pd.Series([620102.0, None])).tolist()[0] == "620102"


# code-like values built from the pieces legacy exports contain
PIECES = [*"0123456789ABXaxz-/()（）：:　 \t\u00a0１Ｘ无", "统一社会信用代码", "身份证号",
          "undefined", "null", "(1/1)", "（1/1）", "()"]
CODEISH = st.lists(st.sampled_from(PIECES), max_size=8).map("".join)


@settings(max_examples=150)
@given(st.lists(st.one_of(st.none(), CODEISH, st.text(max_size=10)), min_size=1, max_size=8))
def test_idempotent(values):
    once = normalise_code(values)
    twice = normalise_code(once)
    pd.testing.assert_series_equal(once, twice)


@settings(max_examples=150)
@given(st.lists(st.one_of(st.none(), CODEISH), min_size=1, max_size=8))
def test_output_is_trimmed_upper_case_and_never_a_missing_marker(values):
    for value in normalise_code(values).dropna():
        assert value == value.strip()
        assert value == value.upper()
        assert value not in ("", "UNDEFINED", "NULL", "无", "/", "-")
