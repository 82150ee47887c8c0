"""A department's data-quality report: pass rates, failure reasons, trend, open vs resolved.

A *run* of a department is one batch id (a run loads one batch per data set and source, all
sharing the id). Figures come from ``audit.batch`` (what each batch counted) and
``quarantine.record`` (one row per failed rule per record, ``batch_id`` the last batch that
failed it). Every query takes the department: nothing here can return another department's
rows. The platforms' rejections (``delivery.rejection``) stand beside our own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from huiju.quarantine import EXPORT_COLUMNS
from schemas.catalog import datasets
from schemas.model import CHECK_FAMILIES
from warehouse.outbox import REJECTION_COLUMNS
from warehouse.tables import AUDIT, DELIVERY, QUARANTINE, table

TOP_REASONS = 10


@dataclass
class QualityReport:
    """One department's data-quality report for one run."""
    department: str
    runs: list[dict]  # every run: batch_id, loaded_at, extracted, passed, quarantined
    run: str | None  # the run shown
    datasets: list[dict] = field(default_factory=list)  # pass rate per data set in the run
    families: list[dict] = field(default_factory=list)  # per rule family in the run
    rules: list[dict] = field(default_factory=list)  # per rule in the run
    reasons: list[dict] = field(default_factory=list)  # top open failure reasons
    status: list[dict] = field(default_factory=list)  # open vs resolved per data set
    platform: list[dict] = field(default_factory=list)  # open platform rejections, by reason


def dataset_names() -> dict[str, tuple[str, str]]:
    """Data set name → (Chinese, English) names."""
    return {spec.name: (spec.zh, spec.en) for spec in datasets()}


def runs(conn: sa.Connection, department: str) -> list[dict]:
    """The department's runs (batch ids), oldest first, with their summed counts."""
    batch = table(AUDIT, "batch")
    query = (sa.select(batch.c.batch_id, sa.func.max(batch.c.loaded_at).label("loaded_at"),
                       *(sa.func.sum(batch.c[c]).label(c)
                         for c in ("extracted", "passed", "quarantined", "superseded")))
             .where(batch.c.department_code == department)
             .group_by(batch.c.batch_id).order_by(batch.c.batch_id))
    return [_with_rate(dict(r)) for r in conn.execute(query).mappings()]


def _with_rate(row: dict) -> dict:
    # Pass rate over the rows that were validated: superseded duplicates never were.
    checked = int(row["passed"] or 0) + int(row["quarantined"] or 0)
    row["pass_rate"] = (int(row["passed"] or 0) / checked) if checked else None
    return row


def report(conn: sa.Connection, department: str, run: str | None = None) -> QualityReport:
    """The report of ``department`` for ``run`` (default: its latest)."""
    found = runs(conn, department)
    if run is None and found:
        run = found[-1]["batch_id"]
    result = QualityReport(department, found, run)
    if run is None:
        return result
    batch, q = table(AUDIT, "batch"), table(QUARANTINE, "record")
    names = dataset_names()
    result.datasets = [
        _with_rate({**dict(r), "zh": names.get(r["dataset"], (r["dataset"],) * 2)[0],
                    "en": names.get(r["dataset"], (r["dataset"],) * 2)[1]})
        for r in conn.execute(
            sa.select(batch.c.dataset, *(sa.func.sum(batch.c[c]).label(c) for c in (
                "extracted", "passed", "quarantined", "superseded")))
            .where(batch.c.department_code == department, batch.c.batch_id == run)
            .group_by(batch.c.dataset).order_by(batch.c.dataset)).mappings()]
    checked = {d["dataset"]: int(d["passed"]) + int(d["quarantined"]) for d in result.datasets}
    # A record failing a rule counts once for it, however many fields failed.
    failed = (sa.select(q.c.dataset, q.c.family, q.c.rule_id,
                        sa.func.count(sa.distinct(q.c.source_ref)).label("failed"))
              .where(q.c.department_code == department, q.c.batch_id == run)
              .group_by(q.c.dataset, q.c.family, q.c.rule_id)
              .order_by(q.c.dataset, q.c.family, q.c.rule_id))
    for r in conn.execute(failed).mappings():
        total = checked.get(r["dataset"], 0)
        result.rules.append({**dict(r), "checked": total,
                             "pass_rate": 1 - r["failed"] / total if total else None})
    families = (sa.select(q.c.dataset, q.c.family,
                          sa.func.count(sa.distinct(q.c.source_ref)).label("failed"))
                .where(q.c.department_code == department, q.c.batch_id == run)
                .group_by(q.c.dataset, q.c.family).order_by(q.c.dataset, q.c.family))
    for r in conn.execute(families).mappings():
        total = checked.get(r["dataset"], 0)
        zh, en = CHECK_FAMILIES.get(r["family"], (r["family"], r["family"]))
        result.families.append({**dict(r), "zh": zh, "en": en, "checked": total,
                                "pass_rate": 1 - r["failed"] / total if total else None})
    result.reasons = top_reasons(conn, department)
    result.status = open_vs_resolved(conn, department)
    result.platform = platform_reasons(conn, department)
    return result


