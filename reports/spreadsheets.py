"""xlsx files for departments and auditors: Chinese text intact, every cell neutralised.

openpyxl writes Office Open XML (UTF-8 inside), so Chinese opens correctly in Excel and WPS.
Every cell value passes through :func:`huiju.cells.neutralise` — a department's raw value
``=HYPERLINK(…)`` is written as the text ``'=HYPERLINK(…)`` and never runs — and is written
with the string type explicitly, so openpyxl itself never reads a leading ``=`` as a formula.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from datetime import datetime

from openpyxl import Workbook
from openpyxl.cell.cell import TYPE_STRING

from huiju.cells import neutralise


def _cell_value(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()  # Excel has no time zones; keep the offset as text
    if isinstance(value, dict | list):
        return str(value)
    return neutralise(value)


def workbook_bytes(sheets: Sequence[tuple[str, Sequence[str], Iterable[Sequence]]]) -> bytes:
    """An xlsx of ``(sheet title, header, rows)`` sheets, as bytes."""
    book = Workbook()
    book.remove(book.active)
    for title, header, rows in sheets:
        sheet = book.create_sheet(title[:31])
        sheet.append([_cell_value(h) for h in header])
        for row in rows:
            sheet.append([_cell_value(v) for v in row])
            for cell in sheet[sheet.max_row]:
                if isinstance(cell.value, str):
                    cell.data_type = TYPE_STRING  # text, never a formula
        sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
