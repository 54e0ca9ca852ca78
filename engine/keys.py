"""Every Redis key the system uses, in one place.

RQ's own keys (jobs, queue lists, registries, workers) keep RQ's names so that `rq info` and
rq-dashboard still see our queues, jobs and workers. Everything the engine adds lives under `jq:`.
The hashes' field names and the active-set member format are here too (JobField, WorkerField, member).
"""
from __future__ import annotations

from rq.defaults import RQ_KEY_PREFIX as RQ

JQ = "jq"
PRIORITIES = ("high", "normal", "low")


def job(job_id: str) -> str:
    """The job hash; its field names are JobField's."""
    return f"{RQ}:job:{job_id}"


class JobField:
    """Field names of the job hash. RQ's own fields keep RQ's names (rq.job.Job.to_dict), so RQ's
    tools read our jobs; the engine's own start with `jq_`. The Lua steps write the same names as
    literals: lua/enqueue.lua, dequeue.lua, complete.lua, fail.lua, dlq_retry.lua, remove.lua."""

    STATUS = "status"
    ORIGIN = "origin"
    DATA = "data"
    DESCRIPTION = "description"
    TIMEOUT = "timeout"
    RESULT_TTL = "result_ttl"
    FAILURE_TTL = "failure_ttl"
    WORKER_NAME = "worker_name"
    ENQUEUED_AT = "enqueued_at"  # RQ's utcformat text, like started_at and ended_at
    STARTED_AT = "started_at"  # set by dequeue.lua (server clock)
    ENDED_AT = "ended_at"  # set by complete.lua and fail.lua
    PRIORITY = "jq_priority"
    RUNS = "jq_runs"
    READY_MS = "jq_ready_ms"  # since when the job could run (ms): the start of its wait
    DUE_MS = "jq_due_ms"
    STARTED_MS = "jq_started_ms"
    ENDED_MS = "jq_ended_ms"
    RUN_MS = "jq_run_ms"
    RESULT = "jq_result"
    PROGRESS = "jq_progress"
    CANCEL_MS = "jq_cancel_ms"  # when an operator asked to cancel (server ms): engine/cancel.py
    DEAD_MS = "jq_dead_ms"  # when last dead-lettered, kept after an operator retried it (lua/dlq_retry.lua)
    PACE_KEY = "jq_pace_key"  # the value of the queue's key_limit field (enqueue.py), read by dequeue.lua


def pace_prefix(queue: str) -> str:
    """Per-key pacing of `queue` (lua/dequeue.lua appends the key): `<prefix><key>` the next allowed start
    (string, PX), `<prefix><key>:wait` the key's held jobs in order (each also in the scheduled set)."""
    return f"{JQ}:pace:{queue}:"


def member(job_id: str, worker_name: str) -> str:
    """A running job's member of the active set (and the lease token the Lua steps check): `id|worker`.
    lua/dequeue.lua builds the same text (`id .. '|' .. token`)."""
    return f"{job_id}|{worker_name}"


def parse_member(value: str | bytes) -> tuple[str, str]:
    """(job id, worker name) of an active-set member; job ids are letters, digits, `_` and `-`, never `|`."""
    text = value.decode() if isinstance(value, bytes) else value
    job_id, _, worker_name = text.partition("|")
    return job_id, worker_name


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
    """Running jobs: member(job_id, worker), score = lease deadline in ms (server clock)."""
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


def job_all(queue: str, job_id: str) -> list[str]:
    """Every key a job's removal touches (engine/lua/remove.lua's KEYS): its hash, errors, log, the
    queue's lists and registries, and its dead-letter entry and indexes."""
    return [job(job_id), attempts(job_id), job_log(job_id), *(waiting(queue, p) for p in PRIORITIES),
            scheduled(queue), finished(queue), failed(queue), dlq_entry(job_id), DLQ_ALL, dlq_queue(queue)]


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
FAILURE_GROUPS_TRIM_CURSOR = f"{JQ}:fgroups:trim"  # where the retention pass resumes (a score)


