"""The national code tables (58 tables, 5 761 codes) shipped as data, loadable by name.

``code_tables.csv`` is copied verbatim from the domain notes (S1 ``dictionary.json``);
``local_code_tables.csv`` holds the few tables Huiju needs that the national list lacks
(each row says where it comes from). Codes are strings: leading zeros are significant.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class CodeTable:
    """A code table: its codes with their Chinese labels."""

    name: str
    labels: dict[str, str]  # code -> Chinese label, in file order

    @property
    def codes(self) -> frozenset[str]:
        """Every code of the table."""
        return frozenset(self.labels)

    def label(self, code: str) -> str:
        """The label of ``code`` (KeyError if it is not a code of the table)."""
        return self.labels[code]

    def code_for(self, label: str) -> str | None:
        """The code whose label is exactly ``label`` (for legacy systems that store labels)."""
        for code, known in self.labels.items():
            if known.strip() == label.strip():
                return code
        return None


@cache
def _all_tables() -> dict[str, CodeTable]:
    tables: dict[str, dict[str, str]] = {}
    for filename in ("code_tables.csv", "local_code_tables.csv"):
        text = resources.files("schemas").joinpath(filename).read_text(encoding="utf-8")
        for row in csv.DictReader(line for line in text.splitlines() if not line.startswith("#")):
            table = tables.setdefault(row["table"], {})
            if row["code"] in table:
                raise ValueError(f"{filename}: code {row['code']!r} twice in {row['table']}")
            table[row["code"]] = row["label"]
    return {name: CodeTable(name, labels) for name, labels in tables.items()}


def code_table(name: str) -> CodeTable:
    """The code table called ``name`` (its Chinese name, e.g. ``处罚种类``)."""
    try:
        return _all_tables()[name]
    except KeyError:
        raise KeyError(f"unknown code table {name!r}") from None


def table_names() -> list[str]:
    """Names of every code table (national and local), sorted."""
    return sorted(_all_tables())