def platform_reasons(conn: sa.Connection, department: str) -> list[dict]:
    """The platforms' open rejections of ``department``, counted by reason."""
    r = table(DELIVERY, "rejection")
    query = (sa.select(r.c.dataset, r.c.platform, r.c.resource, r.c.code, r.c.field, r.c.reason,
                       sa.func.count().label("open"))
             .where(r.c.department_code == department, r.c.status == "open")
             .group_by(r.c.dataset, r.c.platform, r.c.resource, r.c.code, r.c.field, r.c.reason)
             .order_by(sa.func.count().desc(), r.c.dataset, r.c.platform))
    return [dict(row) for row in conn.execute(query).mappings()]


def open_platform_rejections(conn: sa.Connection, department: str) -> list[dict]:
    """Every open platform rejection of ``department``: the second sheet of the download."""
    r = table(DELIVERY, "rejection")
    query = (sa.select(*(r.c[c] for c in REJECTION_COLUMNS))
             .where(r.c.department_code == department, r.c.status == "open")
             .order_by(r.c.dataset, r.c.rejection_id))
    return [dict(row) for row in conn.execute(query).mappings()]


def top_reasons(conn: sa.Connection, department: str, limit: int = TOP_REASONS) -> list[dict]:
    """The open failures' most frequent reasons, with two example raw values each."""
    q = table(QUARANTINE, "record")
    query = (sa.select(q.c.dataset, q.c.rule_id, q.c.field, q.c.message_zh, q.c.message_en,
                       sa.func.count().label("failures"),
                       sa.func.min(q.c.raw_value).label("example_a"),
                       sa.func.max(q.c.raw_value).label("example_b"))
             .where(q.c.department_code == department, q.c.status == "open")
             .group_by(q.c.dataset, q.c.rule_id, q.c.field, q.c.message_zh, q.c.message_en)
             .order_by(sa.func.count().desc(), q.c.rule_id).limit(limit))
    rows = []
    for r in conn.execute(query).mappings():
        examples = [v for v in dict.fromkeys((r["example_a"], r["example_b"])) if v is not None]
        rows.append({**dict(r), "examples": examples})
    return rows


def open_vs_resolved(conn: sa.Connection, department: str) -> list[dict]:
    """Per data set: open and resolved quarantine rows."""
    q = table(QUARANTINE, "record")
    query = (sa.select(q.c.dataset,
                       sa.func.sum(sa.case((q.c.status == "open", 1), else_=0)).label("open"),
                       sa.func.sum(sa.case((q.c.status == "resolved", 1), else_=0)
                                   ).label("resolved"))
             .where(q.c.department_code == department)
             .group_by(q.c.dataset).order_by(q.c.dataset))
    return [{k: (int(v) if k != "dataset" else v) for k, v in r.items()}
            for r in conn.execute(query).mappings()]


def open_rejections(conn: sa.Connection, department: str) -> list[dict]:
    """Every open failure of ``department``: the rows of the rejection download."""
    q = table(QUARANTINE, "record")
    query = (sa.select(*(q.c[c] for c in EXPORT_COLUMNS))
             .where(q.c.department_code == department, q.c.status == "open")
             .order_by(q.c.dataset, q.c.source_ref, q.c.rule_id))
    return [dict(r) for r in conn.execute(query).mappings()]
