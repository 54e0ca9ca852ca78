"""Request and response models. Request models are strict (no type coercion) so that what the
OpenAPI document calls invalid is exactly what the API refuses."""
from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import (BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, WithJsonSchema,
                      model_validator)

from engine.queues import QUEUE_NAMES
from engine.schemas import JOB_ID_PATTERN, SAFE_ID_PATTERN

QueueName = Literal[QUEUE_NAMES]  # type: ignore[valid-type]
Priority = Literal["high", "normal", "low"]
Resolution = Literal["m", "h", "d"]

SIGNATURE_PATTERN = r"^[0-9a-f]{8,64}$"
# A new job's id: the engine's safe id without '.', which RQ refuses in job ids (see the report).
NEW_JOB_ID_PATTERN = JOB_ID_PATTERN
SafeId = Annotated[str, StringConstraints(pattern=SAFE_ID_PATTERN)]
NewJobId = Annotated[str, StringConstraints(pattern=NEW_JOB_ID_PATTERN)]
Signature = Annotated[str, StringConstraints(pattern=SIGNATURE_PATTERN)]

# Characters pydantic's str_strip_whitespace removes (Unicode White_Space): a field that must not be
# empty after stripping must contain one character outside this set.
WHITE = "\\t\\n\\x0B\\x0C\\r \\x85\\xA0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000"
NOT_BLANK = f"[^{WHITE}]"

MAX_PAGE = 500
MAX_OFFSET = 1_000_000
MAX_BULK_IDS = 200

_RFC3339 = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})")


def parse_timestamp(value: Any) -> datetime:
    """An RFC 3339 date-time with an offset (e.g. 2024-05-01T12:00:00Z); nothing looser."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise ValueError("must be an RFC 3339 date-time with a time zone, e.g. 2024-05-01T12:00:00Z")
    try:
        return datetime.fromisoformat(value.upper())
    except ValueError:
        raise ValueError("not a valid date-time") from None


def _json_int(value: Any) -> Any:
    """JSON Schema counts 9.0 as an integer; strings and booleans stay invalid."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


JsonInt = Annotated[int, BeforeValidator(_json_int)]

Timestamp = Annotated[datetime, BeforeValidator(parse_timestamp),
                      WithJsonSchema({"type": "string", "format": "date-time"})]


