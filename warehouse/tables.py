"""The warehouse tables, generated from the standard schema declaration (``schemas/``).

Nothing here names a data set's column: ``core.<dataset>`` and ``core.<dataset>_history`` are
built from ``schemas.catalog`` for every declared data set, so adding a YAML file adds its
tables (and ``huiju db revision`` writes the migration). The naming contract is in
``warehouse/README.md``.
"""

from __future__ import annotations

from functools import cache

import sqlalchemy as sa

from schemas.catalog import all_fields, datasets
from schemas.frames import CORE_PROVENANCE
from schemas.model import DataSetSpec, FieldSpec, FieldType

RAW, CORE, QUARANTINE, AUDIT = "raw", "core", "quarantine", "audit"
# The outbox to the receiving platforms and what they answered (warehouse/outbox.py).
DELIVERY = "delivery"
LAYERS = (RAW, CORE, QUARANTINE, AUDIT, DELIVERY)

HISTORY_SUFFIX = "_history"
# Several business-key columns are joined with this in `huiju trace --dataset`.
KEY_SEPARATOR = "|"

BOOKKEEPING_COLUMNS = ("first_loaded_at", "updated_at", "is_deleted")
# History columns; not valid_from/valid_to, which are fields of 行政许可 (license).
HISTORY_COLUMNS = ("history_id", "version_valid_from", "version_valid_to", "closed_batch_id")
# Provenance columns every core row carries besides the exchange columns (batch_id is one):
# schemas.frames.CORE_PROVENANCE.
RESERVED_COLUMNS = frozenset(CORE_PROVENANCE + BOOKKEEPING_COLUMNS + HISTORY_COLUMNS)

# Explicit names keep Alembic's autogenerate stable and within PostgreSQL's 63 characters.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _json() -> sa.types.TypeEngine:
    # PostgreSQL ``json`` (not jsonb) keeps the text as extracted, and lands faster.
    return sa.JSON()


def _timestamp() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _identity() -> sa.types.TypeEngine:
    # SQLite auto-increments only an INTEGER PRIMARY KEY.
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def sql_type(field: FieldSpec) -> sa.types.TypeEngine:
    """The SQL type of a standard field (FieldType → one SQL type)."""
    match field.type:
        case FieldType.STRING | FieldType.CODE:
            return sa.String(field.length)
        case FieldType.TEXT | FieldType.LIST:
            return sa.Text()
        case FieldType.DATE:
            return sa.Date()
        case FieldType.DATETIME:
            return _timestamp()
        case FieldType.DECIMAL:
            # SQLite has no exact decimal: keep the digits as text there (precision + sign + point).
            return sa.Numeric(field.precision, field.scale).with_variant(
                sa.String(field.precision + 2), "sqlite")
        case FieldType.INTEGER:
            return sa.BigInteger()
        case FieldType.BOOLEAN:
            return sa.Boolean()
    raise ValueError(f"{field.name}: no SQL type for {field.type}")  # pragma: no cover


def _field_columns(spec: DataSetSpec, *, history: bool) -> list[sa.Column]:
    return [
        sa.Column(f.name, sql_type(f), nullable=history or not f.required, comment=f.zh)
        for f in all_fields(spec)
    ]


def _provenance_columns(*, history: bool) -> list[sa.Column]:
    return [
        sa.Column("department_code", sa.String(32), nullable=False, comment="部门编码"),
        sa.Column("source_id", sa.String(64), nullable=False,
                  comment="数据源标识（部门文件中的 source id）"),
        sa.Column("source_ref", sa.Text(), nullable=False, comment="来源记录引用"),
        sa.Column("source_hash", sa.String(64), nullable=False, comment="来源记录哈希 (sha256)"),
        sa.Column("first_loaded_at", _timestamp(), nullable=False, comment="首次入库时间"),
        sa.Column("updated_at", _timestamp(), nullable=False, comment="本版本入库时间"),
        sa.Column("is_deleted", sa.Boolean(), nullable=False,
                  server_default=None if history else sa.false(), comment="已删除"),
    ]


def core_table_name(spec: DataSetSpec) -> str:
    """Name of the core table of ``spec``."""
    return spec.name


