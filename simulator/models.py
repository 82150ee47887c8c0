"""The simulator's request and response bodies, declared once as pydantic models: requests are
validated with them and the OpenAPI document is generated from them."""

from __future__ import annotations

from typing import Annotated, Any, Literal, NotRequired

from pydantic import BaseModel, Field, TypeAdapter
from typing_extensions import TypedDict  # pydantic needs this one before Python 3.12

MAX_BATCH = 500   # records per POST; more answer 413


class RecordIn(TypedDict):
    """One record version sent to a platform."""

    key: Annotated[str, Field(min_length=1, description="idempotency key of this version")]
    record_id: Annotated[str, Field(min_length=1,
                                    description="the record's identity on the platform")]
    operation: Annotated[Literal["i", "u", "d"],
                         Field(description="i insert, u update, d withdraw")]
    payload: NotRequired[Annotated[Any, Field(
        description="the record in the resource's field codes; may be {} for d",
        json_schema_extra={"type": "object"})]]


class BatchIn(TypedDict):
    """``POST /api/{platform}/{resource}`` body."""

    records: Annotated[list[RecordIn], Field(max_length=MAX_BATCH)]


BATCH_ADAPTER = TypeAdapter(BatchIn)


class RecordErrorOut(BaseModel):
    """Why a record was rejected."""

    code: str = Field(description="required | required_when | type | max_length | "
                                  "unknown_field | payload")
    field: str | None = Field(description="the field code concerned")
    reason: str


class ResultOut(BaseModel):
    """The platform's answer for one record, in the order sent."""

    key: str
    status: Literal["accepted", "duplicate", "rejected"] = Field(
        description="duplicate: this key was accepted before (success, original receipt)")
    receipt: str | None = Field(description="回执: unique per accepted key")
    errors: list[RecordErrorOut]


class BatchOut(BaseModel):
    """``POST /api/{platform}/{resource}`` answer (200)."""

    results: list[ResultOut]


class LedgerRecordOut(BaseModel):
    """One accepted key in a platform's ledger."""

    key: str
    record_id: str
    resource: str
    operation: Literal["i", "u", "d"]
    accepted: int = Field(description="times this key was accepted: 1 (duplicates not counted)")
    received: int = Field(description="times this key arrived (accepted + duplicate answers)")
    receipt: str
    state: Literal["active", "superseded", "withdrawn"]
    payload: dict[str, Any] | None = Field(None, description="only with ?payloads=1")


class LedgerSummaryOut(BaseModel):
    """Counts over the ledger's (filtered) keys."""

    keys: int
    active: int
    superseded: int
    withdrawn: int
    accepted: int = Field(description="sum of accepted: equals keys when nothing was "
                                      "accepted twice")
    received: int = Field(description="sum of received: above keys when senders retried")


class LedgerOut(BaseModel):
    """``GET /_ledger/{platform}``."""

    platform: str
    records: list[LedgerRecordOut] = Field(description="empty with ?records=0")
    summary: LedgerSummaryOut
    requests: int = Field(description="authenticated API requests to this platform")
    rejected: int = Field(description="records rejected by the schema check")
    faults: dict[str, int] = Field(description="faults injected, by kind")


class ProblemOut(BaseModel):
    """Any non-200 answer."""

    error: str
    details: list[dict[str, Any]] | None = None


class LeadOut(BaseModel):
    """One complaint, tip-off or risk lead of the national feed."""

    lead_id: str = Field(description="complaint_id or risk_warning_id")
    lead_type: Literal["complaint", "risk_lead"] = Field(description="its standard data set")
    sequence: int = Field(description="position in the feed, from 1")
    record: dict[str, Any] = Field(description="the data set's fields (standard names) "
                                               "without the disposition fields")
    published_at: str = Field(description="when it became visible (ISO, +08:00)")


class LeadPage(BaseModel):
    """``GET /api/national/leads``."""

    leads: list[LeadOut]
    next_cursor: str = Field(description="resume here; the same cursor when nothing is new")
    has_more: bool


class TaskOut(BaseModel):
    """One joint-supervision (联合监管) task message."""

    task_no: str
    units: list[str] = Field(description="participating units (unionDeptName)")
    message: str = Field(description="base64 of the UTF-8 XML superviseData message")
    published_at: str


class TaskPage(BaseModel):
    """``GET /api/national/joint-tasks``."""

    tasks: list[TaskOut]
    next_cursor: str
    has_more: bool


class FeedStatus(BaseModel):
    """``GET /_feeds`` and ``POST /_feeds/publish``."""

    leads: int = Field(description="leads visible now")
    tasks: int = Field(description="tasks visible now")
    requests: int | None = None
    faults: dict[str, int] | None = None
