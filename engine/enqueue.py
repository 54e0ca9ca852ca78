"""Writing jobs: one server round trip per job (one Lua call), pipelined for many."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import redis
from rq.job import Job
from rq.serializers import JSONSerializer
from rq.utils import utcformat

from . import keys
from .app import Engine
from .audit import KEEP_MS as AUDIT_KEEP_MS
from .audit import append as append_audit
from .connection import engine_error, refresh_slot_map
from .errors import EngineError, ReplicationTimeoutError, ServerFullError, ValidationError
from .job_ids import new_job_id
from .jobs import rq_job
from .oom import OutOfMemory
from .schemas import check_new_job_id
from .search_index import index_keys

PRIORITIES = keys.PRIORITIES
MAX_AHEAD_S = 366 * 86400  # the furthest a job may be scheduled ahead


@dataclass(frozen=True)
class EnqueueRequest:
    queue: str
    data: dict[str, Any]
    priority: str = "normal"
    delay: timedelta | float | None = None
    run_at: datetime | None = None
    job_id: str | None = None
    audit: dict[str, str] | None = None  # an audit entry's fields, written in the enqueue's own atomic step


def _timing(req: EnqueueRequest) -> tuple[int, int]:
    """(run_at_ms, delay_ms), 0 meaning unset; validated."""
    if req.delay is not None and req.run_at is not None:
        raise ValidationError("delay", "give delay or run_at, not both")
    delay_ms = 0
    if req.delay is not None:
        seconds = req.delay.total_seconds() if isinstance(req.delay, timedelta) else req.delay
        if not isinstance(seconds, (int, float)) or not math.isfinite(seconds) or not 0 <= seconds <= MAX_AHEAD_S:
            raise ValidationError("delay", "must be between 0 s and 366 days")
        delay_ms = int(round(seconds * 1000))
    run_at_ms = 0
    if req.run_at is not None:
        if not isinstance(req.run_at, datetime) or req.run_at.tzinfo is None:
            raise ValidationError("run_at", "must be a timezone-aware datetime")
        try:
            run_at_ms = int(req.run_at.astimezone(timezone.utc).timestamp() * 1000)
        except (OverflowError, ValueError, OSError):  # e.g. 9999-12-31T23:59:59-23:59 is in year 10000 in UTC
            raise ValidationError("run_at", "is outside the range of representable times") from None
    return run_at_ms, delay_ms


def check_horizon(run_at: datetime | None) -> None:
    """Refuse a run_at more than 366 days ahead of now (the helpers' check on callers' input; the
    scheduler enqueues ticks ahead by its own clock)."""
    if run_at is None or not isinstance(run_at, datetime) or run_at.tzinfo is None:
        return  # _timing names those
    try:
        ahead_s = (run_at - datetime.now(timezone.utc)).total_seconds()
    except OverflowError:
        raise ValidationError("run_at", "is outside the range of representable times") from None
    if ahead_s > MAX_AHEAD_S:
        raise ValidationError("run_at", "must be at most 366 days ahead")


PLAIN_PAYLOAD_MAX_BYTES = 1024


def _prepare(eng: Engine, req: EnqueueRequest) -> tuple[Job, list[str], list[Any]]:
    policy = eng.table[req.queue]
    if req.priority not in PRIORITIES:
        raise ValidationError("priority", f"must be one of {', '.join(PRIORITIES)}")
    given = check_new_job_id(req.job_id, req.queue, keys.cluster()) if req.job_id is not None else None
    job_id = new_job_id(req.queue, given)  # in cluster mode it opens with the queue's hash tag
    run_at_ms, delay_ms = _timing(req)
    job = Job.create(
        policy.func,
        kwargs=req.data,
        connection=eng.conn,
        origin=req.queue,
        timeout=policy.timeout_s,
        result_ttl=policy.keep_completed_s,
        failure_ttl=policy.keep_failed_s,
        serializer=JSONSerializer,
    )
    job._id = job_id  # RQ's id setter refuses a hash tag's braces; its key and fetch take them
    job.enqueued_at = datetime.now(timezone.utc)
    fields = job.to_dict()
    if len(job.data) <= PLAIN_PAYLOAD_MAX_BYTES:  # zlib saves nothing on a small payload; reading it costs
        fields[keys.JobField.DATA] = job.data
    fields[keys.JobField.ENQUEUED_AT] = utcformat(job.enqueued_at)
    fields[keys.JobField.PRIORITY] = req.priority
    fields[keys.JobField.RUNS] = 0
    if policy.key_limit and req.data.get(policy.key_limit[0]) not in (None, ""):
        fields[keys.JobField.PACE_KEY] = str(req.data[policy.key_limit[0]])[:200]
    audit_items = [item for pair in (req.audit or {}).items() for item in pair]
    flat: list[Any] = [job_id, run_at_ms, delay_ms, eng.high_water.mark_bytes(), AUDIT_KEEP_MS, len(audit_items),
                       *audit_items]
    for name, value in fields.items():
        if value != "":  # RQ's restore() defaults the empty fields; storing them costs memory and time
            flat += [name, value]
    script_keys = [
        keys.job(job_id),
        keys.waiting(req.queue, req.priority),
        keys.scheduled(req.queue),
        keys.wake(req.queue),
        keys.rq_queues(req.queue),
        keys.audit(req.queue),
        *index_keys(policy, req.data, eng.settings.phone_region),  # the business-key index (search_index)
    ]
    return job, script_keys, flat


def enqueue(eng: Engine, req: EnqueueRequest) -> Job:
    """Enqueue one job; with a caller-given job_id whose job is pending or finished and still kept,
    return the existing job instead (idempotent re-sends). ServerFullError when refused at the memory
    high-water mark: nothing was written."""
    job, script_keys, args = _prepare(eng, req)
    try:
        created, status = _step(eng, script_keys, args, job.id)
    except OutOfMemory:  # above maxmemory: the server refused the step's first write
        raise ServerFullError() from None
    if created == -1:
        raise ServerFullError(int(status), args[3])
    if not created:
        existing = rq_job(eng.conn, job.id)
        if req.audit and existing.origin == req.queue:  # a re-send: nothing written, so its entry may follow
            append_audit(eng, req.audit)
        return existing
    return job


def _step(eng: Engine, script_keys: list[str], args: list[Any], job_id: str) -> Any:
    """The enqueue step; with ENQUEUE_WAIT_REPLICAS it is followed by WAIT on the same connection (WAIT
    counts that connection's writes): on a cluster, a connection to the master of the queue's slot."""
    wanted = eng.settings.enqueue_wait_replicas
    if not wanted:
        return eng.scripts.enqueue(keys=script_keys, args=args)
    client = eng.conn.get_node_from_key(script_keys[0]).redis_connection if keys.cluster() else eng.conn
    timeout_ms = eng.settings.enqueue_wait_timeout_ms
    try:
        pipe = client.pipeline(transaction=False)
        eng.scripts.enqueue(keys=script_keys, args=args, client=pipe)
        pipe.execute_command("WAIT", wanted, timeout_ms)
        reply, confirmed = pipe.execute()
    except EngineError:
        raise
    except redis.RedisError as exc:  # a cluster node's own client is redis-py's, not the engine's
        if keys.cluster() and (isinstance(exc, (redis.ConnectionError, redis.TimeoutError)) or "MOVED" in str(exc)):
            refresh_slot_map(eng.conn)  # a failover moved the slot: learn the new map, as the client would
        raise engine_error(exc) from exc
    if int(confirmed) < wanted:
        raise ReplicationTimeoutError(job_id, int(confirmed), wanted, timeout_ms)
    return reply


def enqueue_many(eng: Engine, requests: list[EnqueueRequest]) -> list[Job]:
    """Validate all, then enqueue all in one pipelined round trip (not one transaction). Jobs refused at
    the memory high-water mark are not written: ServerFullError then lists the ids that were."""
    prepared = [_prepare(eng, r) for r in requests]
    wanted, confirmed = eng.settings.enqueue_wait_replicas, None
    if keys.cluster():  # redis-py's cluster pipeline refuses scripts: one call per job (each in its own slot)
        replies = [_call(eng, script_keys, args, job.id) for job, script_keys, args in prepared]
    else:
        pipe = eng.conn.pipeline(transaction=False)
        for _job, script_keys, args in prepared:
            eng.scripts.enqueue(keys=script_keys, args=args, client=pipe)
        if wanted:  # one WAIT after the batch covers every write the pipeline's connection made
            pipe.execute_command("WAIT", wanted, eng.settings.enqueue_wait_timeout_ms)
        replies = pipe.execute(raise_on_error=False)
        if wanted:
            confirmed = replies.pop()
    for reply in replies:
        if isinstance(reply, Exception) and not isinstance(reply, OutOfMemory):
            raise reply
    refused = [r for r in replies if isinstance(r, OutOfMemory) or r[0] == -1]
    if refused:
        accepted = [job.id for (job, _k, _a), r in zip(prepared, replies) if not isinstance(r, Exception) and r[0] != -1]
        used = None if isinstance(refused[0], Exception) else int(refused[0][1])
        raise ServerFullError(used, prepared[0][2][3], accepted=accepted)
    if confirmed is not None and int(confirmed) < wanted:
        more = f" (and {len(prepared) - 1} more of its batch)" if len(prepared) > 1 else ""
        raise ReplicationTimeoutError(prepared[0][0].id + more, int(confirmed), wanted,
                                      eng.settings.enqueue_wait_timeout_ms)
    return [job for job, _k, _a in prepared]


def _call(eng: Engine, script_keys: list[str], args: list[Any], job_id: str) -> Any:
    try:
        return _step(eng, script_keys, args, job_id)
    except OutOfMemory as exc:  # as the pipeline hands it back
        return exc


def script_call(eng: Engine, req: EnqueueRequest) -> tuple[list[str], list[Any]]:
    """The enqueue step's keys and args, validated, for scripts that compose it (a schedule's tick)."""
    _job, script_keys, args = _prepare(eng, req)
    return script_keys, args
