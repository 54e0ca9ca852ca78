"""One schedule tick as atomic server steps: claim+enqueue for job ticks, a leased claim for call ticks.

A job tick is claimed and its job enqueued in one Lua step (engine/lua/schedule_tick.lua) under the
deterministic id `sched-<name>-<tick_s>`, so a scheduler killed anywhere leaves both or neither, and a
retry is a no-op. A call tick is claimed under a lease (SCHEDULER_CALL_LEASE_MS) and marked done in
one step when the call returns; a tick whose run died (lease passed, not done) is re-run by the next
pass of any scheduler, with its tick id: a call runs at least once, and a callee that takes `tick_id`
can make its effect exactly once. A finished tick never runs again.
"""
from __future__ import annotations

import importlib
import inspect
import logging
import os
from datetime import datetime, timezone

from . import keys
from .app import Engine
from .enqueue import EnqueueRequest, enqueue, script_call
from .errors import ConfigError, EngineError, ServerFullError
from .job_ids import new_job_id

log = logging.getLogger("engine.scheduler")

CLAIM_TTL_S = 3 * 86400  # a tick's claim lives this long past the tick
CRASH_EXIT = 70
# The steps at which SCHEDULER_CRASH_AT stops the process (tests kill the scheduler between every pair)
CRASH_POINTS = ("before-claim", "after-enqueue", "after-advance",
                "before-call-claim", "call-claimed", "call-returned", "call-done")


def tick_s(moment: datetime) -> int:
    return int(moment.timestamp())


def tick_job_id(name: str, tick: int) -> str:
    """Deterministic, so that a tick enqueued twice is still one job (and a call's tick id)."""
    return f"sched-{name}-{tick}"


def check_crash_point(step: str | None) -> None:
    """ConfigError for a SCHEDULER_CRASH_AT that names no step."""
    if step is not None and step not in CRASH_POINTS:
        raise ConfigError(f"SCHEDULER_CRASH_AT={step!r}: must be one of {', '.join(CRASH_POINTS)}")


def crash_point(eng: Engine, step: str) -> None:
    """Tests only: exit at once, like a SIGKILL, when SCHEDULER_CRASH_AT names this step."""
    if eng.settings.scheduler_crash_at == step:
        log.error("SCHEDULER_CRASH_AT=%s: exiting now", step)
        os._exit(CRASH_EXIT)


def _ttl(tick: int, now: datetime) -> int:
    return CLAIM_TTL_S + max(0, tick - tick_s(now))


def claim_and_enqueue(eng: Engine, name: str, queue: str, data: dict, tick: datetime, now: datetime, *,
                      ahead: bool) -> tuple[int, str]:
    """(1 claimed and enqueued | 0 claimed before | -1 paused, job id): one atomic step. The job runs at
    the tick when `ahead`, else at once. EngineError when the enqueue step refuses (nothing claimed)."""
    t = tick_s(tick)
    job_id = new_job_id(queue, tick_job_id(name, t))
    req = EnqueueRequest(queue, data, run_at=tick if ahead else None, job_id=job_id)
    if keys.cluster():
        return _claim_then_enqueue(eng, name, req, t, now), job_id
    script_keys, args = script_call(eng, req)
    out = eng.scripts.schedule_tick(keys=[keys.schedule(name), keys.schedule_tick(name, t), *script_keys],
                                    args=[_ttl(t, now), *args])
    if not isinstance(out, int):
        if int(out[0]) == -1:  # memory at the high-water mark
            raise ServerFullError(int(out[1]), args[3])
        raise EngineError(f"schedule {name}: tick {t} not enqueued: {out!r}")
    return out, job_id


def _claim_then_enqueue(eng: Engine, name: str, req: EnqueueRequest, t: int, now: datetime) -> int:
    """Cluster mode: the schedule's keys and the job's are in two slots, so not one step. The tick's job id
    makes the enqueue idempotent (a pending or kept job with it is returned, not made again); the claim
    follows, so a kill in between leaves no claim and the next pass re-sends the same job."""
    if eng.conn.hget(keys.schedule(name), "enabled") == b"0":
        return -1
    if eng.conn.exists(keys.schedule_tick(name, t)):
        return 0
    enqueue(eng, req)
    eng.conn.set(keys.schedule_tick(name, t), 1, ex=_ttl(t, now))
    return 1


def claim_call(eng: Engine, name: str, tick: int, now: datetime) -> int:
    """Claim a call tick under a lease: 1 run it, 0 finished or running elsewhere, -1 paused."""
    return int(eng.scripts.schedule_call_claim(
        keys=[keys.schedule(name), keys.schedule_tick(name, tick), keys.schedule_inflight(name)],
        args=[tick, _ttl(tick, now), eng.settings.scheduler_call_lease_ms]))


def finish_call(eng: Engine, name: str, tick: int, now: datetime) -> None:
    """Mark a call tick done (it never runs again) and record it as the schedule's latest."""
    eng.scripts.schedule_call_done(
        keys=[keys.schedule(name), keys.schedule_tick(name, tick), keys.schedule_inflight(name)],
        args=[tick, _ttl(tick, now), int(now.timestamp() * 1000)])


def unfinished_calls(eng: Engine, name: str) -> list[int]:
    """Call ticks claimed and not finished (running elsewhere, or abandoned by a dead scheduler)."""
    return [int(m) for m in eng.conn.zrange(keys.schedule_inflight(name), 0, -1)]


def run_call(name: str, target: str, tick: datetime) -> bool:
    """Call `target` with now=<tick in UTC> (and tick_id= when it takes one); log and return False if
    it is missing or raises."""
    module, _, attr = target.rpartition(".")
    try:
        func = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        log.error("schedule %s: cannot import %s: %s", name, target, exc)
        return False
    kwargs = {"now": tick.astimezone(timezone.utc)}
    if _takes(func, "tick_id"):
        kwargs["tick_id"] = tick_job_id(name, tick_s(tick))
    try:
        func(**kwargs)
    except Exception:
        log.exception("schedule %s: %s raised", name, target)
        return False
    return True


def _takes(func, param: str) -> bool:
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False
    return param in params or any(p.kind is p.VAR_KEYWORD for p in params.values())
