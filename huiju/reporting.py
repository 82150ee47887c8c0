"""Accounting summaries shown to people: per department and data set, where every row went."""

from __future__ import annotations

from rich.table import Table

COLUMNS = ("extracted", "loaded", "quarantined", "superseded")


def accounting_table(results: list[dict], title: str | None = None) -> Table:
    """One line per feed run: extracted = loaded + quarantined + superseded, and the merge."""
    table = Table(title=title)
    table.add_column("department")
    table.add_column("source → data set")
    table.add_column("batch")
    for name in COLUMNS:
        table.add_column(name, justify="right")
    table.add_column("inserted/updated/deleted/unchanged", justify="right")
    table.add_column("balanced")
    for result in results:
        balanced = result["extracted"] == sum(result[name] for name in COLUMNS[1:])
        merge = "/".join(str(result[k]) for k in ("inserted", "updated", "deleted", "unchanged"))
        batch = result["batch_id"] + (" (already loaded)" if result["already_loaded"] else "")
        table.add_row(result["department"], f"{result['source']} → {result['dataset']}", batch,
                      *(str(result[name]) for name in COLUMNS), merge,
                      "yes" if balanced else "[red]NO[/red]")
    return table
