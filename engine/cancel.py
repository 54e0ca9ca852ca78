"""Cancelling a job: waiting or scheduled ones at once, running ones cooperatively.

A running job is only marked: the processor sees it through jobctx.cancelled() / check_cancelled(),
and the worker records the cancel through the failure ladder (action "cancelled"), by itself once the
run goes on past CANCEL_GRACE_MS. A cancelled job is never retried nor dead-lettered.
"""
from __future__ import annotations

from . import keys
from .app import Engine, resolve
from .errors import ConflictError, NotFoundError
from .job_ids import in_queue
from .schemas import check_job_id

CANCELLED, CANCELLING = "cancelled", "cancelling"
_STATE_NAMES = {"finished": "finished", "failed": "failed", "canceled": "already cancelled",
                "dead_lettered": "dead-lettered (delete it instead)"}


def cancel_job(queue_name: str, job_id: str, *, engine: Engine | None = None) -> str:
    """"cancelled" (it was waiting or scheduled) or "cancelling" (it runs; the worker stops it).
    NotFoundError for an unknown job; ConflictError when it has already ended."""
    eng = resolve(engine)
    policy = eng.table[queue_name]
    job_id = in_queue(queue_name, check_job_id(job_id))  # cluster mode: a plain id is the queue's
    origin = eng.conn.hget(keys.job(job_id), "origin")
    if origin is not None and origin.decode() != queue_name:
        raise NotFoundError(f"job {job_id!r} not found on {queue_name}")
    outcome, status = eng.scripts.cancel(
        keys=[keys.job(job_id), *(keys.waiting(queue_name, p) for p in keys.PRIORITIES), keys.scheduled(queue_name),
              keys.cancelled(queue_name), keys.attempts(job_id), keys.job_log(job_id), keys.dlq_entry(job_id)],
        args=[job_id, policy.keep_failed_s, keys.metrics_prefix("m", queue_name), keys.CANCEL_REQUESTED_MS])
    outcome, status = outcome.decode(), status.decode()
    if outcome == "missing":
        raise NotFoundError(f"job {job_id!r} not found on {queue_name}")
    if outcome == "conflict":
        raise ConflictError(f"job {job_id!r} is {_STATE_NAMES.get(status, status)}; only a waiting, scheduled or "
                            "running job can be cancelled")
    return outcome
