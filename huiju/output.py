"""How listing commands print: ``--format table|csv|json``, one shape for people and machines.

A command hands over *sections* — a title, column names and rows (dicts) — and this module
writes them: ``json`` as one object ``{section: [row, …]}`` (the same keys whatever is found);
``csv`` one header and rows per section, sections separated by a blank line and a ``# title``
line; ``table`` as rich tables. Piped (cron, CI, Airflow logs, a file) a table never truncates
or folds an identifier: it is printed on a console wide enough for its widest row, cells
never wrapped — so a source reference can be copied from it as is.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TextIO

FORMATS = ("table", "csv", "json")


@dataclass
class Section:
    """One listing: its title, its columns (in order) and its rows (dicts by column)."""

    title: str
    columns: Sequence[str]
    rows: list[dict] = field(default_factory=list)
    key: str | None = None  # its name in JSON (default: the title)


def add_format_option(parser) -> None:
    """Give ``parser`` the ``--format`` option."""
    parser.add_argument("--format", choices=FORMATS, default="table",
                        help="output: a table (default), CSV or JSON")


def _plain(value: Any) -> Any:
    """A JSON-able value: dates in ISO form, decimals as strings, the rest as is."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict | list | str | int | float | bool) or value is None:
        return value
    return str(value)


def _cell(value: Any) -> str:
    """A value as a table or CSV cell."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def emit(sections: Iterable[Section], fmt: str = "table", *, out: TextIO | None = None,
         notes: Sequence[str] = ()) -> None:
    """Write ``sections`` to ``out`` (stdout) in ``fmt``; ``notes`` are sentences for people.

    Notes go below the tables, or to stderr in CSV and JSON so that the output still parses.
    """
    out = out or sys.stdout
    sections = list(sections)
    if fmt == "json":
        data = {(s.key or s.title): [{c: _plain(r.get(c)) for c in s.columns} for r in s.rows]
                for s in sections}
        out.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    elif fmt == "csv":
        for index, section in enumerate(sections):
            if len(sections) > 1:
                out.write(("\n" if index else "") + f"# {section.title}\n")
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(section.columns)
            writer.writerows([_cell(r.get(c)) for c in section.columns] for r in section.rows)
    else:
        _tables(sections, out, notes)
        return
    for note in notes:
        sys.stderr.write(note + "\n")


def console(out: TextIO | None = None, width: int | None = None):
    """A rich console on ``out``: the terminal's width on a TTY, else ``width`` (or 200)."""
    from rich.console import Console

    out = out or sys.stdout
    if out.isatty():
        return Console(file=out, highlight=False)
    return Console(file=out, width=width or 200, highlight=False, soft_wrap=True,
                   color_system=None)


def grid(*columns: str, title: str | None = None, out: TextIO | None = None):
    """A rich table whose cells, when ``out`` (stdout) is not a terminal, never fold or cut."""
    from rich.table import Table

    return unfold(Table(*columns, title=title, title_justify="left"), out)


def unfold(table, out: TextIO | None = None):
    """``table`` with cells that never fold or cut when ``out`` (stdout) is not a terminal."""
    if not (out or sys.stdout).isatty():
        for column in table.columns:
            column.no_wrap = True
            column.overflow = "ignore"
    return table


def _tables(sections: list[Section], out: TextIO, notes: Sequence[str]) -> None:
    width = max((_row_width(s) for s in sections), default=80)
    # piped, the console is as wide as the widest row: an identifier is never folded or cut
    screen = console(out, width=max(width, 80))
    for section in sections:
        table = grid(*section.columns, title=section.title, out=out)
        for row in section.rows:
            table.add_row(*(_cell(row.get(c)) for c in section.columns))
        screen.print(table)
    for note in notes:
        screen.print(note, markup=False)


def _row_width(section: Section) -> int:
    """Characters the widest rendering of ``section`` needs (wide characters count twice)."""
    from rich.cells import cell_len

    widths = [cell_len(str(c)) for c in section.columns]
    for row in section.rows:
        for i, column in enumerate(section.columns):
            widths[i] = max(widths[i], cell_len(_cell(row.get(column))))
    return sum(widths) + 3 * len(widths) + 4
