"""Spreadsheet cells: formula-like department values never run, and stay recoverable."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from huiju.cells import FORMULA_STARTS, neutralise, recover


def test_formula_like_values_get_a_leading_quote():
    for value in ["=HYPERLINK(\"http://x\",\"点此\")", "+1", "-2+3", "@SUM(A1)", "\tx", "\r=1"]:
        assert neutralise(value) == "'" + value


def test_plain_values_and_non_strings_pass_unchanged():
    for value in ["甘肃省市场监督管理局", "91620100MA71XXXX0X", "2024-11-02", "", None, 2000, 0.2]:
        assert neutralise(value) == value


@given(st.text())
def test_any_text_round_trips_and_never_starts_like_a_formula(value):
    cell = neutralise(value)
    assert recover(cell) == value
    assert not str(cell).startswith(FORMULA_STARTS)
