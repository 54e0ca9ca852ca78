"""The scheduler process: every ~0.5 s one pass over the schedule table, plus the reaper.

Any number of scheduler processes may run. Each tick is claimed on its own key and only the
claimer acts, so a tick runs once however many schedulers see it (engine/ticks.py):

* job schedules are enqueued ahead of time as delayed jobs (run_at = the tick, job id
  `sched-<name>-<tick_s>`), claim and enqueue in one atomic step, so the engine's delayed-job path
  starts them on time and a kill never loses a tick;
* call schedules run in this process once the tick is due, under a leased claim: a run that dies
  is re-run by a later pass (at least once, with its tick id); a finished one never again.

State per schedule (hash keys.schedule(name)): next_tick_s is the furthest tick already planned
(job) or the next one to run (call); last_tick_s the latest tick dealt with (run or skipped);
last_run_ms and last_job_id the latest run. A tick after next_tick_s that is already past was
missed while no scheduler ran: the most recent one runs once if the schedule catches up.
"""
from __future__ import annotations

import logging
import signal
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Mapping

import redis

from . import keys
from .alert_delivery import AlertDuty
from .app import Engine, set_default_engine
from .errors import ServerFullError, ValidationError
from .job_ids import new_job_id
from .oom import OomEpisode, OutOfMemory
from .schedule_state import advance, is_paused, read_state, withdraw
from .schedules import Schedule, job_data, schedules_for
from .ticks import (check_crash_point, claim_and_enqueue, claim_call, crash_point, finish_call, run_call, tick_job_id,
                    tick_s, unfinished_calls)
from .maintenance import maintain

log = logging.getLogger("engine.scheduler")

PASS_INTERVAL_S = 0.5
RETRY_AFTER_S = 1.0
ON_TIME_S = 10.0  # a call tick noticed later than this counts as missed (it runs only with catch_up)


@dataclass(frozen=True)
class Action:
    """What one pass did for one tick: planned, caught_up, missed, called, re-called, call_failed or error."""

    schedule: str
    what: str
    tick_s: int
    job_id: str | None = None


def tick(eng: Engine, schedules: Mapping[str, Schedule], now: datetime) -> list[Action]:
    """One pass over all schedules at `now` (aware). Connection errors propagate; others are logged."""
    if not isinstance(now, datetime) or now.tzinfo is None:
        raise ValidationError("now", "must be a timezone-aware datetime")
    actions: list[Action] = []
    for schedule in schedules.values():
        if not schedule.enabled:
            continue
        try:
            step = _job_pass if schedule.kind == "job" else _call_pass
            actions += step(eng, schedule, now)
        except (redis.ConnectionError, redis.TimeoutError, OutOfMemory, ServerFullError):
            raise
        except Exception:
            log.exception("schedule %s: pass failed", schedule.name)
            actions.append(Action(schedule.name, "error", 0))
    return actions


def _int(value: str | None) -> int | None:
    return int(value) if value else None


def _load(eng: Engine, schedule: Schedule, now: datetime) -> tuple[int | None, int | None, datetime | None,
                                                                     int | None] | None:
    """(planned, last, prev, prev_s) of a running schedule, or None when it is paused: the planned and
    last ticks from its state, and the latest tick at or before now. On the very first start
    (nothing planned yet) it marks the schedule enabled, and nothing is caught up."""
    state = read_state(eng, schedule.name)
    if is_paused(state):
        return None
    planned, last = _int(state.get("next_tick_s")), _int(state.get("last_tick_s"))
    if planned is None:
        eng.conn.hsetnx(keys.schedule(schedule.name), "enabled", 1)
    prev = schedule.prev_tick(now)
    return planned, last, prev, tick_s(prev) if prev is not None else None


def _job_pass(eng: Engine, schedule: Schedule, now: datetime) -> list[Action]:
    """Record or catch up the latest past tick, then enqueue the upcoming ticks ahead of time."""
    name = schedule.name
    loaded = _load(eng, schedule, now)
    if loaded is None:
        return []
    planned, last, prev, prev_s = loaded
    actions: list[Action] = []
    if planned is not None:
        if prev_s is not None and (last is None or prev_s > last):
            if eng.conn.exists(keys.schedule_tick(name, prev_s)):  # enqueued ahead; it has come due
                advance(eng, name, "last_tick_s", prev_s, last_run_ms=prev_s * 1000,
                        last_job_id=new_job_id(schedule.target, tick_job_id(name, prev_s)))
            elif prev_s > planned and schedule.catch_up:  # missed while no scheduler ran
                crash_point(eng, "before-claim")
                won, job_id = claim_and_enqueue(eng, name, schedule.target, job_data(eng, schedule, prev), prev, now,
                                                ahead=False)
                crash_point(eng, "after-enqueue")
                if won == -1:
                    return actions
                advance(eng, name, "last_tick_s", prev_s, last_run_ms=_ms(now), last_job_id=job_id)
                if won == 1:
                    actions.append(Action(name, "caught_up", prev_s, job_id))
            else:  # missed without catch-up, or before this schedule was first planned
                advance(eng, name, "last_tick_s", prev_s)
                if prev_s > planned:
                    actions.append(Action(name, "missed", prev_s))
    furthest = None
    for upcoming in schedule.upcoming(now):
        up_s = tick_s(upcoming)
        if planned is not None and up_s <= planned:
            continue
        crash_point(eng, "before-claim")
        won, job_id = claim_and_enqueue(eng, name, schedule.target, job_data(eng, schedule, upcoming), upcoming, now,
                                        ahead=True)
        crash_point(eng, "after-enqueue")
        if won == -1:
            break
        if won == 1:
            if is_paused(read_state(eng, name)):  # paused meanwhile: take it back
                withdraw(eng, schedule, up_s)
                break
            actions.append(Action(name, "planned", up_s, job_id))
        furthest = up_s
    if furthest is not None:
        advance(eng, name, "next_tick_s", furthest)
        crash_point(eng, "after-advance")
    return actions


