"""What is still quarantined, per department: listing, export, and resolving by hand.

A quarantined record stays ``open`` until a later batch of the same department and data set
loads it cleanly (the department fixed it at the source); the load marks it ``resolved``.
Some records no batch can resolve: a line the connector could not read has no business key,
so its corrected values, re-sent in another file, are a new record. A data engineer resolves
those by hand with a reason (``resolve``), recorded under the identity that ran the command
in the append-only action log; failing again reopens them.

Beside them stand the records a receiving platform rejected (``platform_rejections``: the
platform's code and reason per error, from ``delivery.rejection``): the department fixes those
at the source too, and the corrected version, once the platform accepts it, resolves them.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from huiju.cells import neutralise_row
from warehouse.actions import record_action
from warehouse.outbox import rejections
from warehouse.tables import QUARANTINE, table

EXPORT_COLUMNS = ("department_code", "dataset", "source_id", "source_ref", "record_id",
                  "batch_id", "rule_id", "family", "field", "message_zh", "message_en",
                  "raw_value", "status", "first_seen_at", "last_seen_at", "resolved_batch_id",
                  "resolved_at", "resolved_by", "resolution_note")


def quarantined(engine: sa.Engine, *, department: str | None = None, dataset: str | None = None,
                status: str | None = "open") -> list[dict]:
    """Quarantine rows (one per failed rule per record), oldest first."""
    record = table(QUARANTINE, "record")
    query = sa.select(*(record.c[name] for name in EXPORT_COLUMNS))
    if department:
        query = query.where(record.c.department_code == department)
    if dataset:
        query = query.where(record.c.dataset == dataset)
    if status:
        query = query.where(record.c.status == status)
    query = query.order_by(record.c.department_code, record.c.dataset, record.c.source_ref,
                           record.c.rule_id)
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def by_record(rows: list[dict]) -> list[dict]:
    """The failure rows of :func:`quarantined` as one row per record, its rules aggregated.

    ``rules``, ``fields``, ``problems``/``问题`` and ``values`` list each failure's in rule
    order (a field or value once); ``status`` is ``open`` if any failure is.
    """
    records: dict[tuple, dict] = {}
    for row in rows:
        key = (row["department_code"], row["dataset"], row["source_ref"])
        record = records.setdefault(key, {
            "department_code": key[0], "dataset": key[1], "source_ref": key[2],
            "record_id": row["record_id"], "_rules": [], "_fields": [], "_en": [], "_zh": [],
            "_values": [], "status": row["status"], "last_seen_at": row["last_seen_at"]})
        record["_rules"].append(row["rule_id"])
        for name, value in (("_fields", row["field"]), ("_en", row["message_en"]),
                            ("_zh", row["message_zh"]), ("_values", row["raw_value"])):
            if value is not None and value not in record[name]:
                record[name].append(value)
        if row["status"] == "open":
            record["status"] = "open"
        if row["last_seen_at"] and (record["last_seen_at"] is None
                                    or row["last_seen_at"] > record["last_seen_at"]):
            record["last_seen_at"] = row["last_seen_at"]
    return [{**{k: v for k, v in r.items() if not k.startswith("_")},
             "rules": ", ".join(r["_rules"]), "fields": ", ".join(r["_fields"]),
             "problems": "; ".join(r["_en"]), "问题": "；".join(r["_zh"]),
             "values": " | ".join(str(v) for v in r["_values"])} for r in records.values()]


def by_rule(rows: list[dict]) -> list[dict]:
    """The failure rows of :func:`quarantined` summarised per rule: how many records fail it."""
    rules: dict[tuple, dict] = {}
    for row in rows:
        key = (row["department_code"], row["dataset"], row["rule_id"])
        rule = rules.setdefault(key, {
            "department_code": key[0], "dataset": key[1], "rule_id": key[2],
            "field": row["field"], "records": set(), "problem": row["message_en"],
            "问题": row["message_zh"], "example_source_ref": row["source_ref"]})
        rule["records"].add(row["source_ref"])
    summary = [{**r, "records": len(r["records"])} for r in rules.values()]
    return sorted(summary, key=lambda r: (-r["records"], r["department_code"], r["dataset"],
                                          r["rule_id"]))


def platform_rejections(engine: sa.Engine, *, department: str | None = None,
                        dataset: str | None = None, status: str | None = "open") -> list[dict]:
    """What the platforms rejected (one row per error), with their code and reason."""
    return rejections(engine, department=department, dataset=dataset, status=status)


class NothingToResolve(LookupError):
    """No open quarantine row matches."""


def resolve(engine: sa.Engine, *, department: str, dataset: str, source_ref: str,
            reason: str, actor: str, rule_id: str | None = None) -> int:
    """Resolve the open failures of one record by hand; returns how many rows were resolved.

    ``actor`` is an authenticated identity (:func:`huiju.identity.current_actor`, or the web
    application's user); the resolution is appended to the action log in the same transaction.
    """
    if not reason.strip() or not actor.strip():
        raise ValueError("resolving by hand needs a reason and an authenticated actor")
    record = table(QUARANTINE, "record")
    where = [record.c.department_code == department, record.c.dataset == dataset,
             record.c.source_ref == source_ref, record.c.status == "open"]
    if rule_id:
        where.append(record.c.rule_id == rule_id)
    with engine.begin() as conn:
        resolved = conn.execute(
            sa.update(record).where(*where).values(
                status="resolved", resolved_at=datetime.now(UTC), resolved_by=actor,
                resolution_note=reason.strip()),
            execution_options={"preserve_rowcount": True}).rowcount
        if resolved:
            record_action(conn, actor=actor, action="quarantine.resolve", target=source_ref,
                          department_code=department, dataset=dataset,
                          detail={"reason": reason.strip(), "rule_id": rule_id,
                                  "failures": resolved})
    if not resolved:
        rule = f" rule {rule_id}" if rule_id else ""
        raise NothingToResolve(f"no open quarantine row for {department}/{dataset} "
                               f"{source_ref}{rule}")
    return resolved


def write_rejections(rows: list[dict], path: Path, columns=EXPORT_COLUMNS) -> Path:
    """A CSV that Excel opens correctly (UTF-8 with BOM), one failure per line.

    Cells are neutralised (:mod:`huiju.cells`): a raw value the department sent as ``=…`` is
    written as ``'=…`` so that opening the list never runs it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(neutralise_row(row) for row in rows)
    return path