def history_table_name(spec: DataSetSpec) -> str:
    """Name of the history table of ``spec``."""
    return spec.name + HISTORY_SUFFIX


def _add_dataset(metadata: sa.MetaData, spec: DataSetSpec) -> None:
    clash = RESERVED_COLUMNS & {f.name for f in all_fields(spec)}
    if clash:
        raise ValueError(f"data set {spec.name}: {sorted(clash)} are warehouse column names")
    key = ("department_code", *spec.business_key)
    name = core_table_name(spec)
    sa.Table(
        name, metadata,
        *_field_columns(spec, history=False),
        *_provenance_columns(history=False),
        sa.PrimaryKeyConstraint(*key, name=f"pk_{name}"),
        sa.Index(f"ix_{name}_source_ref", "source_ref"),
        # the rows one batch wrote: its outbox messages, its quarantine resolution, provenance
        sa.Index(f"ix_{name}_batch", "department_code", "batch_id"),
        schema=CORE,
        comment=f"{spec.zh} ({spec.en}): one current row per business key",
    )
    hist = history_table_name(spec)
    sa.Table(
        hist, metadata,
        sa.Column("history_id", _identity(), sa.Identity(), primary_key=True),
        *_field_columns(spec, history=True),
        *_provenance_columns(history=True),
        sa.Column("version_valid_from", _timestamp(), nullable=False, comment="版本生效时间"),
        sa.Column("version_valid_to", _timestamp(), nullable=False, comment="版本失效时间"),
        sa.Column("closed_batch_id", sa.String(13), nullable=False, comment="使本版本失效的批次"),
        sa.Index(f"ix_{hist}_key", *key),
        schema=CORE,
        comment=f"{spec.zh} ({spec.en}): earlier versions",
    )


