"""A scheduler process on a virtual clock kept in the server, for the tick kill tests.

`python -m tests.engine.tick_proc` reads REDIS_URL (and SCHEDULER_CRASH_AT, via Settings) and runs
the two schedules below until killed. The test moves the clock (key CLOCK) one tick at a time, so
a scheduler that is down never makes a tick late; each tick must still run exactly once.
"""
from __future__ import annotations

import os
import time
from datetime import datetime, timezone

import redis

from engine.app import Engine, set_default_engine
from engine.scheduler import Scheduler
from engine.schedules import Schedule
from processors.schedules import previous_local_day
from engine.settings import Settings

CLOCK = "test:tick:clock"
STARTED = "test:tick:started"  # tick id -> how many runs of the call began
RETURNED = "test:tick:returned"  # tick id -> how many runs returned
EFFECT = "test:tick:effect"  # tick id -> the one effect, written once thanks to the tick id
CALL_S = 0.03  # the call's duration: a window for kills mid-call

SCHEDULES = {
    "tick-job": Schedule("tick-job", "* * * * *", "job", "dailyReports", previous_local_day, tz="UTC"),
    "tick-call": Schedule("tick-call", "* * * * *", "call", "tests.engine.tick_proc.record", tz="UTC",
                          catch_up=True),
}


def record(now: datetime, tick_id: str) -> None:
    """The call schedule's function: counts its runs, and does its effect once per tick id."""
    conn = redis.Redis.from_url(os.environ["REDIS_URL"])
    conn.hincrby(STARTED, tick_id, 1)
    time.sleep(CALL_S)
    conn.hsetnx(EFFECT, tick_id, now.isoformat())
    conn.hincrby(RETURNED, tick_id, 1)


def main() -> None:
    settings = Settings(scheduler_call_lease_ms=int(os.environ.get("TICK_LEASE_MS", "400")), reap_interval_ms=500)
    eng = Engine.from_settings(settings)
    set_default_engine(eng)
    clock = lambda: datetime.fromtimestamp(float(eng.conn.get(CLOCK)), timezone.utc)  # noqa: E731
    Scheduler(eng, SCHEDULES, interval_s=0.02, retry_s=0.1, clock=clock).run()


if __name__ == "__main__":
    main()
