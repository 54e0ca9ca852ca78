"""Writing jobs: one server round trip per job (one Lua call), pipelined for many."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from rq.job import Job
from rq.serializers import JSONSerializer
from rq.utils import utcformat

from . import keys
from .app import Engine
from .errors import ValidationError
from .schemas import check_job_id
from .search_index import index_keys

PRIORITIES = keys.PRIORITIES


@dataclass(frozen=True)
class EnqueueRequest:
    queue: str
    data: dict[str, Any]
    priority: str = "normal"
    delay: timedelta | float | None = None
    run_at: datetime | None = None
    job_id: str | None = None
    func: str | None = None  # tests and benchmarks only: another function on the same queue


def _timing(req: EnqueueRequest) -> tuple[int, int]:
    """(run_at_ms, delay_ms), 0 meaning unset; validated."""
    if req.delay is not None and req.run_at is not None:
        raise ValidationError("delay", "give delay or run_at, not both")
    delay_ms = 0
    if req.delay is not None:
        seconds = req.delay.total_seconds() if isinstance(req.delay, timedelta) else req.delay
        if not isinstance(seconds, (int, float)) or seconds < 0 or seconds > 366 * 86400:
            raise ValidationError("delay", "must be between 0 s and 366 days")
        delay_ms = int(round(seconds * 1000))
    run_at_ms = 0
    if req.run_at is not None:
        if not isinstance(req.run_at, datetime) or req.run_at.tzinfo is None:
            raise ValidationError("run_at", "must be a timezone-aware datetime")
        run_at_ms = int(req.run_at.timestamp() * 1000)
    return run_at_ms, delay_ms


def _prepare(eng: Engine, req: EnqueueRequest) -> tuple[Job, list[str], list[Any]]:
    policy = eng.table[req.queue]
    if req.priority not in PRIORITIES:
        raise ValidationError("priority", f"must be one of {', '.join(PRIORITIES)}")
    job_id = check_job_id(req.job_id) if req.job_id is not None else uuid.uuid4().hex
    run_at_ms, delay_ms = _timing(req)
    job = Job.create(
        req.func or policy.func,
        kwargs=req.data,
        connection=eng.conn,
        id=job_id,
        origin=req.queue,
        description=req.queue,
        timeout=policy.timeout_s,
        result_ttl=policy.keep_completed_s,
        failure_ttl=policy.keep_failed_s,
        serializer=JSONSerializer,
    )
    job.enqueued_at = datetime.now(timezone.utc)
    fields = job.to_dict()
    fields["enqueued_at"] = utcformat(job.enqueued_at)
    fields["jq_priority"] = req.priority
    fields["jq_runs"] = 0
    flat: list[Any] = [job_id, run_at_ms, delay_ms]
    for name, value in fields.items():
        if value != "":  # RQ's restore() defaults the empty fields; storing them costs memory and time
            flat += [name, value]
    script_keys = [
        keys.job(job_id),
        keys.waiting(req.queue, req.priority),
        keys.scheduled(req.queue),
        keys.wake(req.queue),
        keys.RQ_QUEUES,
        *index_keys(policy, req.data, eng.settings.phone_region),
    ]
    return job, script_keys, flat


def enqueue(eng: Engine, req: EnqueueRequest) -> Job:
    """Enqueue one job; with a caller-given job_id whose job is pending or finished and still kept,
    return the existing job instead (idempotent re-sends)."""
    job, script_keys, args = _prepare(eng, req)
    created, _status = eng.scripts.enqueue(keys=script_keys, args=args)
    if not created:
        return Job.fetch(job.id, connection=eng.conn, serializer=JSONSerializer)
    return job


def enqueue_many(eng: Engine, requests: list[EnqueueRequest]) -> list[Job]:
    """Validate all, then enqueue all in one pipelined round trip (not one transaction)."""
    prepared = [_prepare(eng, r) for r in requests]
    pipe = eng.conn.pipeline(transaction=False)
    for _job, script_keys, args in prepared:
        eng.scripts.enqueue(keys=script_keys, args=args, client=pipe)
    pipe.execute()
    return [job for job, _k, _a in prepared]
