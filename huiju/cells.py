"""Spreadsheet cells a department can open safely (OWASP "CSV injection").

Department values are hostile input: a raw value such as ``=HYPERLINK(...)`` or ``@SUM(...)``
would run as a formula when a clerk opens the rejection list in Excel or WPS. Every CSV or xlsx
cell Huiju writes goes through :func:`neutralise`, which prefixes a single quote to a value that
starts with a formula character (``= + - @``, tab or carriage return). Values that already start
with a quote are prefixed too, so :func:`recover` (drop one leading quote) gives back the raw
value exactly, whatever it was.
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


def neutralise(value: object) -> object:
    """The cell text to write for ``value``: formula-like strings get a leading ``'``.

    >>> neutralise("=1+1"), neutralise("-5"), neutralise("'x"), neutralise("甘肃"), neutralise(3)
    ("'=1+1", "'-5", "''x", '甘肃', 3)
    """
    if isinstance(value, str) and value.startswith((*FORMULA_STARTS, QUOTE)):
        return QUOTE + value
    return value


def recover(cell: object) -> object:
    """The raw value a neutralised cell stands for (the inverse of :func:`neutralise`).

    >>> recover("'=1+1"), recover("''x"), recover("甘肃")
    ('=1+1', "'x", '甘肃')
    """
    if isinstance(cell, str) and cell.startswith(QUOTE):
        return cell[1:]
    return cell


def neutralise_row(row: dict) -> dict:
    """A copy of ``row`` with every value neutralised."""
    return {name: neutralise(value) for name, value in row.items()}
