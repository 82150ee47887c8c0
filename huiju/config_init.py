"""``huiju config init --from-table``: a department file drafted from a live legacy table.

The table's columns are read (SQLAlchemy reflection, nothing else) and matched to the standard
fields of the data set by Chinese name — a column named exactly as the national standard
names a field (after Unicode normalisation and without spaces), or by its English field name.
The draft says, in comments, what it could not decide: the columns left over, and the
required fields no column fills. The URL is never written: the draft names a secret for it.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass

import sqlalchemy as sa

from schemas.catalog import dataset as dataset_spec

# Column names that usually hold a row's update time: the draft's cursor column.
CURSOR_NAMES = ("更新时间", "修改时间", "最后更新时间", "update_time", "updated_at", "gxsj")


@dataclass
class Draft:
    """The drafted file's text and what went into it."""

    text: str
    matched: dict[str, str]  # standard field → legacy column
    unmatched_columns: list[str]
    missing_required: list[str]


def _key(name: str) -> str:
    return "".join(unicodedata.normalize("NFKC", name).split()).lower()


def _q(text: str) -> str:
    """A YAML scalar (JSON strings are valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def draft(url: str, table: str, dataset: str, *, schema: str | None = None) -> Draft:
    """Draft a department file feeding ``dataset`` from ``table`` at ``url``."""
    spec = dataset_spec(dataset)
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        inspector = sa.inspect(engine)
        columns = inspector.get_columns(table, schema=schema)
        primary_key = inspector.get_pk_constraint(table, schema=schema).get(
            "constrained_columns") or []
    finally:
        engine.dispose()
    by_key = {}
    for column in columns:
        by_key.setdefault(_key(column["name"]), column["name"])
    matched: dict[str, str] = {}
    for spec_field in spec.fields:
        found = by_key.get(_key(spec_field.zh)) or by_key.get(_key(spec_field.name))
        if found and found not in matched.values():
            matched[spec_field.name] = found
    names = [c["name"] for c in columns]
    unmatched = [n for n in names if n not in matched.values()]
    missing = [f.name for f in spec.fields if f.required and f.name not in matched]
    cursor = next((n for n in names if _key(n) in {_key(c) for c in CURSOR_NAMES}), None)
    return Draft(_render(spec, table, schema, names, primary_key, cursor, matched, unmatched,
                         missing), matched, unmatched, missing)


def _render(spec, table, schema, names, primary_key, cursor, matched, unmatched,
            missing) -> str:
    extract = {"table": table, "primary_key": primary_key or ["TODO"]}
    if schema:
        extract["db_schema"] = schema
    if cursor:
        extract["cursor_column"] = cursor
    lines = [
        f"# Drafted by `huiju config init --from-table` from table {table} ({len(names)} "
        f"columns) for {spec.name} ({spec.zh}):",
        f"# {len(matched)} columns matched a standard field by name. Fill in every TODO, "
        "then run `huiju config check` and `huiju source check`.",
        'code: "XX-TODO"',
        'name: {zh: "TODO", en: "TODO"}',
        'division_code: "620000"',
        'schedule: "0 2 * * *"',
        "sources:",
        "  - id: legacy",
        "    kind: sql",
        '    system: "TODO"',
        "    connection: {url_secret: HUIJU_SRC_TODO_DB}   # the secret NAME holding the URL",
        "    feeds:",
        f"      - dataset: {spec.name}",
        "        extract: " + json.dumps(extract, ensure_ascii=False),
        "        mapping:",
    ]
    for spec_field in spec.fields:
        if spec_field.name in matched:
            lines.append(f"          {spec_field.name}: {_q(matched[spec_field.name])}"
                         f"   # {spec_field.zh}")
    for name in missing:
        zh = spec.field(name).zh
        lines.append(f"          # {name}: TODO   # {zh} (required; no column of that name)")
    if unmatched:
        lines.append("        # legacy columns not matched: " + ", ".join(unmatched))
    return "\n".join(lines) + "\n"
