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


class ServerUnavailableError(EngineError):
    """The Redis-compatible server cannot be reached."""


class ConfigError(EngineError):
    """Invalid configuration (queue table, settings)."""


class PermissionDenied(EngineError):
    """The caller's role does not allow this action."""


# Raised by processors --------------------------------------------------------------


class JobError(Exception):
    """Base for errors a processor raises to steer the failure ladder."""


class PermanentError(JobError):
    """Retrying cannot help: skip the remaining retries and dead-letter at once."""


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
