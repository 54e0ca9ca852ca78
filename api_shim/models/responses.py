"""Response models: the documented fields of each answer; fields the engine adds later pass through."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from .requests import Resolution

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


class MessageDelivery(Open):
    state: str | None = Field(description="accepted, sent, delivered, read, failed (after acceptance), "
                                          "or not accepted (...)")
    wamid: str | None = None
    provider: str | None = None
    accepted_at: str | None = None
    sent_at: str | None = None
    delivered_at: str | None = None
    read_at: str | None = None
    failed_at: str | None = None
    error_code: str | None = None
    error: str | None = None


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
    delivery: MessageDelivery | None = Field(default=None, description="a whatsapp job's message delivery")


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


class AlertEntry(Open):
    id: str
    time: str
    kind: str
    state: str
    queue: str | None = None
    schedule: str | None = None
    count: int
    job_ids: list[str]
    text: str
    details: dict[str, Any]
    outcome: str
    attempts: int
    recorded_at: str


class FiringAlert(Open):
    key: str
    kind: str
    since: str
    text: str
    queue: str | None = None
    schedule: str | None = None
