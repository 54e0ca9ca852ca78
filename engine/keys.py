"""Every Redis key the system uses, in one place.

RQ's own keys (jobs, queue lists, registries, workers) keep RQ's names so that `rq info` and
rq-dashboard still see our queues, jobs and workers. Everything the engine adds lives under `jq:`.
The hashes' field names and the active-set member format are here too (JobField, WorkerField, member).

Cluster mode (set_cluster, by engine.connection.connect): every per-queue key carries the queue's hash
tag (`rq:queue:{whatsapp}`), job ids start with it (`{whatsapp}3f2a...`, engine/job_ids.py), so a job's keys
share its queue's slot; the cross-queue indexes a Lua step writes are per queue (`jq:dlq:all:{q}`), and
the worker registry shares one tag. Standalone and Sentinel keep RQ's names byte for byte.
"""
from __future__ import annotations

import re

from rq.defaults import RQ_KEY_PREFIX as RQ

from .fields import JobField, WorkerField  # noqa: F401 - the hashes' field names, read as keys.JobField

JQ = "jq"
PRIORITIES = ("high", "normal", "low")
_cluster = False
WORKER_TAG = "{workers}"  # cluster mode: the worker registry's keys (hashes, RQ's sets, ours) share one slot


def set_cluster(on: bool) -> None:
    """Choose the process's key layout: hash-tagged (Redis Cluster) or RQ's names (standalone, Sentinel)."""
    global _cluster, WORKERS, RQ_WORKERS
    _cluster = bool(on)
    w = WORKER_TAG if _cluster else ""
    WORKERS, RQ_WORKERS = f"{JQ}:workers{w}", f"{RQ}:workers{w}"


def cluster() -> bool:
    return _cluster


def _q(queue: str) -> str:
    """A queue's key segment: its hash tag in cluster mode, its name otherwise."""
    return f"{{{queue}}}" if _cluster else queue


def job(job_id: str) -> str:
    """The job hash; its field names are JobField's."""
    return f"{RQ}:job:{job_id}"


def pace_prefix(queue: str) -> str:
    """Per-key pacing of `queue` (lua/dequeue.lua appends the key): `<prefix><key>` the next allowed start
    (string, PX), `<prefix><key>:wait` the key's held jobs in order (each also in the scheduled set)."""
    return f"{JQ}:pace:{_q(queue)}:"


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
    return f"{RQ}:queue:{_q(queue)}{suffix}"



RQ_QUEUES = f"{RQ}:queues"


def rq_queues(queue: str) -> str:
    """RQ's set of queue keys (`rq:queues`); per queue in cluster mode (enqueue.lua adds to it)."""
    return f"{RQ}:queues:{_q(queue)}" if _cluster else RQ_QUEUES


def scheduled(queue: str) -> str:
    """RQ's ScheduledJobRegistry key; we score it with the due time in float seconds."""
    return f"{RQ}:scheduled:{_q(queue)}"


def finished(queue: str) -> str:
    return f"{RQ}:finished:{_q(queue)}"


def failed(queue: str) -> str:
    return f"{RQ}:failed:{_q(queue)}"


def cancelled(queue: str) -> str:
    """RQ's CanceledJobRegistry key: cancelled jobs, score = expiry time (s), kept with the failed retention."""
    return f"{RQ}:canceled:{_q(queue)}"


def active(queue: str) -> str:
    """Running jobs: member(job_id, worker), score = lease deadline in ms (server clock)."""
    return f"{JQ}:active:{_q(queue)}"


def rate_log(queue: str) -> str:
    return f"{JQ}:rate:{_q(queue)}"


def control(queue: str) -> str:
    """Runtime control hash: paused, limit, window_ms."""
    return f"{JQ}:ctl:{_q(queue)}"


def pressure(queue: str) -> str:
    """Set with a TTL while a provider asked us to back off."""
    return f"{JQ}:pressure:{_q(queue)}"


def wake(queue: str) -> str:
    return f"{JQ}:wake:{_q(queue)}"


def attempts(job_id: str) -> str:
    return f"{JQ}:attempts:{job_id}"


def job_log(job_id: str) -> str:
    return f"{JQ}:log:{job_id}"


def job_all(queue: str, job_id: str) -> list[str]:
    """Every key a job's removal touches (engine/lua/remove.lua's KEYS): its hash, errors, log, the
    queue's lists and registries, and its dead-letter entry and indexes."""
    return [job(job_id), attempts(job_id), job_log(job_id), *(waiting(queue, p) for p in PRIORITIES),
            scheduled(queue), finished(queue), failed(queue), dlq_entry(job_id), dlq_all(queue), dlq_queue(queue)]


def dlq_entry(job_id: str) -> str:
    return f"{JQ}:dlq:entry:{job_id}"


DLQ_ALL = f"{JQ}:dlq:all"


def dlq_all(queue: str) -> str:
    """The dead-letter index fail.lua writes for a job of `queue`: DLQ_ALL, or the queue's own in cluster
    mode (jq:dlq:all:{q}; readers merge them, engine/fanout.py)."""
    return f"{DLQ_ALL}:{_q(queue)}" if _cluster else DLQ_ALL


def dlq_alls(queues) -> list[str]:
    """Every dead-letter index to read for all of `queues`."""
    return sorted({dlq_all(q) for q in queues})


def dlq_queue(queue: str) -> str:
    return f"{JQ}:dlq:queue:{_q(queue)}"


