"""amounts.to_yuan: exact decimals in 元, from 元 or 万元 text."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.rules.amounts import YUAN_TYPE, to_yuan


@pytest.mark.parametrize(
    ("raw", "unit", "yuan"),
    [
        ("1234.5", "元", "1234.50"),
        ("1,234.50", "元", "1234.50"),
        ("１２３４．５", "元", "1234.50"),  # full-width digits and point
        ("5000元", "元", "5000.00"),
        ("¥ 12", "元", "12.00"),
        ("人民币12元", "元", "12.00"),
        ("-3", "元", "-3.00"),  # negative: validation's business, not parsing's
        (".5", "元", "0.50"),
        ("5.", "元", "5.00"),
        ("12.300", "元", "12.30"),  # trailing zeros beyond 分 are fine
        ("0.1", "万元", "1000.00"),
        ("1.234567", "万元", "12345.67"),
        ("12", "万元", "120000.00"),
        ("0.5万元", "元", "5000.00"),  # the value's own unit wins
        ("5000元", "万元", "5000.00"),
        ("3万", "元", "30000.00"),
        ("999999999999999999.99", "元", "999999999999999999.99"),
    ],
)
def test_parses_exactly(raw, unit, yuan):
    result, bad = to_yuan([raw], unit)
    assert result.iloc[0] == Decimal(yuan)
    assert not bad[0]


@pytest.mark.parametrize(
    ("raw", "unit"),
    [("abc", "元"), ("1.2.3", "元"), ("元", "元"), ("-", "元"), ("1e5", "元"),
     ("1.234", "元"),  # finer than 分: flagged, never rounded
     ("0.1234567", "万元"), ("1000000000000000000", "元"), ("12 34x", "元")],
)
def test_flags_unparseable(raw, unit):
    result, bad = to_yuan([raw], unit)
    assert pd.isna(result.iloc[0])
    assert bad[0]


def test_missing_is_not_flagged_and_dtype_is_exact_decimal():
    result, bad = to_yuan(pd.Series([None, "", "1"], index=[5, 6, 7]))
    assert result.dtype == pd.ArrowDtype(YUAN_TYPE)
    assert result.index.tolist() == [5, 6, 7]
    assert result.isna().tolist() == [True, True, False]
    assert not bad.any()


def test_numbers_and_arrow_input():
    assert to_yuan(pd.Series([12.5, 3.0]))[0].tolist() == [Decimal("12.50"), Decimal("3.00")]
    assert to_yuan(pa.array(["0.01"]), "万元")[0].tolist() == [Decimal("100.00")]


def test_unknown_unit_is_an_error():
    with pytest.raises(ValueError):
        to_yuan(["1"], "千元")


@settings(max_examples=200)
@given(st.decimals(min_value=0, max_value=10**13, places=6, allow_nan=False))
def test_wan_yuan_is_exactly_ten_thousand_yuan(amount):
    text = f"{amount:f}"
    result, bad = to_yuan([text], "万元")
    expected = amount * 10000
    if expected == expected.quantize(Decimal("0.01")):
        assert not bad[0]
        assert result.iloc[0] == expected
    else:  # finer than 分
        assert bad[0]
