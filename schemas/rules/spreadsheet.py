"""Spreadsheet damage: values that show how Excel changed a cell before the file was exported.

A department clerk types an 18-digit ID number into a cell formatted as a number: Excel keeps 15
significant digits and shows ``6.20521199703114E+17``; exported to CSV it becomes
``620521199703114000``; a date typed as ``2021`` (a year alone) is day 2021 of Excel's calendar
(1905-07-13). A rule can only say that such a value is wrong; these functions say what
happened and how to fix the export, in words a clerk understands. They look at the failing
values only (a valid ID number may end in ``000``), vectorised over the column.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["DAMAGE", "date_damage", "identifier_damage"]

# (pattern over the whole value, zh, en) — the first that matches explains the value.
DAMAGE: tuple[tuple[str, str, str], ...] = (
    (r"[+-]?\d(?:\.\d+)?[Ee][+-]?\d+",
     "表格把这个号码当成数字保存，显示成了科学计数法，第15位以后的数字已经丢失，无法恢复。"
     "请在原表中把这一列设置为“文本”格式，重新录入（或从业务系统重新导出）号码后再报送",
     "the spreadsheet stored this number as a number and shows it in scientific notation; "
     "the digits after the 15th are lost and cannot be recovered. Format the column as Text "
     "in the workbook, re-enter (or re-export) the numbers and send the file again"),
    (r"[1-9]\d{14}0+",
     "号码末尾变成了0：表格把它当成数字保存，只保留了前15位，后面的数字已经丢失。"
     "请把这一列设置为“文本”格式，重新录入（或重新导出）号码后再报送",
     "the number ends in zeros: the spreadsheet stored it as a number and kept only 15 "
     "significant digits, the digits after them were lost. Format the column as Text, "
     "re-enter (or re-export) the numbers and send the file again"),
    (r"\d+\.0+",
     "号码后面多了“.0”：表格把它当成数字保存了。请把这一列设置为“文本”格式后重新导出",
     "the number has a trailing '.0': the spreadsheet stored it as a number. Format the "
     "column as Text and export again"),
)

_YEAR_ONLY = r"(?:19|20)\d{2}(?:\.\d{1,2})?"


def identifier_damage(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """For each (failing) identifier value, the zh and en explanation of the spreadsheet damage
    it shows, or ``""`` where it shows none."""
    text = values.astype("str").fillna("").str.strip()
    zh = pd.Series("", index=values.index, dtype="str")
    en = pd.Series("", index=values.index, dtype="str")
    for pattern, says_zh, says_en in reversed(DAMAGE):  # reversed: the first match wins
        hit = text.str.fullmatch(pattern).fillna(False).to_numpy(dtype=bool)
        zh = zh.mask(hit, says_zh)
        en = en.mask(hit, says_en)
    return zh, en


def date_damage(text: pd.Series) -> pd.Series:
    """Date texts that Excel would read as a day number although a person meant a year (or a
    year and month): ``2021`` is 1905-07-13, ``2021.3`` the same day. True where so."""
    clean = text.astype("str").str.strip()
    return clean.str.fullmatch(_YEAR_ONLY).fillna(False).astype(bool)
