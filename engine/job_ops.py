"""One job by id: its full record, retry (from failed / dead-letter) and removal."""
from __future__ import annotations

import json
from typing import Any

from . import dead_letters, jobs, keys
from .app import Engine, resolve
from .clock import ms_to_iso, server_ms
from .errors import ConflictError, NotFoundError, ValidationError
from .job_ids import in_queue
from .schemas import check_job_id

STATES = ("queued", "scheduled", "started", "finished", "failed", "cancelled")


def get_job(queue_name: str, job_id: str, *, engine: Engine | None = None) -> dict[str, Any]:
    """Everything known about one job: state, data, options, runs, errors, result, times, progress, log."""
    eng = resolve(engine)
    policy = eng.table[queue_name]
    job_id = in_queue(queue_name, check_job_id(job_id))  # cluster mode: a plain id is the queue's
    pipe = eng.conn.pipeline(transaction=False)
    pipe.hgetall(keys.job(job_id))
    pipe.lrange(keys.attempts(job_id), 0, -1)
    pipe.lrange(keys.job_log(job_id), 0, -1)
    pipe.exists(keys.dlq_entry(job_id))
    raw, attempts, log_lines, in_dlq = pipe.execute()
    if not raw:
        raise NotFoundError(f"job {job_id!r} not found on {queue_name}")
    job, f = jobs.from_fields(eng, job_id, raw)
    if job.origin != policy.name:
        raise NotFoundError(f"job {job_id!r} not found on {queue_name}")
    F = keys.JobField
    state = f.get(F.STATUS, "")
    return {
        "id": job_id,
        "queue": queue_name,
        "state": "dead_lettered" if in_dlq else ("cancelled" if state == "canceled" else state),
        "status": state,
        "job_type": job.func_name,
        "data": job.kwargs,
        "options": {"priority": f.get(F.PRIORITY, "normal"), "timeout_s": int(f.get(F.TIMEOUT) or 0),
                    "keep_completed_s": int(f.get(F.RESULT_TTL) or 0), "keep_failed_s": int(f.get(F.FAILURE_TTL) or 0)},
        "runs": int(f.get(F.RUNS) or 0),
        "max_runs": policy.max_runs,
        "errors": [json.loads(a) for a in attempts],
        "result": json.loads(f[F.RESULT]) if f.get(F.RESULT) else None,
        "progress": float(f.get(F.PROGRESS) or 0),
        "log": [json.loads(line) for line in log_lines],
        "enqueued_at": f.get(F.ENQUEUED_AT) or None,
        "due_at": ms_to_iso(f.get(F.DUE_MS)) if state == "scheduled" else None,
        "started_at": ms_to_iso(f.get(F.STARTED_MS)),
        "ended_at": ms_to_iso(f.get(F.ENDED_MS)),
        "worker": f.get(F.WORKER_NAME) or None,
        "dead_lettered": bool(in_dlq),
    }


def retry_job(queue_name: str, job_id: str, *, data: dict[str, Any] | None = None,
              engine: Engine | None = None) -> bool:
    """Retry a failed (dead-lettered) job, with `data` replacing its data when given; anything else is a
    ConflictError."""
    eng = resolve(engine)
    eng.table[queue_name]
    job_id = in_queue(queue_name, check_job_id(job_id))  # cluster mode: a plain id is the queue's
    status = eng.conn.hget(keys.job(job_id), keys.JobField.STATUS)
    origin = eng.conn.hget(keys.job(job_id), keys.JobField.ORIGIN)
    if status is None and not dead_letters.exists(job_id, engine=eng):
        raise NotFoundError(f"job {job_id!r} not found on {queue_name}")
    if origin is not None and origin.decode() != queue_name:
        raise NotFoundError(f"job {job_id!r} not found on {queue_name}")
    if not dead_letters.exists(job_id, engine=eng):
        raise ConflictError(f"job {job_id!r} is {status.decode() if status else 'gone'}, not failed")
    return dead_letters.retry(job_id, data=data, engine=eng)


