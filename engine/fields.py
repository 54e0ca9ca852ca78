"""Field names of the job and worker hashes (read as keys.JobField, keys.WorkerField)."""
from __future__ import annotations


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
    TRAIL = "jq_trail"  # 1 once a run failed: attempts and log lists may exist (complete.lua gives them the TTL)
    PACE_KEY = "jq_pace_key"  # the value of the queue's key_limit field (enqueue.py), read by dequeue.lua


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