class StrictModel(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


# ---------------------------------------------------------------- requests


class NewJobBase(StrictModel):
    """Envelope of a new job; `data` is documented and checked per queue."""

    model_config = ConfigDict(json_schema_extra={"not": {"required": ["delay_s", "run_at"]}})

    data: dict[str, Any]
    priority: Priority = "normal"
    delay_s: float = Field(default=None, ge=0, le=366 * 86400, allow_inf_nan=False,
                           description="start after this many seconds (not with run_at)")
    run_at: Timestamp = Field(default=None, description="start at this time (not with delay_s)")
    job_id: NewJobId = Field(default=None, description="caller-chosen id (letters, digits, '_', '-'); "
                                                      "a pending job with this id is returned")

    @model_validator(mode="after")
    def _one_timing(self):
        if self.delay_s is not None and self.run_at is not None:
            raise ValueError("give delay_s or run_at, not both")
        return self


class DeadLetterFilterBody(StrictModel):
    model_config = ConfigDict(json_schema_extra={"minProperties": 1})

    queue: QueueName = None
    group: Signature = Field(default=None, description="failure signature")
    error_type: str = Field(default=None, min_length=1, max_length=200)
    since: Timestamp = None
    until: Timestamp = None

    @model_validator(mode="after")
    def _not_empty(self):
        if not self.model_fields_set:
            raise ValueError("give at least one condition (queue, group, error_type, since, until)")
        return self


class BulkRequest(StrictModel):
    """Either a filter or a list of entry ids, not both."""

    model_config = ConfigDict(json_schema_extra={"oneOf": [{"required": ["filter"]}, {"required": ["ids"]}]})

    filter: DeadLetterFilterBody = None
    ids: list[SafeId] = Field(default=None, min_length=1, max_length=MAX_BULK_IDS)

    @model_validator(mode="after")
    def _exactly_one(self):
        if (self.filter is None) == (self.ids is None):
            raise ValueError("give either filter or ids")
        return self


class RateLimitBody(StrictModel):
    limit: JsonInt = Field(ge=1, le=1_000_000, description="job starts per rate window")
    window_ms: JsonInt = Field(default=None, ge=100, le=86_400_000, description="rate window; unchanged when absent")


# ---------------------------------------------------------------- responses


class Open(BaseModel):
    """Response models list the documented fields; fields the engine adds later pass through."""

    model_config = ConfigDict(extra="allow")


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    offset: int
    limit: int


class Items(BaseModel, Generic[T]):
    items: list[T]


class Waiting(Open):
    high: int
    normal: int
    low: int
    total: int


class Window(Open):
    started: int
    completed: int
    failed: int
    retried: int
    dead_lettered: int
    rate_limited: int
    back_pressure: int
    run_avg_ms: float | None = None
    run_p50_ms: float | None = None
    run_p95_ms: float | None = None
    run_p99_ms: float | None = None
    wait_p50_ms: float | None = None
    wait_p95_ms: float | None = None
    wait_p99_ms: float | None = None


class MinutePoint(Open):
    minute: str
    completed: int
    failed: int
    run_p95_ms: float | None = None


class Sla(Open):
    start_within_s: float
    target_ratio: float
    compliance_last_hour: float | None = None
    compliance_last_day: float | None = None
    breached: bool


class ControlState(Open):
    paused: bool
    rate_limit: int
    rate_window_s: float
    rate_used: int
    back_pressure_s: float


class QueueMetrics(ControlState):
    queue: str
    waiting: Waiting
    active: int
    scheduled: int
    completed: int
    failed: int
    dead_lettered: int
    dead_lettered_last_hour: int
    workers: int
    last_hour: Window
    last_day: Window
    per_minute: list[MinutePoint]
    sla: Sla | None = None
    alerts: list[str]


class Totals(Open):
    waiting: int
    active: int
    scheduled: int
    completed: int
    failed: int
    dead_lettered: int
    workers: int


class AllMetrics(Open):
    generated_at: str
    queues: dict[str, QueueMetrics]
    totals: Totals


class QueueControl(ControlState):
    queue: str


class JobOptions(Open):
    priority: str
    timeout_s: int
    keep_completed_s: int
    keep_failed_s: int


class JobDetails(Open):
    id: str
    queue: str
    state: str = Field(description="queued, scheduled, started, finished, failed, dead_lettered or cancelled")
    status: str
    job_type: str | None = None
    data: Any = None
    options: JobOptions
    runs: int
    max_runs: int
    errors: list[Any]
    result: Any = None
    progress: float
    log: list[Any]
    enqueued_at: str | None = None
    due_at: str | None = None
    started_at: str | None = None
    ended_at: str | None = None
    worker: str | None = None
    dead_lettered: bool


class JobSummary(Open):
    id: str
    queue: str | None = None
    status: str | None = None
    priority: str | None = None
    runs: int
    enqueued_at: str | None = None
    started_at: str | None = None
    ended_at: str | None = None
    progress: float


class CreatedJob(BaseModel):
    id: str
    queue: str
    status: str
    href: str = Field(description="the job's details")


class JobAction(BaseModel):
    id: str
    queue: str
    done: bool


class DeadLetterEntry(Open):
    id: str
    job_id: str
    queue: str
    job_type: str
    data: Any = None
    options: Any = None
    runs: int
    signature: str
    error_type: str
    error_message: str
    enqueued_at: str
    dead_lettered_at: str
    dead_lettered_ms: int


class DeadLetterDetails(DeadLetterEntry):
    errors: list[Any] = []


class EntryAction(BaseModel):
    id: str
    done: bool


class BulkResult(BaseModel):
    count: int = Field(description="entries retried or deleted")


class HistoryRow(Window):
    time: datetime
    queue: str


class History(BaseModel):
    queue: str
    resolution: Resolution
    start: datetime
    end: datetime
    truncated: bool = Field(description="true when the window held more buckets than one response carries")
    rows: list[HistoryRow]


class FailureGroup(Open):
    signature: str
    type: str
    message: str
    function: str
    count: int
    dead_lettered: int
    first_seen: str
    last_seen: str
    queues: dict[str, int]
    sample_job_ids: list[str]


class AuditEntry(Open):
    id: str
    time: str
    time_ms: int
    actor: str
    source: str
    action: str
    queue: str
    target: str
    outcome: str
    details: Any = None


class QueueHealth(BaseModel):
    workers: int
    alive: bool


class Health(BaseModel):
    status: Literal["ok", "degraded", "unavailable"]
    server: Literal["reachable", "unreachable"]
    queues: dict[str, QueueHealth]

