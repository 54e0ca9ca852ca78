"""The soak's schedules on a scaled clock, the scheduler process that runs them, and the tick tally.

`python -m bench.soaklib.ticks` is one scheduler: the real engine Scheduler (schedule passes and the
reaper) over two every-minute schedules whose clock runs SOAK_TICK_SCALE times faster than the wall
clock from SOAK_TICK_WALL0, so a minute ticks every few seconds. SCHEDULER_CRASH_AT (Settings) makes
it exit at one step of a tick: the "scheduler kill mid-tick" fault. Every tick must run exactly
once: the job schedule's tick jobs exist once each, the call schedule's effect is written once per
tick id (a call killed mid-run is re-run at least once).
"""
from __future__ import annotations

import logging
import os
import time
from datetime import datetime, timedelta, timezone

import redis

from engine import keys
from engine.app import Engine, default_engine, set_default_engine
from engine.scheduler import Scheduler
from engine.schedules import Schedule
from processors.schedules import previous_local_day
from engine.settings import Settings

TICK_QUEUE = "dailyReports"  # no soak worker takes it: the tick jobs stay there to be counted
JOB_SCHEDULE, CALL_SCHEDULE = "soak-tick-job", "soak-tick-call"
EFFECT = "soak:tick:effect"  # tick id -> the one effect
RETURNED = "soak:tick:returned"  # tick id -> runs that returned
SCHEDULES = {
    JOB_SCHEDULE: Schedule(JOB_SCHEDULE, "* * * * *", "job", TICK_QUEUE, previous_local_day, tz="UTC"),
    CALL_SCHEDULE: Schedule(CALL_SCHEDULE, "* * * * *", "call", "bench.soaklib.ticks.record", tz="UTC",
                            catch_up=True),
}


def clock_env(scale: float, wall0: float) -> dict[str, str]:
    return {"SOAK_TICK_SCALE": str(scale), "SOAK_TICK_WALL0": str(wall0)}


def virtual_now(scale: float, wall0: float, wall: float | None = None) -> datetime:
    """The schedulers' clock: the wall clock sped up `scale` times from `wall0`."""
    wall = time.time() if wall is None else wall
    return datetime.fromtimestamp(wall0 + (wall - wall0) * scale, timezone.utc)


def record(now: datetime, tick_id: str) -> None:
    """The call schedule's function: its effect once per tick id; retried through server faults (bounded)."""
    conn = default_engine().conn
    deadline = time.monotonic() + 20
    while True:
        try:
            conn.hsetnx(EFFECT, tick_id, now.isoformat())
            conn.hincrby(RETURNED, tick_id, 1)
            return
        except redis.RedisError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    scale, wall0 = float(os.environ["SOAK_TICK_SCALE"]), float(os.environ["SOAK_TICK_WALL0"])
    eng = Engine.from_settings(Settings(), check=False)  # a server down at start is retried by the loop
    set_default_engine(eng)
    Scheduler(eng, SCHEDULES, interval_s=0.05, retry_s=0.2, clock=lambda: virtual_now(scale, wall0)).run()


def _tick_of(member: bytes | str) -> int:
    return int((member.decode() if isinstance(member, bytes) else member).rsplit("-", 1)[1])


def first_tick(conn: redis.Redis) -> int | None:
    """The first call tick the schedulers will run (set by their first pass)."""
    value = conn.hget(keys.schedule(CALL_SCHEDULE), "next_tick_s")
    return int(value) if value else None


def tally(conn: redis.Redis, first: int, last_wall: float, scale: float, wall0: float) -> dict[str, int]:
    """Every minute tick from `first` to the last one due by `last_wall`: run once, missed or run again."""
    last = int(virtual_now(scale, wall0, last_wall).timestamp()) // 60 * 60
    expected = list(range(first, last + 1, 60))
    effects = {_tick_of(k) for k in conn.hkeys(EFFECT)}
    returned = {_tick_of(k): int(v) for k, v in conn.hgetall(RETURNED).items()}
    job_members = [m.decode() for p in keys.PRIORITIES for m in conn.lrange(keys.waiting(TICK_QUEUE, p), 0, -1)]
    job_members += [m.decode() for m in conn.zrange(keys.scheduled(TICK_QUEUE), 0, -1)]
    tick_jobs = [_tick_of(m) for m in job_members if m.startswith(f"sched-{JOB_SCHEDULE}-")]
    return {
        "ticks_expected": len(expected),
        "call_ticks_missed": sum(1 for t in expected if t not in effects),
        "job_ticks_missed": sum(1 for t in expected if t not in tick_jobs),
        "job_ticks_enqueued_twice": len(tick_jobs) - len(set(tick_jobs)),
        "call_reruns_after_return": sum(max(0, n - 1) for n in returned.values()),
    }


def tick_seconds(scale: float) -> float:
    """Wall seconds between two minute ticks."""
    return timedelta(minutes=1).total_seconds() / scale


if __name__ == "__main__":
    main()
