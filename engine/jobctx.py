"""What a running processor can ask of the engine: its job id, progress and a short log."""
from __future__ import annotations

import contextvars
import json
import time
from dataclasses import dataclass

from . import keys
from .app import Engine
from .errors import JobCancelled

__all__ = ["JobContext", "JobCancelled", "current", "current_job_id", "set_progress", "log", "cancelled",
           "check_cancelled", "bind", "unbind"]



@dataclass(frozen=True)
class JobContext:
    engine: Engine
    job_id: str
    queue: str
    run: int  # 1 for the first run, 2 for the first retry ...


_current: contextvars.ContextVar[JobContext | None] = contextvars.ContextVar("jq_job", default=None)


def current() -> JobContext | None:
    """The running job's context, or None outside a worker (direct calls, tests)."""
    return _current.get()


def current_job_id() -> str | None:
    ctx = _current.get()
    return ctx.job_id if ctx else None


def set_progress(percent: float) -> None:
    """Report progress 0..100; a no-op outside a worker."""
    ctx = _current.get()
    if ctx is None:
        return
    value = max(0.0, min(100.0, float(percent)))
    ctx.engine.conn.hset(keys.job(ctx.job_id), keys.JobField.PROGRESS, f"{value:g}")


def log(*messages: str) -> None:
    """Append a line per message to the job's log (kept with the job, capped), batched with the other slots'
    lines (engine/joblog.py); a no-op outside a worker."""
    ctx = _current.get()
    if ctx is None or not messages:
        return
    now = time.time()
    ctx.engine.job_log.append(ctx.job_id, [json.dumps({"t": now, "run": ctx.run, "msg": str(message)[:2000]})
                                           for message in messages])


def cancelled() -> bool:
    """True once an operator asked to cancel the running job; False outside a worker."""
    ctx = _current.get()
    if ctx is None:
        return False
    return bool(ctx.engine.conn.hexists(keys.job(ctx.job_id), keys.CANCEL_REQUESTED_MS))


def check_cancelled() -> None:
    """Raise JobCancelled if the job was cancelled: long processors call it between steps."""
    if cancelled():
        raise JobCancelled("cancelled by an operator while running")


def bind(ctx: JobContext) -> contextvars.Token:
    return _current.set(ctx)


def unbind(token: contextvars.Token) -> None:
    _current.reset(token)