def dlq_group(signature: str, queue: str | None = None) -> str:
    """Dead letters of one failure group (a prefix with ""); per queue in cluster mode."""
    return f"{JQ}:dlq:group:{_q(queue)}:{signature}" if _cluster else f"{JQ}:dlq:group:{signature}"


def failure_group(signature: str, queue: str | None = None) -> str:
    """A failure group's hash (a prefix with ""); per queue in cluster mode, merged by its readers."""
    return f"{JQ}:fgroup:{_q(queue)}:{signature}" if _cluster else f"{JQ}:fgroup:{signature}"


FAILURE_GROUPS = f"{JQ}:fgroups"


def failure_groups(queue: str | None = None) -> str:
    """The failure-group index fail.lua writes: FAILURE_GROUPS, or the queue's own in cluster mode."""
    return f"{FAILURE_GROUPS}:{_q(queue)}" if _cluster else FAILURE_GROUPS


FAILURE_GROUPS_TRIM_CURSOR = f"{JQ}:fgroups:trim"  # where the retention pass resumes (a score)


def failure_groups_cursor(queue: str) -> str:
    return f"{FAILURE_GROUPS_TRIM_CURSOR}:{_q(queue)}" if _cluster else FAILURE_GROUPS_TRIM_CURSOR


def unused(near: str) -> str:
    """A key never written, in the slot of `near` (a queue name or a key): a Lua step's unused KEYS entry."""
    found = re.search(r"\{([^}]+)\}", near)
    return f"{JQ}:unused:{{{found.group(1) if found else near}}}"


def metrics(resolution: str, queue: str, bucket_s: int) -> str:
    """Counter hash for one queue and one time bucket; resolution is m, h or d."""
    return f"{JQ}:m:{resolution}:{_q(queue)}:{bucket_s}"


def metrics_prefix(resolution: str, queue: str) -> str:
    return f"{JQ}:m:{resolution}:{_q(queue)}:"


def metrics_rolled(queue: str) -> str:
    """The start (s) of the last minute bucket folded into hours and days."""
    return f"{JQ}:m:rolled:{_q(queue)}"


WORKERS = f"{JQ}:workers"  # live workers, score = last heartbeat (ms, server clock)


def worker(worker_id: str) -> str:
    """RQ's worker hash (rq.worker.Worker.key), so `rq info` reads our workers; fields: WorkerField."""
    return f"{RQ}:worker:{WORKER_TAG}{worker_id}" if _cluster else f"{RQ}:worker:{worker_id}"


RQ_WORKERS = f"{RQ}:workers"  # RQ's set of every worker hash key


def rq_workers(rq_queue: str) -> str:
    """RQ's set of the worker hash keys serving one RQ queue."""
    return f"{RQ}:workers{WORKER_TAG}:{rq_queue}" if _cluster else f"{RQ}:workers:{rq_queue}"


def rq_queue_names(queue: str) -> list[str]:
    """The RQ queue names of one engine queue: one per priority list (`q`, `q:high`, `q:low`)."""
    return [queue + ("" if p == "normal" else f":{p}") for p in PRIORITIES]


AUDIT = f"{JQ}:audit"


def audit(queue: str | None = None) -> str:
    """The audit stream an enqueue's entry goes to: AUDIT, or the queue's own in cluster mode (the enqueue
    step writes it in the job's slot); readers merge them (engine/fanout.py)."""
    return f"{AUDIT}:{_q(queue)}" if _cluster and queue else AUDIT


def audit_streams(queues) -> list[str]:
    """Every audit stream to read: AUDIT, and in cluster mode each queue's too."""
    return [AUDIT, *(audit(q) for q in queues)] if _cluster else [AUDIT]


def _actor(source: str, actor: str) -> str:
    """An actor's key segment: hash-tagged in cluster mode, so its refusal counter and gate share a slot."""
    return f"{{{source}:{actor}}}" if _cluster else f"{source}:{actor}"


def audit_refusals(source: str, actor: str) -> str:
    """Refused calls by one actor not yet counted in an audit entry (a counter); one slot with its gate."""
    return f"{JQ}:audit:refused:{_actor(source, actor)}"


def audit_refusal_gate(source: str, actor: str) -> str:
    """Held for a minute after an actor's refusal entry (SET NX PX): at most one entry a minute."""
    return f"{JQ}:audit:refused-gate:{_actor(source, actor)}"


def schedule(name: str) -> str:
    """A schedule's state; its keys share the schedule's own tag in cluster mode (jq:sched:{name})."""
    return f"{JQ}:sched:{_q(name)}"


def schedule_tick(name: str, tick_s: int) -> str:
    return f"{JQ}:sched:{_q(name)}:tick:{tick_s}"


# -- support desk: business-key index --------------------------------------------------
INDEX_PREFIX = f"{JQ}:idx:"


def index(kind: str, value: str, queue: str | None = None) -> str:
    """Jobs whose data names this business key (order, phone, ...): zset of job ids, score = enqueue ms.
    In cluster mode one per queue (jq:idx:{q}:kind:value), searched per queue."""
    return f"{INDEX_PREFIX}{_q(queue)}:{kind}:{value}" if _cluster else f"{INDEX_PREFIX}{kind}:{value}"


INDEX_SCAN_CURSOR = f"{JQ}:idx-trim-cursor"  # where the periodic trim's SCAN of index keys stopped
INDEX_SCAN_CURSORS = f"{JQ}:idx-trim-cursors"  # cluster mode: the same, per master (hash: node -> cursor)

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
    return f"{JQ}:sched:{_q(name)}:inflight"
