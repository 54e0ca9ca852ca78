"""Every Redis key the system uses, in one place.

RQ's own keys (jobs, queue lists, registries) keep RQ's names so that `rq info` and
rq-dashboard still see our queues. Everything the engine adds lives under `jq:`.
"""
from __future__ import annotations

from rq.defaults import RQ_KEY_PREFIX as RQ

JQ = "jq"
PRIORITIES = ("high", "normal", "low")


def job(job_id: str) -> str:
    return f"{RQ}:job:{job_id}"


def waiting(queue: str, priority: str) -> str:
    """The RQ queue list for one priority level; `normal` is RQ's plain queue key."""
    suffix = "" if priority == "normal" else f":{priority}"
    return f"{RQ}:queue:{queue}{suffix}"



RQ_QUEUES = f"{RQ}:queues"


def scheduled(queue: str) -> str:
    """RQ's ScheduledJobRegistry key; we score it with the due time in float seconds."""
    return f"{RQ}:scheduled:{queue}"


def finished(queue: str) -> str:
    return f"{RQ}:finished:{queue}"


def failed(queue: str) -> str:
    return f"{RQ}:failed:{queue}"


def cancelled(queue: str) -> str:
    """RQ's CanceledJobRegistry key: cancelled jobs, score = expiry time (s), kept with the failed retention."""
    return f"{RQ}:canceled:{queue}"


def active(queue: str) -> str:
    """Running jobs: member `job_id|token`, score = lease deadline in ms (server clock)."""
    return f"{JQ}:active:{queue}"


def rate_log(queue: str) -> str:
    return f"{JQ}:rate:{queue}"


def control(queue: str) -> str:
    """Runtime control hash: paused, limit, window_ms."""
    return f"{JQ}:ctl:{queue}"


def pressure(queue: str) -> str:
    """Set with a TTL while a provider asked us to back off."""
    return f"{JQ}:pressure:{queue}"


def wake(queue: str) -> str:
    return f"{JQ}:wake:{queue}"


def attempts(job_id: str) -> str:
    return f"{JQ}:attempts:{job_id}"


def job_log(job_id: str) -> str:
    return f"{JQ}:log:{job_id}"


def dlq_entry(job_id: str) -> str:
    return f"{JQ}:dlq:entry:{job_id}"


DLQ_ALL = f"{JQ}:dlq:all"


def dlq_queue(queue: str) -> str:
    return f"{JQ}:dlq:queue:{queue}"


def dlq_group(signature: str) -> str:
    return f"{JQ}:dlq:group:{signature}"


def failure_group(signature: str) -> str:
    return f"{JQ}:fgroup:{signature}"


FAILURE_GROUPS = f"{JQ}:fgroups"


def metrics(resolution: str, queue: str, bucket_s: int) -> str:
    """Counter hash for one queue and one time bucket; resolution is m, h or d."""
    return f"{JQ}:m:{resolution}:{queue}:{bucket_s}"


def metrics_prefix(resolution: str, queue: str) -> str:
    return f"{JQ}:m:{resolution}:{queue}:"


def metrics_rolled(queue: str) -> str:
    """The start (s) of the last minute bucket folded into hours and days."""
    return f"{JQ}:m:rolled:{queue}"


WORKERS = f"{JQ}:workers"


def worker(worker_id: str) -> str:
    return f"{JQ}:worker:{worker_id}"


AUDIT = f"{JQ}:audit"


def schedule(name: str) -> str:
    return f"{JQ}:sched:{name}"


def schedule_tick(name: str, tick_s: int) -> str:
    return f"{JQ}:sched:{name}:tick:{tick_s}"


# -- support desk: business-key index --------------------------------------------------
INDEX_PREFIX = f"{JQ}:idx:"


def index(kind: str, value: str) -> str:
    """Jobs whose data names this business key (order, phone, ...): zset of job ids, score = enqueue ms."""
    return f"{INDEX_PREFIX}{kind}:{value}"


INDEX_SCAN_CURSOR = f"{JQ}:idx-trim-cursor"  # where the periodic trim's SCAN of index keys stopped

# job-hash fields of a cancel request (the request time, server ms)
CANCEL_REQUESTED_MS = "jq_cancel_ms"
# job-hash field: when the job was last dead-lettered, kept after an operator retried it (engine/lua/dlq_retry.lua)
LAST_DEAD_MS = "jq_dead_ms"
