"""One error tree. Edges (API, dashboard, CLI) catch EngineError and turn it into a message."""
from __future__ import annotations


class EngineError(Exception):
    """Base of every error the engine raises on purpose."""


class ValidationError(EngineError, ValueError):
    """Bad input, named by field; nothing was written."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class UnknownQueueError(ValidationError):
    def __init__(self, queue: str):
        super().__init__("queue", f"unknown queue {queue!r}")
        self.queue = queue


class NotFoundError(EngineError, LookupError):
    """The job, dead-letter entry or schedule does not exist."""


class ConflictError(EngineError):
    """The operation does not fit the object's state (retrying a running job, say)."""


class ServerError(EngineError):
    """The Redis-compatible server failed a command (read-only replica, loading, out of memory ...).
    Raised by the engine's client for every redis-py error (engine/connection.py)."""


class ServerUnavailableError(ServerError):
    """The Redis-compatible server cannot be reached (connection refused, lost or timed out)."""


class ReplicationTimeoutError(ServerUnavailableError):
    """ENQUEUE_WAIT_REPLICAS: the primary has the job, but too few replicas confirmed it in time, so a
    failover could still lose it. Re-send with the same job_id (an idempotent re-send writes nothing)."""

    def __init__(self, job_id: str, confirmed: int, wanted: int, timeout_ms: int):
        super().__init__(f"job {job_id} is on the primary, but {confirmed} of {wanted} replica(s) confirmed it "
                         f"within {timeout_ms} ms: re-send it with the same job_id")
        self.job_id, self.confirmed, self.wanted = job_id, confirmed, wanted


class CredentialsError(ServerError):
    """The server refused the configured user or password (WRONGPASS, NOAUTH), or the user may not
    connect: a setting to fix, not an outage to wait out."""


class ServerFullError(EngineError):
    """The server's memory is at the high-water mark (or full): the enqueue was refused and nothing
    was written. Workers keep draining; retry after `retry_after_s`."""

    RETRY_AFTER_S = 5

    def __init__(self, used: int | None = None, mark: int | None = None, *, accepted: list[str] | None = None):
        if used is not None and mark:
            where = f"{used / 1e6:.1f} MB used, high-water mark {mark / 1e6:.1f} MB"
        else:
            where = "the server refused the write: used memory above maxmemory"
        super().__init__(f"server full ({where}): enqueues are refused while workers drain it; "
                         f"retry in {self.RETRY_AFTER_S} s")
        self.used, self.mark = used, mark
        self.retry_after_s = self.RETRY_AFTER_S
        self.accepted = accepted or []  # a bulk enqueue: the jobs written before the refusal


class ConfigError(EngineError):
    """Invalid configuration (queue table, settings)."""


class PermissionDenied(EngineError):
    """The caller's role does not allow this action."""


# Raised by processors --------------------------------------------------------------


class JobError(Exception):
    """Base for errors a processor raises to steer the failure ladder."""


class PermanentError(JobError):
    """Retrying cannot help: skip the remaining retries and dead-letter at once."""


class UnregisteredFunctionError(PermanentError):
    """The job names a function other than its queue's registered processor: never imported nor run."""

    def __init__(self, queue: str, named: str, registered: str):
        super().__init__(f"job names function {named!r}, but queue {queue!r} runs only its registered "
                         f"processor {registered!r}; the job was not run")
        self.named = named
        self.registered = registered


class ProviderBackPressure(JobError):
    """The provider rate-limited us: start no job on this queue for retry_after_s, and put
    the job back in line without using an attempt."""

    def __init__(self, retry_after_s: float, message: str = "provider asked us to back off"):
        super().__init__(f"{message} (retry after {retry_after_s:g} s)")
        self.retry_after_s = float(retry_after_s)


class WorkerDiedError(JobError):
    """Recorded as the error of a run whose worker stopped heartbeating."""


class JobCancelled(JobError):
    """The job was cancelled (engine/cancel.py): raised by jobctx.check_cancelled() in a processor, and
    recorded by the worker when a cancelled run goes on past the grace period. Never retried."""


class JobTimeoutError(JobError):
    """The run exceeded its queue's timeout."""