def remove_job(queue_name: str, job_id: str, *, engine: Engine | None = None) -> None:
    """Delete a job (waiting, scheduled, finished or failed) and its dead-letter entry; not a running one."""
    eng = resolve(engine)
    eng.table[queue_name]
    job_id = in_queue(queue_name, check_job_id(job_id))  # cluster mode: a plain id is the queue's
    origin = eng.conn.hget(keys.job(job_id), keys.JobField.ORIGIN)
    if origin is not None and origin.decode() != queue_name:
        raise NotFoundError(f"job {job_id!r} not found on {queue_name}")
    result = eng.scripts.remove(keys=keys.job_all(queue_name, job_id), args=[job_id, keys.dlq_group("", queue_name)])
    if result == 0:
        raise NotFoundError(f"job {job_id!r} not found on {queue_name}")
    if result == -1:
        raise ConflictError(f"job {job_id!r} is running; it can be removed once it finishes")


def list_jobs(queue_name: str, state: str, *, offset: int = 0, limit: int = 50,
              engine: Engine | None = None) -> tuple[list[dict[str, Any]], int]:
    """One page of a queue's jobs in a state, and the state's total; never loads the whole state."""
    eng = resolve(engine)
    eng.table[queue_name]
    now_s = server_ms(eng.conn) // 1000
    pipe = eng.conn.pipeline(transaction=False)
    if state == "queued":
        lists = [keys.waiting(queue_name, p) for p in keys.PRIORITIES]
        for key in lists:
            pipe.llen(key)
        lengths = pipe.execute()
        ids, skip = [], offset
        for key, length in zip(lists, lengths):
            if skip >= length:
                skip -= length
                continue
            take = limit - len(ids)
            if take <= 0:
                break
            ids += [i.decode() for i in eng.conn.lrange(key, skip, skip + take - 1)]
            skip = 0
        total = sum(lengths)
    elif state == "scheduled":
        ids = [i.decode() for i in eng.conn.zrange(keys.scheduled(queue_name), offset, offset + limit - 1)]
        total = eng.conn.zcard(keys.scheduled(queue_name))
    elif state == "started":
        members = eng.conn.zrange(keys.active(queue_name), offset, offset + limit - 1)
        ids = [keys.parse_member(m)[0] for m in members]
        total = eng.conn.zcard(keys.active(queue_name))
    elif state in ("finished", "failed", "cancelled"):
        key = {"finished": keys.finished, "failed": keys.failed, "cancelled": keys.cancelled}[state](queue_name)
        ids = [i.decode() for i in eng.conn.zrevrangebyscore(key, "+inf", now_s, start=offset, num=limit)]
        total = eng.conn.zcount(key, now_s, "+inf")
    else:
        raise ValidationError("state", f"must be one of {', '.join(STATES)}")
    return summaries(eng, ids), total


def summaries(eng: Engine, ids: list[str]) -> list[dict[str, Any]]:
    """Short rows for a page of job ids (fields read with one pipelined HMGET each)."""
    F = keys.JobField
    fields = [F.STATUS, F.PRIORITY, F.RUNS, F.ENQUEUED_AT, F.STARTED_MS, F.ENDED_MS, F.PROGRESS, F.ORIGIN]
    pipe = eng.conn.pipeline(transaction=False)
    for job_id in ids:
        pipe.hmget(keys.job(job_id), fields)
    rows = []
    for job_id, values in zip(ids, pipe.execute()):
        if values[0] is None:
            continue
        v = [x.decode() if x is not None else None for x in values]
        rows.append({"id": job_id, "queue": v[7], "status": v[0], "priority": v[1], "runs": int(v[2] or 0),
                     "enqueued_at": v[3], "started_at": ms_to_iso(v[4]), "ended_at": ms_to_iso(v[5]),
                     "progress": float(v[6] or 0)})
    return rows
