"""Schedule state in the server and the operator's schedule actions: list, pause, resume, run now.

The scheduler loop (engine/scheduler.py) reads and advances the same state; the table and the tick
arithmetic live in engine/schedules.py.
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Mapping

from . import keys
from .app import Engine
from .clock import ms_to_iso
from .enqueue import EnqueueRequest, enqueue
from .errors import ConflictError, EngineError, NotFoundError
from .job_ids import new_job_id
from .job_ops import remove_job
from .schedules import UTC, Schedule, as_aware, get_schedule, job_data, schedules_for
from .ticks import run_call, tick_job_id, tick_s

log = logging.getLogger("engine.scheduler")


def read_state(eng: Engine, name: str) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in eng.conn.hgetall(keys.schedule(name)).items()}


def is_paused(state: Mapping[str, str]) -> bool:
    return state.get("enabled") == "0"


def advance(eng: Engine, name: str, field: str, value: int, **also: Any) -> bool:
    """Set `field` to `value` (and the `also` fields) unless the stored value is larger."""
    args: list[Any] = [field, value]
    for key, extra in also.items():
        args += [key, extra]
    return bool(eng.scripts.schedule_advance(keys=[keys.schedule(name)], args=args))


def withdraw(eng: Engine, schedule: Schedule, tick: int) -> None:
    """Remove a tick's pre-enqueued job and its claim (so that a resumed schedule enqueues it again)."""
    try:
        remove_job(schedule.target, new_job_id(schedule.target, tick_job_id(schedule.name, tick)), engine=eng)
    except NotFoundError:
        pass
    except ConflictError:
        log.warning("schedule %s: the job of tick %s is already running; left alone", schedule.name, tick)
        return
    eng.conn.delete(keys.schedule_tick(schedule.name, tick))


# -- operations ----------------------------------------------------------------------------
def _now(now: datetime | None) -> datetime:
    return datetime.now(UTC) if now is None else as_aware(now)


def list_schedules(eng: Engine, now: datetime | None = None, *,
                   schedules: Mapping[str, Schedule] | None = None) -> list[dict[str, Any]]:
    """Every schedule with its configuration and state; times are ISO in the schedule's zone."""
    now = _now(now)
    schedules = schedules if schedules is not None else schedules_for(eng)
    rows = []
    for s in schedules.values():
        state = read_state(eng, s.name)
        enabled = s.enabled and not is_paused(state)
        rows.append({
            "name": s.name, "kind": s.kind, "target": s.target, "cron": s.cron, "tz": s.tz or "UTC",
            "enabled": enabled, "paused": is_paused(state), "catch_up": s.catch_up,
            "next_run": s.next_tick(now).astimezone(s.zone).isoformat() if enabled else None,
            "last_run": ms_to_iso(state.get("last_run_ms"), s.zone),
            "last_job_id": state.get("last_job_id") or None,
        })
    return rows


def pause_schedule(eng: Engine, name: str, *, now: datetime | None = None,
                   schedules: Mapping[str, Schedule] | None = None) -> bool:
    """Stop new ticks and remove the already-enqueued job(s) of future ticks. False if already paused."""
    schedule = get_schedule(schedules if schedules is not None else schedules_for(eng), name)
    now = _now(now)
    was = eng.conn.hget(keys.schedule(name), "enabled")
    eng.conn.hset(keys.schedule(name), "enabled", 0)
    if schedule.kind == "job":
        planned = int(read_state(eng, name).get("next_tick_s") or 0)
        last = max(planned, tick_s(schedule.upcoming(now)[-1]))
        tick = schedule.next_tick(now)
        while tick_s(tick) <= last:
            withdraw(eng, schedule, tick_s(tick))
            tick = schedule.next_tick(tick)
    return was != b"0"


def resume_schedule(eng: Engine, name: str, *, schedules: Mapping[str, Schedule] | None = None) -> bool:
    """Start ticking again from now on (paused ticks are not caught up). False if it was not paused."""
    schedule = get_schedule(schedules if schedules is not None else schedules_for(eng), name)
    if not schedule.enabled:
        raise ConflictError(f"schedule {name!r} is disabled in the configuration")
    if eng.conn.hget(keys.schedule(name), "enabled") != b"0":
        return False
    pipe = eng.conn.pipeline()
    pipe.hset(keys.schedule(name), "enabled", 1)
    pipe.hdel(keys.schedule(name), "next_tick_s")  # the next pass plans afresh, as on a first start
    pipe.execute()
    return True


def run_now(eng: Engine, name: str, now: datetime | None = None, *,
            schedules: Mapping[str, Schedule] | None = None) -> str | None:
    """Run a schedule once, now: enqueue its job (returns the job id) or call its function (returns None)."""
    schedule = get_schedule(schedules if schedules is not None else schedules_for(eng), name)
    now = _now(now)
    now_ms = int(now.timestamp() * 1000)
    if schedule.kind == "call":
        if not run_call(name, schedule.target, now):
            raise EngineError(f"schedule {name!r}: {schedule.target} failed; see the scheduler log")
        eng.conn.hset(keys.schedule(name), "last_run_ms", now_ms)
        return None
    job_id = enqueue(eng, EnqueueRequest(schedule.target, job_data(eng, schedule, now),
                                         job_id=f"sched-{name}-now-{now_ms}")).id
    eng.conn.hset(keys.schedule(name), mapping={"last_run_ms": now_ms, "last_job_id": job_id})
    return job_id