def metrics(resolution: str, queue: str, bucket_s: int) -> str:
    """Counter hash for one queue and one time bucket; resolution is m, h or d."""
    return f"{JQ}:m:{resolution}:{queue}:{bucket_s}"


def metrics_prefix(resolution: str, queue: str) -> str:
    return f"{JQ}:m:{resolution}:{queue}:"


def metrics_rolled(queue: str) -> str:
    """The start (s) of the last minute bucket folded into hours and days."""
    return f"{JQ}:m:rolled:{queue}"


WORKERS = f"{JQ}:workers"  # live workers, score = last heartbeat (ms, server clock)


def worker(worker_id: str) -> str:
    """RQ's worker hash (rq.worker.Worker.key), so `rq info` reads our workers; fields: WorkerField."""
    return f"{RQ}:worker:{worker_id}"


RQ_WORKERS = f"{RQ}:workers"  # RQ's set of every worker hash key


def rq_workers(rq_queue: str) -> str:
    """RQ's set of the worker hash keys serving one RQ queue."""
    return f"{RQ}:workers:{rq_queue}"


def rq_queue_names(queue: str) -> list[str]:
    """The RQ queue names of one engine queue: one per priority list (`q`, `q:high`, `q:low`)."""
    prefix = f"{RQ}:queue:"
    return [waiting(queue, p)[len(prefix):] for p in PRIORITIES]


class WorkerField:
    """Field names of the worker hash: RQ's (rq.worker.Worker.refresh reads them) and the engine's.
    lua/heartbeat.lua and dequeue.lua write some as literals."""

    QUEUES = "queues"  # comma-separated engine queue names (RQ reads the same field)
    PID = "pid"
    HOSTNAME = "hostname"
    BIRTH = "birth"  # RQ's utcformat text
    LAST_HEARTBEAT = "last_heartbeat"  # RQ's utcformat text, set by heartbeat.lua
    STATE = "state"  # busy or idle, set by heartbeat.lua
    CURRENT_JOB = "current_job"
    VERSION = "version"
    PYTHON_VERSION = "python_version"
    STARTED_MS = "started_ms"
    HEARTBEAT_MS = "heartbeat_ms"


AUDIT = f"{JQ}:audit"


def audit_refusals(source: str, actor: str) -> str:
    """Refused calls by one actor not yet counted in an audit entry (a counter)."""
    return f"{JQ}:audit:refused:{source}:{actor}"


def audit_refusal_gate(source: str, actor: str) -> str:
    """Held for a minute after an actor's refusal entry (SET NX PX): at most one entry a minute."""
    return f"{JQ}:audit:refused-gate:{source}:{actor}"


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

CANCEL_REQUESTED_MS = JobField.CANCEL_MS
LAST_DEAD_MS = JobField.DEAD_MS
ALERTS_FIRING = f"{JQ}:alerts:firing"  # hash: condition key -> JSON {since_ms, text, ...} while it lasts
ALERTS_PENDING = f"{JQ}:alerts:pending"  # hash: event id -> JSON event + delivery attempts, until sent
ALERTS_HISTORY = f"{JQ}:alerts:history"  # stream: every alert with its delivery outcome
ALERTS_STATE = f"{JQ}:alerts:state"  # hash: dead-letter cursors and last batch times per queue, counters
ALERTS_LOCK = f"{JQ}:alerts:lock"  # string+TTL: the scheduler running the alert duty this pass


def alert_seen(event_key: str) -> str:
    """Set with a TTL once a one-off event (a schedule tick missed or failed) was raised."""
    return f"{JQ}:alerts:seen:{event_key}"


def schedule_inflight(name: str) -> str:
    """Call ticks claimed and not finished: member tick_s, score the claim's lease end (ms)."""
    return f"{JQ}:sched:{name}:inflight"
