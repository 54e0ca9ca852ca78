"""Ticks survive a scheduler SIGKILLed anywhere: a job tick's claim and enqueue are one step, and a
call tick claimed by a dead scheduler is re-run after its lease. Real scheduler subprocesses on a
virtual clock kept in the server (tests/engine/tick_proc.py), which the test moves tick by tick."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from engine import keys
from engine.errors import ConfigError
from engine.scheduler import Scheduler, tick
from engine.ticks import CRASH_EXIT, CRASH_POINTS
from tests.engine import tick_proc

ROOT = Path(__file__).resolve().parents[2]
BASE = datetime(2031, 3, 4, 10, 0, 0, tzinfo=timezone.utc)  # ahead of the real clock: job ticks stay scheduled
T0 = int(BASE.timestamp())
STARTUP_S = 1.5  # a killed scheduler's successor has started by then
TICK_S = 0.3  # wall time per tick in the random-kill test


def _spawn(redis_url: str, **env: str) -> subprocess.Popen:
    full = {**{k: v for k, v in os.environ.items() if k != "SCHEDULER_CRASH_AT"}, "REDIS_URL": redis_url,
            "PYTHONPATH": str(ROOT), **env}
    return subprocess.Popen([sys.executable, "-m", "tests.engine.tick_proc"], cwd=ROOT, env=full,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _set_clock(eng, moment: datetime) -> None:
    eng.conn.set(tick_proc.CLOCK, moment.timestamp())


def _counts(eng, field_key: str) -> dict[int, int]:
    raw = eng.conn.hgetall(field_key)
    return {int(k.decode().rsplit("-", 1)[1]): int(v) for k, v in raw.items()}


def _effects(eng) -> dict[int, str]:
    return {int(k.decode().rsplit("-", 1)[1]): v.decode() for k, v in eng.conn.hgetall(tick_proc.EFFECT).items()}


def _job_ticks(eng) -> list[int]:
    members = [m.decode() for m in eng.conn.zrange(keys.scheduled("dailyReports"), 0, -1)]
    assert all(m.startswith("sched-tick-job-") for m in members), members
    return sorted(int(m.rsplit("-", 1)[1]) for m in members)


def _wait_tick_done(eng, t: int, timeout_s: float, step=None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if step is not None:
            step()
        if t in _effects(eng) and eng.conn.hget(keys.schedule("tick-call"), "last_tick_s") is not None \
                and int(eng.conn.hget(keys.schedule("tick-call"), "last_tick_s")) >= t \
                and _job_ticks(eng) and _job_ticks(eng)[-1] > t:
            return
        time.sleep(0.02)
    state = {k.decode(): v.decode() for k, v in eng.conn.hgetall(keys.schedule("tick-call")).items()}
    raise AssertionError(f"tick {t} not done within {timeout_s} s: effects {sorted(_effects(eng))}, "
                         f"call state {state}, in flight {eng.conn.zrange(keys.schedule_inflight('tick-call'), 0, -1)}, "
                         f"claim {eng.conn.get(keys.schedule_tick('tick-call', t))}, job ticks {_job_ticks(eng)[-3:]}")


def test_an_unknown_crash_point_is_a_config_error(engine_factory):
    with pytest.raises(ConfigError, match="SCHEDULER_CRASH_AT"):
        Scheduler(engine_factory(scheduler_crash_at="nowhere"), tick_proc.SCHEDULES)


@pytest.mark.parametrize("step", CRASH_POINTS)
def test_a_scheduler_killed_at_any_step_loses_no_tick_and_runs_none_twice(engine, redis_url, monkeypatch, step):
    monkeypatch.setenv("REDIS_URL", redis_url)  # record() runs in this process during the recovery passes
    schedules = tick_proc.SCHEDULES
    tick(engine, schedules, BASE - timedelta(seconds=1))  # plans tick T0; the call schedule starts
    _set_clock(engine, BASE + timedelta(seconds=1))
    proc = _spawn(redis_url, SCHEDULER_CRASH_AT=step, TICK_LEASE_MS="300")
    try:
        rc = proc.wait(timeout=60)
    finally:
        proc.kill()
    assert rc == CRASH_EXIT, proc.stderr.read().decode()[-2000:]
    for n in range(3):  # the recovery: later passes of another scheduler, tick after tick
        now = BASE + timedelta(seconds=60 * n + 1)
        _wait_tick_done(engine, T0 + 60 * n, 10, step=lambda now=now: tick(engine, schedules, now))
    ticks = [T0 + 60 * n for n in range(3)]
    assert sorted(_effects(engine)) == ticks
    returned, started = _counts(engine, tick_proc.RETURNED), _counts(engine, tick_proc.STARTED)
    twice = {T0: 2} if step == "call-returned" else {}  # killed after the call, before marking it done
    assert returned == {t: twice.get(t, 1) for t in ticks}
    assert started == returned
    job_ticks = _job_ticks(engine)
    assert job_ticks == list(range(T0, job_ticks[-1] + 1, 60)) and job_ticks[-1] >= T0 + 180
    assert not engine.conn.zcard(keys.schedule_inflight("tick-call"))


def test_random_sigkills_over_100_ticks_run_every_tick_exactly_once(engine, redis_url):
    rng = random.Random(11)
    _set_clock(engine, BASE - timedelta(seconds=1))
    procs = [_spawn(redis_url), _spawn(redis_url)]
    born = [time.monotonic()] * 2
    kills = 0
    next_kill = time.monotonic() + rng.uniform(0.1, 0.3)

    def maybe_kill() -> None:
        """SIGKILL one scheduler at random moments, but only while the other one has had time to start
        (a loaded machine takes a second or more to import), so that the two are never both starting."""
        nonlocal kills, next_kill
        now = time.monotonic()
        if now < next_kill or min(now - b for b in born) < STARTUP_S:
            return
        i = rng.randrange(len(procs))
        procs[i].send_signal(signal.SIGKILL)
        procs[i].wait(timeout=10)
        procs[i], born[i] = _spawn(redis_url), time.monotonic()
        kills += 1
        next_kill = time.monotonic() + rng.uniform(0.1, 0.3)

    try:
        deadline = time.monotonic() + 30
        while eng_state(engine) is None and time.monotonic() < deadline:  # the call schedule has started
            time.sleep(0.05)
        for n in range(100):
            _set_clock(engine, BASE + timedelta(seconds=60 * n + 1))
            _wait_tick_done(engine, T0 + 60 * n, 20, step=maybe_kill)
            paced = time.monotonic() + TICK_S  # each tick lasts a while, so that kills land on every step
            while time.monotonic() < paced:
                maybe_kill()
                time.sleep(0.02)
    finally:
        for p in procs:
            p.kill()
            p.wait(timeout=10)
    ticks = [T0 + 60 * n for n in range(100)]
    cut = sum(_counts(engine, tick_proc.STARTED).values()) - sum(_counts(engine, tick_proc.RETURNED).values())
    print(f"{kills} SIGKILLs, {cut} calls killed mid-run and re-run, {reruns_of(engine)} re-runs after return")
    assert kills >= 15
    assert sorted(_effects(engine)) == ticks  # every tick's effect, once
    returned = _counts(engine, tick_proc.RETURNED)
    assert set(returned) == set(ticks)
    reruns = sum(c - 1 for c in returned.values())
    assert reruns <= kills  # a call runs again only when a kill hit between its return and its done mark
    job_ticks = _job_ticks(engine)
    assert job_ticks[:100] == ticks and job_ticks == list(range(T0, job_ticks[-1] + 1, 60))
    assert len(set(job_ticks)) == len(job_ticks)


def reruns_of(eng) -> int:
    return sum(c - 1 for c in _counts(eng, tick_proc.RETURNED).values())


def eng_state(eng) -> str | None:
    value = eng.conn.hget(keys.schedule("tick-call"), "next_tick_s")
    return value.decode() if value else None
