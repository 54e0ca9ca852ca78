"""Every operator action in one place: checks the role, does it, and writes the audit log.

The API, the dashboard and the CLI act only through an Operator, so no mutating path can skip
the role check or the audit entry.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Callable

from rq.job import Job

from . import audit, bulk, cancel, control, dead_letters, deadline, job_ops
from .app import Engine
from .audit import Actor
from .errors import ConflictError, EngineError, PermissionDenied, ServerFullError
from .helpers import add_job
from .oom import OutOfMemory
from .search import SearchFilter

WRITE_ROLES = ("operator", "write")
log = logging.getLogger("engine.operator")


class Operator:
    def __init__(self, eng: Engine, actor: Actor, *, role: str):
        self.eng, self.actor, self.role = eng, actor, role

    @property
    def can_write(self) -> bool:
        return self.role in WRITE_ROLES

    def _do(self, action: str, fn: Callable[[], Any], *, queue: str | None = None, target: str | None = None,
            details: dict[str, Any] | None = None, audited_in_step: bool = False) -> Any:
        """Check the role, act, audit. With `audited_in_step` the action's own Lua step wrote the "ok"
        entry atomically with the change; only refusals are recorded here."""
        if not self.can_write:
            audit.record_refusal(self.actor, action, queue=queue, target=target, outcome="denied: read-only role",
                                 engine=self.eng)
            raise PermissionDenied(f"{self.actor.name} ({self.role}) may not {action}")
        deadline.before_write(self.eng)  # a caller past its budget (or a frozen server) gets no write
        try:
            result = fn()
        except ServerFullError as exc:
            try:  # nothing was written; on a server above maxmemory the refusal's entry cannot be either
                audit.record(self.actor, action, queue=queue, target=target, details=details,
                             outcome=f"error: {exc}", engine=self.eng)
            except OutOfMemory:
                log.warning("%s refused (server full); its audit entry was refused too", action)
            raise
        except ConflictError as exc:
            audit.record(self.actor, action, queue=queue, target=target, details={**(details or {}), "error": str(exc)},
                         outcome="conflict", engine=self.eng)
            raise
        except EngineError as exc:
            audit.record(self.actor, action, queue=queue, target=target, details=details,
                         outcome=f"error: {exc}", engine=self.eng)
            raise
        if not audited_in_step:
            audit.record(self.actor, action, queue=queue, target=target, details=details, outcome="ok",
                         engine=self.eng)
        return result

    # jobs
    def enqueue(self, queue: str, data: dict[str, Any], *, priority: str = "normal",
                delay: timedelta | float | None = None, run_at: datetime | None = None,
                job_id: str | None = None) -> Job:
        details = {"priority": priority, "delay": delay, "run_at": run_at, "job_id": job_id}
        entry = audit.entry_fields(self.actor, "enqueue", queue=queue, details=details)

        def enqueue() -> Job:
            # the entry is written by the enqueue's own step (or, for a re-send of a job on this queue,
            # right after it); a conflict writes nothing, and _do audits it as such
            job = add_job(queue, data, priority=priority, delay=delay, run_at=run_at, job_id=job_id, engine=self.eng,
                          audit=entry)
            if job.origin != queue:  # the id is taken by a job kept on another queue
                raise ConflictError(f"job id {job.id!r} is in use on queue {job.origin}")
            return job

        return self._do("enqueue", enqueue, queue=queue, details=details, audited_in_step=True)

    def retry_job(self, queue: str, job_id: str, data: dict[str, Any] | None = None) -> bool:
        """Retry a dead-lettered job; with `data`, fix and resend (the audit keeps the data before and after)."""
        details = self._edit_details(job_id, data)
        return self._do("retry", lambda: job_ops.retry_job(queue, job_id, data=data, engine=self.eng), queue=queue,
                        target=job_id, details=details)

    def _edit_details(self, job_id: str, data: dict[str, Any] | None) -> dict[str, Any] | None:
        if data is None or not self.can_write:
            return None
        try:
            before = dead_letters.current_data(job_id, engine=self.eng)
        except EngineError:
            before = None
        return {"data_before": before, "data_after": data}

    def cancel(self, queue: str, job_id: str) -> str:
        """"cancelled" at once, or "cancelling" for a running job (see engine/cancel.py)."""
        details: dict[str, Any] = {}

        def act() -> str:
            details["outcome"] = cancel.cancel_job(queue, job_id, engine=self.eng)
            return details["outcome"]
        return self._do("cancel", act, queue=queue, target=job_id, details=details)

    def remove_job(self, queue: str, job_id: str) -> None:
        return self._do("delete", lambda: job_ops.remove_job(queue, job_id, engine=self.eng), queue=queue,
                        target=job_id)

    # dead letters
    def retry_dead_letter(self, entry_id: str, data: dict[str, Any] | None = None) -> bool:
        """Retry one entry; with `data`, fix and resend (the audit keeps the data before and after)."""
        details = self._edit_details(entry_id, data)
        return self._do("dead_letter_retry", lambda: dead_letters.retry(entry_id, data=data, engine=self.eng),
                        target=entry_id, details=details)

    def delete_dead_letter(self, entry_id: str) -> bool:
        return self._do("dead_letter_delete", lambda: dead_letters.delete(entry_id, engine=self.eng), target=entry_id)

    def bulk_retry_dead_letters(self, flt: dead_letters.Filter | None = None, *, ids: list[str] | None = None) -> int:
        """Retry every entry matching the filter (or the ids), at most bulk.BULK_CAP; one audit entry."""
        return self._bulk("bulk_retry", lambda: bulk.bulk_dead_letters("retry", flt, ids=ids, engine=self.eng),
                          flt.queue if flt else None, _bulk_details(flt, ids))

    def bulk_delete_dead_letters(self, flt: dead_letters.Filter | None = None, *, ids: list[str] | None = None) -> int:
        """Delete every entry matching the filter (or the ids), at most bulk.BULK_CAP; one audit entry."""
        return self._bulk("bulk_delete", lambda: bulk.bulk_dead_letters("delete", flt, ids=ids, engine=self.eng),
                          flt.queue if flt else None, _bulk_details(flt, ids))

    def bulk_search(self, action: str, flt: SearchFilter) -> int:
        """Cancel, retry or delete every job a search filter matches, at most
        bulk.BULK_CAP; audited as one entry naming the filter and the count."""
        return self._bulk(f"bulk_{action}_search", lambda: bulk.bulk_search(action, flt, engine=self.eng),
                          flt.queue, {"filter": flt.described()})

    def _bulk(self, action: str, fn: Callable[[], int], queue: str | None, details: dict[str, Any]) -> int:
        def act() -> int:
            details["count"] = fn()
            return details["count"]
        return self._do(action, act, queue=queue, details=details)

    # queues
    def pause(self, queue: str) -> None:
        return self._do("pause", lambda: control.pause(queue, engine=self.eng), queue=queue)

    def resume(self, queue: str) -> None:
        return self._do("resume", lambda: control.resume(queue, engine=self.eng), queue=queue)

    def set_rate_limit(self, queue: str, limit: int, *, window_ms: int | None = None) -> None:
        return self._do("rate_limit", lambda: control.set_rate_limit(queue, limit, window_ms=window_ms,
                                                                     engine=self.eng),
                        queue=queue, details={"limit": limit, "window_ms": window_ms})

    def reset_rate_limit(self, queue: str) -> None:
        return self._do("rate_limit_reset", lambda: control.reset_rate_limit(queue, engine=self.eng), queue=queue)

    # schedules
    def pause_schedule(self, name: str) -> None:
        from . import schedule_state as schedules

        return self._do("schedule_pause", lambda: schedules.pause_schedule(self.eng, name), target=name)

    def resume_schedule(self, name: str) -> None:
        from . import schedule_state as schedules

        return self._do("schedule_resume", lambda: schedules.resume_schedule(self.eng, name), target=name)

    def run_schedule_now(self, name: str) -> str | None:
        from . import schedule_state as schedules

        return self._do("schedule_run_now", lambda: schedules.run_now(self.eng, name), target=name)


def _bulk_details(flt: dead_letters.Filter | None, ids: list[str] | None) -> dict[str, Any]:
    if ids is not None:
        return {"ids": ids[:100], "count": len(ids)}
    return {"filter": {k: v for k, v in (flt.__dict__ if flt else {}).items() if v is not None}}