def _add_raw(metadata: sa.MetaData) -> None:
    # Layout and reasons: warehouse/landing.py.
    sa.Table(
        "part", metadata,
        sa.Column("part_id", _identity(), sa.Identity(), primary_key=True),
        sa.Column("department_code", sa.String(32), nullable=False),
        sa.Column("source_id", sa.String(64), nullable=False),
        sa.Column("dataset", sa.String(64), nullable=False),
        sa.Column("batch_id", sa.String(13), nullable=False),
        sa.Column("part_no", sa.Integer(), nullable=False, comment="position in the batch"),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("format", sa.String(32), nullable=False),
        # PostgreSQL: STORAGE EXTERNAL (set by the migration; Alembic does not compare it).
        sa.Column("records", sa.LargeBinary(), nullable=False,
                  comment="the canonical JSON of each row as extracted, compressed together"),
        sa.Column("extracted_at", _timestamp(), nullable=False),
        sa.UniqueConstraint("department_code", "source_id", "dataset", "batch_id",
                            "part_no", name="uq_part_batch"),
        schema=RAW,
        comment="extracted rows, as extracted, in compressed parts of a batch (landing)",
    )
    sa.Table(
        "record", metadata,
        # No foreign key to raw.part: it would add a lookup per landed row; the loader writes
        # both in one transaction.
        sa.Column("part_id", sa.BigInteger(), nullable=False),
        sa.Column("row_no", sa.Integer(), nullable=False, comment="position in the part"),
        sa.Column("source_ref", sa.Text(), nullable=False),
        sa.Column("source_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("part_id", "row_no", name="pk_record"),
        sa.Index("ix_record_source_ref", "source_ref"),
        schema=RAW,
        comment="every extracted row: its source reference and hash, and where it landed",
    )


def _add_quarantine(metadata: sa.MetaData) -> None:
    sa.Table(
        "record", metadata,
        sa.Column("quarantine_id", _identity(), sa.Identity(), primary_key=True),
        sa.Column("department_code", sa.String(32), nullable=False),
        sa.Column("dataset", sa.String(64), nullable=False),
        sa.Column("source_id", sa.String(64), nullable=False),
        sa.Column("source_ref", sa.Text(), nullable=False),
        sa.Column("source_hash", sa.String(64), nullable=False),
        sa.Column("record_id", sa.String(64)),
        sa.Column("batch_id", sa.String(13), nullable=False, comment="last batch that failed"),
        sa.Column("rule_id", sa.String(128), nullable=False),
        sa.Column("family", sa.String(2), nullable=False),
        # '' for a rule over the whole record, so the unique key below has no NULL in it.
        sa.Column("field", sa.String(128), nullable=False, server_default=""),
        sa.Column("message_zh", sa.Text(), nullable=False),
        sa.Column("message_en", sa.Text(), nullable=False),
        sa.Column("raw_value", sa.Text()),
        sa.Column("record", _json(), nullable=False),
        sa.Column("status", sa.String(8), nullable=False, server_default="open"),
        sa.Column("resolved_batch_id", sa.String(13)),  # the batch that loaded it cleanly
        sa.Column("resolved_at", _timestamp()),
        # Resolved by hand (huiju quarantine resolve): who, and why — a record no batch can
        # resolve, such as an unreadable line re-sent in another file.
        sa.Column("resolved_by", sa.String(128)),
        sa.Column("resolution_note", sa.Text()),
        sa.Column("first_seen_at", _timestamp(), nullable=False),
        sa.Column("last_seen_at", _timestamp(), nullable=False),
        sa.CheckConstraint("status IN ('open', 'resolved')", name="status"),
        sa.UniqueConstraint("department_code", "dataset", "source_ref", "rule_id", "field",
                            name="uq_record_failure"),
        sa.Index("ix_record_open", "department_code", "dataset", "status"),
        schema=QUARANTINE,
        comment="one row per failed rule per record",
    )


def _add_audit(metadata: sa.MetaData) -> None:
    sa.Table(
        "run", metadata,
        sa.Column("run_id", sa.String(128), primary_key=True),
        sa.Column("started_at", _timestamp(), nullable=False),
        sa.Column("finished_at", _timestamp()),
        sa.Column("status", sa.String(16), nullable=False, server_default="running"),
        sa.Column("code_version", sa.String(64), nullable=False),
        sa.Column("config_hash", sa.String(64), nullable=False),
        schema=AUDIT,
        comment="one pipeline run (an Airflow DAG run or a CLI invocation)",
    )
    batch_key = ("department_code", "source_id", "dataset", "batch_id")
    counts = ("extracted", "passed", "quarantined", "superseded",
              "inserted", "updated", "deleted", "unchanged")
    sa.Table(
        "batch", metadata,
        *(sa.Column(c, sa.String(64 if c != "batch_id" else 13), nullable=False)
          for c in batch_key),
        sa.Column("run_id", sa.String(128), sa.ForeignKey("audit.run.run_id")),
        *(sa.Column(c, sa.BigInteger(), nullable=False) for c in counts),
        sa.Column("code_version", sa.String(64), nullable=False),
        sa.Column("config_hash", sa.String(64), nullable=False),
        sa.Column("cursor", _json()),
        sa.Column("loaded_at", _timestamp(), nullable=False),
        # warnings of the extraction a person must see (an empty export, a rejected file)
        sa.Column("notes", _json()),
        sa.PrimaryKeyConstraint(*batch_key, name="pk_batch"),
        sa.CheckConstraint("extracted = passed + quarantined + superseded", name="balanced"),
        sa.CheckConstraint("passed = inserted + updated + deleted + unchanged", name="merged"),
        schema=AUDIT,
        comment="one loaded batch with its accounting",
    )
    sa.Table(
        "cursor_state", metadata,
        sa.Column("department_code", sa.String(64), nullable=False),
        sa.Column("source_id", sa.String(64), nullable=False),
        sa.Column("dataset", sa.String(64), nullable=False),
        sa.Column("cursor", _json(), nullable=False),
        sa.Column("batch_id", sa.String(13), nullable=False),
        sa.Column("updated_at", _timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("department_code", "source_id", "dataset",
                                name="pk_cursor_state"),
        schema=AUDIT,
        comment="incremental cursor per department/source/data set, committed with its batch",
    )
    reconciled = ("source_rows", "warehouse_rows", "missing", "changed", "gone",
                  "re_extracted", "deleted", "flagged")
    sa.Table(
        "reconciliation", metadata,
        sa.Column("reconcile_id", sa.String(64), nullable=False),
        sa.Column("department_code", sa.String(64), nullable=False),
        sa.Column("source_id", sa.String(64), nullable=False),
        sa.Column("dataset", sa.String(64), nullable=False),
        sa.Column("period", sa.String(32), nullable=False,
                  comment="day of the cursor column (YYYY-MM-DD), or 'none'"),
        *(sa.Column(c, sa.BigInteger(), nullable=False) for c in reconciled),
        sa.Column("batch_id", sa.String(13), comment="the batch that repaired the period"),
        sa.Column("reconciled_at", _timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("reconcile_id", "department_code", "source_id", "dataset",
                                "period", name="pk_reconciliation"),
        sa.Index("ix_reconciliation_feed", "department_code", "source_id", "dataset",
                 "reconciled_at"),
        schema=AUDIT,
        comment="source against warehouse by key, per feed and cursor period (huiju reconcile)",
    )
    sa.Table(
        "department_reader", metadata,
        sa.Column("role_name", sa.String(63), primary_key=True),
        sa.Column("department_code", sa.String(64), nullable=False),
        schema=AUDIT,
        comment="which department's rows a department reader role sees (warehouse/roles.py)",
    )
    sa.Table(
        "action", metadata,
        sa.Column("action_id", _identity(), sa.Identity(), primary_key=True),
        sa.Column("at", _timestamp(), nullable=False),
        sa.Column("actor", sa.String(256), nullable=False,
                  comment="authenticated: os:<user>@<host>, airflow:<dag>/<run>, web:<user>"),
        sa.Column("action", sa.String(64), nullable=False, comment="e.g. quarantine.resolve"),
        sa.Column("department_code", sa.String(64)),
        sa.Column("dataset", sa.String(64)),
        sa.Column("target", sa.Text(), nullable=False, comment="what it acted on (a source_ref …)"),
        sa.Column("detail", _json()),
        sa.Index("ix_action_target", "target"),
        schema=AUDIT,
        comment="manual actions, append-only (warehouse/actions.py): who did what, when",
    )
    sa.Table(
        "app_user", metadata,
        sa.Column("username", sa.String(64), primary_key=True),
        sa.Column("role", sa.String(16), nullable=False, comment="department | auditor | admin"),
        # Not named department_code: row-level security would then let a department's reader
        # role read its own users' password hashes (warehouse/roles.py grants by that column).
        sa.Column("scope_department_code", sa.String(64),
                  comment="the one department a department user sees"),
        sa.Column("password_hash", sa.String(256), nullable=False, comment="scrypt, salted"),
        sa.Column("is_active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.Column("created_by", sa.String(256), nullable=False),
        sa.CheckConstraint("role IN ('department', 'auditor', 'admin')", name="role"),
        sa.CheckConstraint("(role = 'department') = (scope_department_code IS NOT NULL)",
                           name="department_scope"),
        schema=AUDIT,
        comment="users of the report application (reports/users.py)",
    )


def _add_leads(metadata: sa.MetaData) -> None:
    # The national system's leads: where each went (huiju/routing.py) and the joint-supervision
    # tasks with each participating department's part (huiju/leads.py).
    sa.Table(
        "lead_routing", metadata,
        sa.Column("dataset", sa.String(64), nullable=False, comment="complaint | risk_lead"),
        sa.Column("lead_id", sa.String(64), nullable=False, comment="the national record id"),
        sa.Column("lead_kind", sa.String(16), nullable=False, comment="complaint|tip|risk_lead"),
        sa.Column("department_code", sa.String(64), nullable=False,
                  comment="competent department, or the provincial queue"),
        sa.Column("routed", sa.Boolean(), nullable=False, comment="false: provincial queue"),
        sa.Column("division_code", sa.String(12)),
        sa.Column("field_code", sa.String(8), comment="投诉举报问题类型 or 风险预警领域"),
        sa.Column("rule_index", sa.Integer()),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("received_at", _timestamp()),
        sa.Column("deadline", _timestamp()),
        sa.Column("batch_id", sa.String(13), nullable=False, comment="the batch that loaded it"),
        sa.Column("routed_at", _timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("dataset", "lead_id", name="pk_lead_routing"),
        sa.Index("ix_lead_routing_department", "department_code"),
        schema=AUDIT,
        comment="one row per national lead: the department it was routed to and why",
    )
    sa.Table(
        "joint_task", metadata,
        sa.Column("task_no", sa.String(64), primary_key=True),
        sa.Column("task_name", sa.Text()),
        sa.Column("status", sa.String(16)),
        sa.Column("start_date", sa.String(32)),
        sa.Column("matter_code", sa.String(64)),
        sa.Column("region_code", sa.String(12)),
        sa.Column("info", _json(), nullable=False, comment="taskInfo as parsed"),
        sa.Column("message", sa.Text(), nullable=False, comment="the XML as received"),
        sa.Column("published_at", sa.String(40)),
        sa.Column("pulled_at", _timestamp(), nullable=False),
        schema=AUDIT,
        comment="联合监管 task messages from the national system",
    )
    sa.Table(
        "joint_task_part", metadata,
        sa.Column("task_no", sa.String(64), nullable=False),
        sa.Column("unit_no", sa.String(64), nullable=False, comment="联合部门 USCC"),
        sa.Column("unit_name", sa.String(200), nullable=False),
        sa.Column("department_code", sa.String(64), comment="null: no department file"),
        sa.Column("feedback_status", sa.String(12), nullable=False, server_default="open",
                  comment="open | acknowledged | rejected"),
        sa.Column("fed_back_at", _timestamp(), comment="when the platform acknowledged it"),
        sa.Column("receipt", sa.String(128), comment="回执 of the feedback"),
        sa.Column("feedback_error", sa.Text(), comment="the platform's codes and reasons"),
        sa.PrimaryKeyConstraint("task_no", "unit_no", name="pk_joint_task_part"),
        schema=AUDIT,
        comment="a participating department's part of a joint-supervision task",
    )


MESSAGE_STATUSES = ("pending", "acknowledged", "rejected", "withheld")
# What makes a message unique (what its idempotency key hashes): a record's messages first.
OUTBOX_VERSION = ("platform", "resource", "department_code", "record_key", "dataset",
                  "source_id", "batch_id", "cause")


def _add_delivery(metadata: sa.MetaData) -> None:
    # Layout and reasons: warehouse/outbox.py.
    sa.Table(
        "outbox", metadata,
        sa.Column("message_id", _identity(), sa.Identity(), primary_key=True,
                  comment="enqueue order: a record's versions are sent in this order"),
        sa.Column("platform", sa.String(32), nullable=False, comment="接收平台"),
        sa.Column("resource", sa.String(64), nullable=False, comment="the platform's endpoint"),
        sa.Column("dataset", sa.String(64), nullable=False),
        sa.Column("department_code", sa.String(32), nullable=False),
        sa.Column("source_id", sa.String(64), nullable=False),
        # The version to send: the business key (values joined by RECORD_KEY_SEPARATOR) and
        # the batch that wrote it, found in core or, once replaced, in its history.
        sa.Column("record_key", sa.Text(), nullable=False),
        sa.Column("batch_id", sa.String(13), nullable=False),
        sa.Column("record_id", sa.String(64), nullable=False,
                  comment="记录唯一标识: the record's identity on the platform"),
        sa.Column("operation", sa.String(1), nullable=False, comment="i, u or d (withdraw)"),
        sa.Column("cause", sa.String(8), nullable=False,
                  comment="load (a version the load wrote) or expiry (公示期 ended)"),
        sa.Column("idempotency_key", sa.String(64), nullable=False,
                  comment="sha256 of platform, resource, record and version"),
        sa.Column("status", sa.String(12), nullable=False, server_default="pending"),
        sa.Column("enqueued_at", _timestamp(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0",
                  comment="times sent (a lost response is sent again with the same key)"),
        sa.Column("last_sent_at", _timestamp()),
        sa.Column("settled_at", _timestamp(), comment="acknowledged, rejected or withheld"),
        sa.Column("receipt", sa.String(128), comment="回执: the platform's receipt"),
        sa.Column("publicity_end", sa.Date(), comment="公示截止期 (双公示 resources)"),
        sa.Column("note", sa.Text(), comment="why a message was withheld"),
        sa.CheckConstraint("status IN ('pending', 'acknowledged', 'rejected', 'withheld')",
                           name="status"),
        sa.CheckConstraint("operation IN ('i', 'u', 'd')", name="operation"),
        # One message per version, route and cause: the parts its idempotency key hashes,
        # as columns. A unique index on the hash itself was a second index taking every
        # enqueued row at a random place (the hash spreads them), the costliest part of a
        # first load's outbox; this one also serves a record's messages in order.
        sa.UniqueConstraint(*OUTBOX_VERSION, name="uq_outbox_version"),
        sa.Index("ix_outbox_pending", "platform", "status", "message_id"),
        sa.Index("ix_outbox_batch", "department_code", "source_id", "dataset", "batch_id"),
        schema=DELIVERY,
        comment="one message per platform resource per core version due to it",
    )
    sa.Table(
        "rejection", metadata,
        sa.Column("rejection_id", _identity(), sa.Identity(), primary_key=True),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("resource", sa.String(64), nullable=False),
        sa.Column("dataset", sa.String(64), nullable=False),
        sa.Column("department_code", sa.String(32), nullable=False),
        sa.Column("record_key", sa.Text(), nullable=False),
        sa.Column("record_id", sa.String(64), nullable=False),
        sa.Column("batch_id", sa.String(13), nullable=False),
        sa.Column("source_ref", sa.Text(), nullable=False, comment="the department's record"),
        sa.Column("code", sa.String(64), nullable=False, comment="the platform's error code"),
        sa.Column("field", sa.String(128), nullable=False, server_default=""),
        sa.Column("reason", sa.Text(), nullable=False, comment="the platform's reason"),
        sa.Column("status", sa.String(8), nullable=False, server_default="open"),
        sa.Column("rejected_at", _timestamp(), nullable=False),
        sa.Column("resolved_message_id", sa.BigInteger(),
                  comment="the later message of the record the platform accepted"),
        sa.Column("resolved_at", _timestamp()),
        sa.CheckConstraint("status IN ('open', 'resolved')", name="status"),
        sa.Index("ix_rejection_record", "platform", "resource", "department_code", "record_key"),
        sa.Index("ix_rejection_open", "department_code", "dataset", "status"),
        schema=DELIVERY,
        comment="one row per error a platform gave for a rejected message",
    )


def _fill(md: sa.MetaData, specs: list[DataSetSpec]) -> sa.MetaData:
    _add_raw(md)
    for spec in specs:
        _add_dataset(md, spec)
    _add_quarantine(md)
    _add_audit(md)
    _add_leads(md)
    _add_delivery(md)
    return md


@cache
def metadata() -> sa.MetaData:
    """The whole warehouse: raw, core (every data set), quarantine, audit and delivery."""
    return _fill(sa.MetaData(naming_convention=NAMING_CONVENTION), datasets())


@cache
def _layer_metadata() -> sa.MetaData:
    # raw, quarantine, audit and delivery alone, so loading one data set never needs the
    # others declared.
    return _fill(sa.MetaData(naming_convention=NAMING_CONVENTION), [])


@cache
def _dataset_metadata(spec: DataSetSpec) -> sa.MetaData:
    md = sa.MetaData(naming_convention=NAMING_CONVENTION)
    _add_dataset(md, spec)
    return md


def core_table(spec: DataSetSpec) -> sa.Table:
    """``core.<dataset>``: one current row per (department_code, business key)."""
    return _dataset_metadata(spec).tables[f"{CORE}.{core_table_name(spec)}"]


def history_table(spec: DataSetSpec) -> sa.Table:
    """``core.<dataset>_history``: the versions a later batch replaced or deleted."""
    return _dataset_metadata(spec).tables[f"{CORE}.{history_table_name(spec)}"]


def table(layer: str, name: str) -> sa.Table:
    """A table of the raw, quarantine, audit or delivery layer (``table(AUDIT, "batch")``)."""
    return _layer_metadata().tables[f"{layer}.{name}"]