def _call_pass(eng: Engine, schedule: Schedule, now: datetime) -> list[Action]:
    """Run the call when its tick is due; a tick noticed late runs only with catch_up."""
    name = schedule.name
    loaded = _load(eng, schedule, now)
    if loaded is None:
        return []
    planned, last, prev, prev_s = loaded
    actions: list[Action] = []
    for abandoned in unfinished_calls(eng, name):  # claimed by a scheduler that died mid-call
        if claim_call(eng, name, abandoned, now) == 1:
            actions.append(_run_claimed(eng, schedule, datetime.fromtimestamp(abandoned, timezone.utc), now,
                                        rerun=True))
    if planned is not None:
        if prev_s is not None and prev_s >= planned and (last is None or prev_s > last):
            late = (now - prev).total_seconds() > ON_TIME_S
            if late and not schedule.catch_up:
                advance(eng, name, "last_tick_s", prev_s)
                actions.append(Action(name, "missed", prev_s))
            else:
                crash_point(eng, "before-call-claim")
                won = claim_call(eng, name, prev_s, now)
                if won == -1:
                    return actions
                if won == 1:
                    actions.append(_run_claimed(eng, schedule, prev, now))
    advance(eng, name, "next_tick_s", tick_s(schedule.next_tick(now)))
    return actions


def _run_claimed(eng: Engine, schedule: Schedule, tick: datetime, now: datetime, *, rerun: bool = False) -> Action:
    """Run a claimed call tick and mark it done; a kill before the mark leaves it for a re-run."""
    crash_point(eng, "call-claimed")
    ok = run_call(schedule.name, schedule.target, tick)
    crash_point(eng, "call-returned")
    finish_call(eng, schedule.name, tick_s(tick), now)
    crash_point(eng, "call-done")
    what = ("re-called" if rerun else "called") if ok else "call_failed"
    return Action(schedule.name, what, tick_s(tick))


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class Scheduler:
    """The loop: a pass every PASS_INTERVAL_S, the reaper every reap_interval_ms, stop on request."""

    def __init__(self, eng: Engine, schedules: Mapping[str, Schedule] | None = None, *,
                 interval_s: float = PASS_INTERVAL_S, retry_s: float = RETRY_AFTER_S,
                 clock: Callable[[], datetime] | None = None):
        check_crash_point(eng.settings.scheduler_crash_at)
        self.eng = eng
        self.schedules = schedules if schedules is not None else schedules_for(eng)
        self.interval_s = interval_s
        self.retry_s = retry_s
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.passes = 0
        self._stop = threading.Event()
        self._next_reap = 0.0
        self.alerts = AlertDuty(eng, self.schedules)
        self.oom = OomEpisode("scheduler")

    def stop(self) -> None:
        """Finish the current pass, then leave run()."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run_pass(self) -> list[Action]:
        """Reap if it is time, then one schedule pass at the clock's now."""
        if time.monotonic() >= self._next_reap:
            self._next_reap = time.monotonic() + self.eng.settings.reap_interval_ms / 1000
            try:
                maintain(self.eng, self.eng.hooks, "scheduler", self.oom)
            except (redis.ConnectionError, redis.TimeoutError):
                raise
            except Exception:
                log.exception("reaper failed")
        now = self.clock()
        actions = tick(self.eng, self.schedules, now)
        self.passes += 1
        for action in actions:
            log.info("schedule %s: %s tick %s %s", action.schedule, action.what, action.tick_s, action.job_id or "")
        try:  # alerts: evaluated and sent within alert_budget_s (engine/alert_delivery.py)
            self.alerts.run(actions, now_ms=_ms(now))
        except (redis.ConnectionError, redis.TimeoutError):
            raise
        except Exception:
            log.exception("alert duty failed")
        return actions

    def run(self, *, once: bool = False) -> int:
        """Loop until stopped (or one pass with `once`). 0 on a clean exit, 1 if `once` failed."""
        while not self.stopping:
            try:
                self.run_pass()
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                log.warning("server unreachable (%s); retrying in %.1f s", exc, self.retry_s)
                if once:
                    return 1
                self._stop.wait(self.retry_s)
                continue
            except (OutOfMemory, ServerFullError) as exc:  # nothing was claimed: the tick runs once there is room
                delay = self.oom.refused("schedule pass", exc)
                if once:
                    return 1
                self._stop.wait(delay)
                continue
            except Exception:
                log.exception("scheduler pass failed; retrying in %.1f s", self.retry_s)
                if once:
                    return 1
                self._stop.wait(self.retry_s)
                continue
            self.oom.ok()
            if once:
                return 0
            self._stop.wait(self.interval_s)
        return 0


def main(eng: Engine, *, once: bool = False) -> int:
    """Run the scheduler until SIGTERM/SIGINT (exits after the current pass), or one pass with `once`."""
    set_default_engine(eng)
    scheduler = Scheduler(eng)
    log.info("scheduler started: %s", ", ".join(f"{s.name} [{s.cron} {s.tz}]" for s in scheduler.schedules.values()
                                                 if s.enabled))
    restore = _install_signals(scheduler)
    try:
        return scheduler.run(once=once)
    finally:
        restore()
        scheduler.alerts.close()


def _install_signals(scheduler: Scheduler) -> Callable[[], None]:
    """SIGTERM/SIGINT stop the loop after the current pass; a second one exits at once."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def on_signal(signum, _frame):
        if scheduler.stopping:
            raise SystemExit(1)
        log.info("stop signal: exiting after the current pass")
        scheduler.stop()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore
