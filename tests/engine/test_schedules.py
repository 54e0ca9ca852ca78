"""Recurring schedules: the table, tick arithmetic across time zones and DST, exactly-once claiming
between several schedulers, catch-up after downtime, pause/resume/run-now and the scheduler loop.

Time is injected: most tests use a fixed `now` a few years ahead, so that ticks enqueued ahead are
still in the future for the real server and sit in the scheduled set.
"""
from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from croniter import croniter
from rq.job import Job
from rq.serializers import JSONSerializer

from engine import keys
from engine import scheduler as scheduler_mod
from engine.app import Engine
from engine.errors import ConfigError, ConflictError, NotFoundError
from engine.scheduler import Scheduler, main, tick
from engine import schedules as schedules_mod
from engine.schedule_state import list_schedules, pause_schedule, resume_schedule, run_now
from engine.schedules import Schedule, schedules_for
from processors.schedules import SCHEDULES
from processors.table import QUEUE_NAMES


def build_schedules(overrides=None, *, base=SCHEDULES, queues=QUEUE_NAMES, **kw):
    """The machinery exercised on the platform's schedule table (the engine has none of its own)."""
    return schedules_mod.build_schedules(overrides, base=base, queues=queues, **kw)

UTC = timezone.utc
BASE = datetime(2031, 3, 4, 10, 0, 0, tzinfo=UTC)  # a Tuesday, safely in the future
MINUTE = timedelta(minutes=1)

# -- helpers ------------------------------------------------------------------------------
CALLS: list[tuple[str, datetime]] = []
_calls_lock = threading.Lock()


def record_call(now: datetime) -> None:
    with _calls_lock:
        CALLS.append((threading.current_thread().name, now))


def failing_call(now: datetime) -> None:
    raise RuntimeError("boom")


@pytest.fixture(autouse=True)
def _clear_calls():
    CALLS.clear()
    yield
    CALLS.clear()


def call_schedule(name: str = "sweep", func: str = "record_call", **kw) -> Schedule:
    return Schedule(name, kw.pop("cron", "* * * * *"), "call", f"{__name__}.{func}", tz=kw.pop("tz", "UTC"), **kw)


def job_schedule(name: str = "every-minute", cron: str = "* * * * *", **kw) -> Schedule:
    return Schedule(name, cron, "job", kw.pop("queue", "creditReconciliation"), tz=kw.pop("tz", "UTC"), **kw)


def table(*schedules: Schedule) -> dict[str, Schedule]:
    return {s.name: s for s in schedules}


def job_fields(eng: Engine, job_id: str) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in eng.conn.hgetall(keys.job(job_id)).items() if k != b"data"}


def job_data(eng: Engine, job_id: str) -> dict:
    return Job.fetch(job_id, connection=eng.conn, serializer=JSONSerializer).kwargs


def ts(moment: datetime) -> int:
    return int(moment.timestamp())


def by_what(actions, what: str) -> list:
    return [a for a in actions if a.what == what]


# -- the table ------------------------------------------------------------------------------
def test_default_table_builds_with_the_engine_time_zone(engine_factory):
    built = schedules_for(engine_factory(scheduler_tz="Asia/Kathmandu"))
    assert list(built) == ["daily-report", "credit-reconciliation", "order-expiry-sweep"]
    report, credit, sweep = built.values()
    assert (report.kind, report.target, report.cron, report.catch_up) == ("job", "dailyReports", "15 0 * * *", True)
    assert (credit.kind, credit.target, credit.cron, credit.catch_up) == ("job", "creditReconciliation", "0 2 * * *",
                                                                          True)
    assert (sweep.kind, sweep.target, sweep.cron, sweep.catch_up) == ("call", "processors.order_expiry.sweep",
                                                                      "* * * * *", False)
    assert {s.tz for s in built.values()} == {"Asia/Kathmandu"}
    assert {s.tz for s in build_schedules().values()} == {"UTC"}


def test_overrides_change_cron_tz_enabled_and_catch_up():
    built = build_schedules({"daily-report": {"cron": "30 1 * * *", "tz": "Europe/Berlin", "enabled": False,
                                              "catch_up": False}}, default_tz="Asia/Kathmandu")
    report = built["daily-report"]
    assert (report.cron, report.tz, report.enabled, report.catch_up) == ("30 1 * * *", "Europe/Berlin", False, False)
    assert built["credit-reconciliation"].tz == "Asia/Kathmandu"
    assert SCHEDULES[0].cron == "15 0 * * *"  # the declarative table itself is untouched


@pytest.mark.parametrize("overrides, default_tz, message", [
    ({"daily-report": {"cron": "61 0 * * *"}}, "UTC", "bad cron"),
    ({"daily-report": {"cron": "15 0 * *"}}, "UTC", "bad cron"),
    ({"daily-report": {"cron": "0 15 0 * * *"}}, "UTC", "bad cron"),
    ({"daily-report": {"cron": "every day"}}, "UTC", "bad cron"),
    ({"daily-report": {"tz": "Mars/Olympus_Mons"}}, "UTC", "unknown time zone"),
    ({}, "Nowhere/Special", "unknown time zone"),
    ({"daily-report": {"enabled": "yes"}}, "UTC", "enabled must be"),
    ({"daily-report": {"queue": "whatsapp"}}, "UTC", "unknown setting"),
    ({"weekly-report": {"cron": "0 0 * * 1"}}, "UTC", "unknown schedule"),
])
def test_bad_configuration_is_a_config_error(overrides, default_tz, message):
    with pytest.raises(ConfigError, match=message):
        build_schedules(overrides, default_tz=default_tz)


def test_unknown_queue_or_bad_call_target_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown queue 'reports'"):
        build_schedules(base=[Schedule("weekly", "0 0 * * 1", "job", "reports", tz="UTC")])
    with pytest.raises(ConfigError, match="dotted path"):
        Schedule("weekly", "0 0 * * 1", "call", "sweep", tz="UTC")
    with pytest.raises(ConfigError, match="unknown queue"):
        build_schedules(base=[Schedule("weekly", "0 0 * * 1", "job", "nope")])


def test_engine_with_an_unknown_scheduler_tz_fails_to_build_schedules(engine_factory):
    with pytest.raises(ConfigError, match="unknown time zone"):
        schedules_for(engine_factory(scheduler_tz="Not/AZone"))


# -- tick arithmetic ----------------------------------------------------------------------
def test_daily_report_in_kathmandu_ticks_at_1830_utc_and_reports_the_previous_local_day():
    report = build_schedules(default_tz="Asia/Kathmandu")["daily-report"]
    nxt = report.next_tick(datetime(2030, 6, 1, 12, 0, tzinfo=UTC))
    assert nxt == datetime(2030, 6, 1, 18, 30, tzinfo=UTC)
    assert nxt.astimezone(report.zone).isoformat() == "2030-06-02T00:15:00+05:45"
    assert report.data_for(nxt) == {"report_date": "2030-06-01"}  # local day before; UTC date - 1 would be 05-31
    assert report.prev_tick(nxt) == nxt  # a tick is its own latest tick
    assert report.prev_tick(nxt - timedelta(seconds=1)) == datetime(2030, 5, 31, 18, 30, tzinfo=UTC)
    assert report.next_tick(nxt) == nxt + timedelta(days=1)


def test_naive_now_is_refused():
    with pytest.raises(ValueError):
        build_schedules()["daily-report"].next_tick(datetime(2030, 6, 1))


def _utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize("tz, cron, around, change_day_tick", [
    # spring forward: 02:30 does not exist; it runs when the clock jumps, at 03:00 new time
    ("Europe/Berlin", "30 2 * * *", _utc(2024, 3, 31), "2024-03-31T03:00:00+02:00"),
    ("Europe/Berlin", "0 3 * * *", _utc(2024, 3, 31), "2024-03-31T03:00:00+02:00"),
    ("America/New_York", "30 2 * * *", _utc(2024, 3, 10, 12), "2024-03-10T03:00:00-04:00"),
    # fall back: 02:30 (Berlin) / 01:30 (New York) happen twice; it runs at the first one only
    ("Europe/Berlin", "30 2 * * *", _utc(2024, 10, 27), "2024-10-27T02:30:00+02:00"),
    ("Europe/Berlin", "0 3 * * *", _utc(2024, 10, 27), "2024-10-27T03:00:00+01:00"),
    ("America/New_York", "30 1 * * *", _utc(2024, 11, 3, 12), "2024-11-03T01:30:00-04:00"),
])
def test_fixed_time_runs_exactly_once_per_local_day_across_dst(tz, cron, around, change_day_tick):
    schedule = job_schedule("dst", cron, tz=tz)
    moment, ticks = around - timedelta(days=4), []
    while moment < around + timedelta(days=4):
        moment = schedule.next_tick(moment)
        ticks.append(moment.astimezone(schedule.zone))
    days = Counter(t.date() for t in ticks)
    assert len(days) >= 7 and set(days.values()) == {1}, days
    assert all(b - a >= timedelta(hours=23) for a, b in zip(ticks, ticks[1:]))
    assert change_day_tick in [t.isoformat() for t in ticks]


# Independent reference: step through every UTC minute and apply the documented rules.
def reference_ticks(cron: str, tz: str, start: datetime, end: datetime) -> list[datetime]:
    zone = ZoneInfo(tz)
    follows_clock = any(f.startswith("*") for f in cron.split()[:2])
    out, prev_wall, t = [], None, start
    while t <= end:
        wall = t.astimezone(zone).replace(tzinfo=None)
        matches = croniter.match(cron, wall)
        if follows_clock:
            fire = matches
        else:
            first_time = wall.replace(tzinfo=zone, fold=0).astimezone(UTC) == t
            skipped = []
            if prev_wall is not None and wall - prev_wall > MINUTE:  # the clock jumped forward
                skipped = [prev_wall + MINUTE * k for k in range(1, (wall - prev_wall) // MINUTE)]
            fire = (matches and first_time) or any(croniter.match(cron, w) for w in skipped)
        if fire:
            out.append(t)
        prev_wall, t = wall, t + MINUTE
    return out


CLOCK_CHANGES = [
    ("Europe/Berlin", _utc(2024, 3, 31, 1)), ("Europe/Berlin", _utc(2024, 10, 27, 1)),
    ("America/New_York", _utc(2024, 3, 10, 7)), ("America/New_York", _utc(2024, 11, 3, 6)),
    ("Australia/Lord_Howe", _utc(2024, 4, 6, 15)), ("Australia/Lord_Howe", _utc(2024, 10, 5, 15, 30)),  # 30 min
]


@pytest.mark.parametrize("tz, change", CLOCK_CHANGES, ids=[f"{tz}-{c:%m}" for tz, c in CLOCK_CHANGES])
def test_next_and_prev_tick_match_the_reference_around_clock_changes(tz, change):
    zone = ZoneInfo(tz)
    assert (change - MINUTE).astimezone(zone).utcoffset() != change.astimezone(zone).utcoffset()
    start, end = change - timedelta(hours=4), change + timedelta(hours=4)
    for cron in ("30 2 * * *", "0 3 * * *", "0,30 2 * * *", "45 1 * * *", "15 0 * * *", "*/15 * * * *",
                 "0 */2 * * *", "* 2 * * *"):
        schedule = job_schedule("ref", cron, tz=tz)
        expected = reference_ticks(cron, tz, start, end)
        got, moment = [], start - MINUTE
        while (moment := schedule.next_tick(moment)) <= end:
            got.append(moment)
        assert got == expected, cron
        for at in (start + timedelta(minutes=m) for m in range(7, 480, 17)):  # off-grid probes
            before = [t for t in expected if t <= at]
            after = [t for t in expected if t > at]
            if before:
                assert schedule.prev_tick(at) == before[-1], (cron, at)
            if after:
                assert schedule.next_tick(at) == after[0], (cron, at)


def test_ticks_are_the_same_whatever_zone_now_is_given_in():
    schedule = job_schedule("z", "30 2 * * *", tz="Europe/Berlin")
    now = _utc(2024, 10, 27, 0, 45)  # inside the repeated hour, after its first 02:30
    assert schedule.next_tick(now) == schedule.next_tick(now.astimezone(ZoneInfo("Asia/Tokyo")))
    assert schedule.next_tick(now).astimezone(schedule.zone).isoformat() == "2024-10-28T02:30:00+01:00"


# -- enqueueing ahead and exactly once ------------------------------------------------------
def test_a_tick_is_enqueued_ahead_as_a_job_due_exactly_at_the_tick(engine):
    schedules = build_schedules()
    actions = tick(engine, schedules, BASE)
    planned = by_what(actions, "planned")
    assert {a.schedule for a in planned} == {"daily-report", "credit-reconciliation"}
    report_tick = _utc(2031, 3, 5, 0, 15)
    report = next(a for a in planned if a.schedule == "daily-report")
    assert (report.tick_s, report.job_id) == (ts(report_tick), f"sched-daily-report-{ts(report_tick)}")
    fields = job_fields(engine, report.job_id)
    assert fields["status"] == "scheduled"
    assert int(fields["jq_due_ms"]) == ts(report_tick) * 1000
    assert engine.conn.zscore(keys.scheduled("dailyReports"), report.job_id) == ts(report_tick)
    assert job_data(engine, report.job_id) == {"report_date": "2031-03-04"}
    credit = next(a for a in planned if a.schedule == "credit-reconciliation")
    assert int(job_fields(engine, credit.job_id)["jq_due_ms"]) == ts(_utc(2031, 3, 5, 2)) * 1000
    state = engine.conn.hgetall(keys.schedule("daily-report"))
    assert state[b"next_tick_s"] == str(ts(report_tick)).encode() and state[b"enabled"] == b"1"
    assert engine.conn.ttl(keys.schedule_tick("daily-report", ts(report_tick))) > 3 * 86400
    # the next passes do not enqueue it again
    assert by_what(tick(engine, schedules, BASE + timedelta(seconds=1)), "planned") == []
    assert engine.conn.zcard(keys.scheduled("dailyReports")) == 1


def test_every_tick_within_the_look_ahead_is_enqueued(engine):
    schedules = table(job_schedule())
    actions = tick(engine, schedules, BASE + timedelta(seconds=30))
    assert [a.tick_s for a in actions] == [ts(BASE + MINUTE)]  # 60 s ahead covers one more minute only
    actions = tick(engine, schedules, BASE + timedelta(seconds=61))
    assert [a.tick_s for a in actions] == [ts(BASE + 2 * MINUTE)]
    actions = tick(engine, schedules, BASE + timedelta(seconds=121))
    assert [(a.what, a.tick_s) for a in actions] == [("planned", ts(BASE + 3 * MINUTE))]


def test_two_schedulers_with_the_same_now_enqueue_each_tick_once(engine, engine_factory):
    schedules = build_schedules()
    first = tick(engine, schedules, BASE)
    second = tick(engine_factory(), schedules, BASE)
    assert len(by_what(first, "planned")) == 2 and by_what(second, "planned") == []
    third = tick(engine_factory(), schedules, _utc(2031, 3, 5, 0, 14, 59))  # later clock, same ticks
    assert by_what(third, "planned") == []
    assert engine.conn.zcard(keys.scheduled("dailyReports")) == 1
    assert engine.conn.zcard(keys.scheduled("creditReconciliation")) == 1


def test_concurrent_schedulers_in_threads_act_on_every_tick_exactly_once(engine, engine_factory):
    schedules = table(job_schedule(), call_schedule())
    engines = [engine, engine_factory(), engine_factory()]
    barrier = threading.Barrier(len(engines))
    nows = [BASE + timedelta(seconds=7 * i) for i in range(40)]  # ~4.5 minutes of passes
    actions, errors = [], []
    lock = threading.Lock()

    def scheduler(index: int) -> None:
        try:
            for now in nows:
                barrier.wait(timeout=10)
                done = tick(engines[index], schedules, now + timedelta(milliseconds=100 * index))  # skewed clocks
                with lock:
                    actions.extend(done)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=scheduler, args=(i,), name=f"sched-{i}") for i in range(len(engines))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors
    planned = Counter(a.tick_s for a in actions if a.what == "planned")
    minutes = [ts(BASE + MINUTE * k) for k in range(1, 6)]  # every minute up to the last now + 60 s
    assert sorted(planned) == minutes and set(planned.values()) == {1}
    assert sorted(int(m.decode().rsplit("-", 1)[1])
                  for m in engine.conn.zrange(keys.scheduled("creditReconciliation"), 0, -1)) == minutes
    called = Counter(ts(now) for _thread, now in CALLS)
    assert sorted(called) == [ts(BASE + MINUTE * k) for k in range(1, 5)] and set(called.values()) == {1}
    assert not by_what(actions, "missed") and not by_what(actions, "caught_up")


def test_scheduler_across_the_fall_back_night_enqueues_one_job_per_day(engine):
    schedules = table(job_schedule("night", "30 2 * * *", tz="Europe/Berlin"))
    now, planned = _utc(2024, 10, 25, 12), []
    while now < _utc(2024, 10, 29, 12):
        planned += by_what(tick(engine, schedules, now), "planned")
        now += timedelta(minutes=10)
    local = [datetime.fromtimestamp(a.tick_s, ZoneInfo("Europe/Berlin")).isoformat() for a in planned]
    assert local == ["2024-10-26T02:30:00+02:00", "2024-10-27T02:30:00+02:00", "2024-10-28T02:30:00+01:00",
                     "2024-10-29T02:30:00+01:00", "2024-10-30T02:30:00+01:00"]


# -- downtime -------------------------------------------------------------------------------
def test_first_start_catches_nothing_up(engine):
    actions = tick(engine, build_schedules(), _utc(2031, 3, 4, 0, 16))  # a minute after the 00:15 tick
    assert by_what(actions, "caught_up") == [] and by_what(actions, "missed") == []
    assert engine.conn.llen(keys.waiting("dailyReports", "normal")) == 0


@pytest.mark.parametrize("catch_up", [True, False])
def test_after_downtime_only_the_most_recent_missed_tick_runs_once(engine, catch_up):
    schedules = build_schedules({"daily-report": {"catch_up": catch_up}})
    tick(engine, schedules, BASE)  # plans 2031-03-05 00:15, then the scheduler is down for weeks
    back = _utc(2031, 3, 30, 9)
    actions = tick(engine, schedules, back) + tick(engine, schedules, back + timedelta(seconds=1))
    report = [a for a in actions if a.schedule == "daily-report"]
    missed_tick = ts(_utc(2031, 3, 30, 0, 15))
    waiting = engine.conn.lrange(keys.waiting("dailyReports", "normal"), 0, -1)
    if catch_up:
        assert [(a.what, a.tick_s) for a in report] == [("caught_up", missed_tick), ("planned", missed_tick + 86400)]
        job_id = f"sched-daily-report-{missed_tick}"
        assert waiting == [job_id.encode()] and job_fields(engine, job_id)["status"] == "queued"
        assert job_data(engine, job_id) == {"report_date": "2031-03-29"}
        assert engine.conn.hget(keys.schedule("daily-report"), "last_job_id") == job_id.encode()
    else:
        assert [(a.what, a.tick_s) for a in report] == [("missed", missed_tick), ("planned", missed_tick + 86400)]
        assert waiting == []
    credit = [a.what for a in actions if a.schedule == "credit-reconciliation"]
    assert credit == ["caught_up", "planned"]  # its own catch_up is still on
    # the tick planned before the downtime was already enqueued; nothing in between was
    assert engine.conn.zcard(keys.scheduled("dailyReports")) == 2


def test_two_schedulers_coming_back_catch_up_once(engine, engine_factory):
    schedules = table(job_schedule("hourly", "0 * * * *", catch_up=True))
    tick(engine, schedules, BASE)
    back = BASE + timedelta(days=2, minutes=20)
    actions = tick(engine, schedules, back) + tick(engine_factory(), schedules, back)
    assert [a.what for a in actions] == ["caught_up", "planned"]


# -- calls ------------------------------------------------------------------------------------
def test_call_runs_when_due_with_the_tick_as_now(engine):
    schedules = table(call_schedule())
    assert tick(engine, schedules, BASE + timedelta(seconds=20)) == []  # first start
    assert tick(engine, schedules, BASE + timedelta(seconds=59)) == []
    actions = tick(engine, schedules, BASE + timedelta(seconds=60.3))
    assert [(a.what, a.tick_s) for a in actions] == [("called", ts(BASE + MINUTE))]
    assert CALLS[0][1] == BASE + MINUTE and CALLS[0][1].tzinfo is not None
    assert tick(engine, schedules, BASE + timedelta(seconds=60.8)) == []
    assert len(CALLS) == 1
    state = engine.conn.hgetall(keys.schedule("sweep"))
    assert int(state[b"last_tick_s"]) == ts(BASE + MINUTE)
    assert int(state[b"last_run_ms"]) == ts(BASE + MINUTE) * 1000 + 300


@pytest.mark.parametrize("catch_up, expected", [(False, "missed"), (True, "called")])
def test_call_noticed_late_runs_only_with_catch_up(engine, catch_up, expected):
    schedules = table(call_schedule(catch_up=catch_up))
    tick(engine, schedules, BASE + timedelta(seconds=20))
    late = BASE + timedelta(minutes=30, seconds=40)  # down for half an hour
    actions = tick(engine, schedules, late)
    assert [(a.what, a.tick_s) for a in actions] == [(expected, ts(BASE + 30 * MINUTE))]
    assert len(CALLS) == (1 if catch_up else 0)
    assert tick(engine, schedules, late + timedelta(seconds=1)) == []
    assert [a.what for a in tick(engine, schedules, BASE + 31 * MINUTE)] == ["called"]  # back on time


def test_a_missing_or_failing_call_is_logged_and_the_pass_goes_on(engine, caplog):
    schedules = table(call_schedule("gone", "no_such_function"), call_schedule("boom", "failing_call"),
                      call_schedule("good"))
    tick(engine, schedules, BASE + timedelta(seconds=5))
    actions = tick(engine, schedules, BASE + MINUTE)
    assert [(a.schedule, a.what) for a in actions] == [("gone", "call_failed"), ("boom", "call_failed"),
                                                       ("good", "called")]
    assert "cannot import" in caplog.text and "boom" in caplog.text
    assert tick(engine, schedules, BASE + MINUTE + timedelta(seconds=1)) == []  # a failed tick is not retried


# -- pause, resume, run now, listing -------------------------------------------------------------
def test_pause_removes_the_enqueued_tick_and_resume_restores_it(engine):
    schedules = build_schedules()
    tick(engine, schedules, BASE)
    report_tick = ts(_utc(2031, 3, 5, 0, 15))
    job_id = f"sched-daily-report-{report_tick}"
    assert job_fields(engine, job_id)["status"] == "scheduled"

    assert pause_schedule(engine, "daily-report", now=BASE, schedules=schedules) is True
    assert pause_schedule(engine, "daily-report", now=BASE, schedules=schedules) is False
    assert engine.conn.exists(keys.job(job_id)) == 0
    assert engine.conn.zcard(keys.scheduled("dailyReports")) == 0
    assert engine.conn.exists(keys.schedule_tick("daily-report", report_tick)) == 0
    assert engine.conn.zcard(keys.scheduled("creditReconciliation")) == 1  # other schedules untouched
    assert [a for a in tick(engine, schedules, BASE + MINUTE) if a.schedule == "daily-report"] == []
    row = next(r for r in list_schedules(engine, BASE, schedules=schedules) if r["name"] == "daily-report")
    assert (row["enabled"], row["paused"], row["next_run"]) == (False, True, None)

    assert resume_schedule(engine, "daily-report", schedules=schedules) is True
    assert resume_schedule(engine, "daily-report", schedules=schedules) is False
    actions = tick(engine, schedules, BASE + 2 * MINUTE)
    assert [(a.what, a.job_id) for a in actions if a.schedule == "daily-report"] == [("planned", job_id)]
    fields = job_fields(engine, job_id)
    assert fields["status"] == "scheduled" and int(fields["jq_due_ms"]) == report_tick * 1000


def test_ticks_passing_while_paused_are_not_caught_up_after_resume(engine):
    schedules = build_schedules()
    tick(engine, schedules, BASE)
    pause_schedule(engine, "daily-report", now=BASE, schedules=schedules)
    later = BASE + timedelta(days=3)
    assert [a for a in tick(engine, schedules, later) if a.schedule == "daily-report"] == []
    resume_schedule(engine, "daily-report", schedules=schedules)
    actions = [a for a in tick(engine, schedules, later) if a.schedule == "daily-report"]
    assert [(a.what, a.tick_s) for a in actions] == [("planned", ts(_utc(2031, 3, 8, 0, 15)))]
    assert engine.conn.llen(keys.waiting("dailyReports", "normal")) == 0


def test_a_paused_call_schedule_is_not_called(engine):
    schedules = table(call_schedule())
    tick(engine, schedules, BASE + timedelta(seconds=5))
    pause_schedule(engine, "sweep", now=BASE, schedules=schedules)
    assert tick(engine, schedules, BASE + MINUTE) == [] and CALLS == []
    resume_schedule(engine, "sweep", schedules=schedules)
    assert tick(engine, schedules, BASE + MINUTE) == []  # restarts from the next tick
    assert [a.what for a in tick(engine, schedules, BASE + 2 * MINUTE)] == ["called"]


def test_run_now_enqueues_one_job_immediately(engine):
    schedules = build_schedules(default_tz="Asia/Kathmandu")
    now = _utc(2031, 3, 4, 20, 0)  # 01:45 on the 5th in Kathmandu
    job_id = run_now(engine, "daily-report", now, schedules=schedules)
    assert job_id == f"sched-daily-report-now-{ts(now) * 1000}"
    assert engine.conn.lrange(keys.waiting("dailyReports", "normal"), 0, -1) == [job_id.encode()]
    assert job_fields(engine, job_id)["status"] == "queued"
    assert job_data(engine, job_id) == {"report_date": "2031-03-04"}
    row = next(r for r in list_schedules(engine, now, schedules=schedules) if r["name"] == "daily-report")
    assert row["last_job_id"] == job_id
    assert row["last_run"] == "2031-03-05T01:45:00+05:45"


def test_run_now_of_a_call_calls_it_and_returns_none(engine):
    schedules = table(call_schedule())
    assert run_now(engine, "sweep", BASE, schedules=schedules) is None
    assert [now for _t, now in CALLS] == [BASE]


@pytest.mark.parametrize("operation", [pause_schedule, resume_schedule, run_now])
def test_unknown_schedule_is_not_found(engine, operation):
    with pytest.raises(NotFoundError):
        operation(engine, "no-such-schedule")


def test_resume_of_a_schedule_disabled_in_configuration_is_a_conflict(engine):
    schedules = build_schedules({"daily-report": {"enabled": False}})
    pause_schedule(engine, "daily-report", now=BASE, schedules=schedules)
    with pytest.raises(ConflictError):
        resume_schedule(engine, "daily-report", schedules=schedules)
    assert [a for a in tick(engine, schedules, BASE) if a.schedule == "daily-report"] == []


def test_list_schedules_shows_configuration_and_state(engine):
    schedules = build_schedules(default_tz="Asia/Kathmandu")
    tick(engine, schedules, BASE)
    rows = {r["name"]: r for r in list_schedules(engine, BASE, schedules=schedules)}
    assert rows["daily-report"] == {
        "name": "daily-report", "kind": "job", "target": "dailyReports", "cron": "15 0 * * *",
        "tz": "Asia/Kathmandu", "enabled": True, "paused": False, "catch_up": True,
        "next_run": "2031-03-05T00:15:00+05:45", "last_run": None, "last_job_id": None,
    }
    assert rows["order-expiry-sweep"]["kind"] == "call"
    assert rows["order-expiry-sweep"]["target"] == "processors.order_expiry.sweep"
    after = _utc(2031, 3, 4, 18, 31)  # the tick came due
    tick(engine, schedules, after)
    row = next(r for r in list_schedules(engine, after, schedules=schedules) if r["name"] == "daily-report")
    assert row["last_run"] == "2031-03-05T00:15:00+05:45"
    assert row["last_job_id"] == f"sched-daily-report-{ts(_utc(2031, 3, 4, 18, 30))}"
    assert row["next_run"] == "2031-03-06T00:15:00+05:45"


# -- the loop -----------------------------------------------------------------------------------
def test_main_once_plans_the_default_schedules(engine):
    assert main(engine, once=True) == 0
    planned = int(engine.conn.hget(keys.schedule("daily-report"), "next_tick_s"))
    assert planned > time.time()
    fields = job_fields(engine, f"sched-daily-report-{planned}")
    assert fields["status"] == "scheduled" and int(fields["jq_due_ms"]) == planned * 1000
    assert engine.conn.hget(keys.schedule("order-expiry-sweep"), "next_tick_s") is not None


def test_main_exits_cleanly_after_sigterm(engine):
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGTERM))
    previous = signal.getsignal(signal.SIGTERM)
    started = time.monotonic()
    timer.start()
    try:
        assert main(engine) == 0
    finally:
        timer.cancel()
    assert time.monotonic() - started < 2.0
    assert signal.getsignal(signal.SIGTERM) is previous
    assert engine.conn.hget(keys.schedule("daily-report"), "next_tick_s") is not None


def test_once_reports_an_unreachable_server(engine):
    conn = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    dead = Engine(engine.settings, conn, engine.table)
    assert Scheduler(dead, build_schedules()).run(once=True) == 1


def test_loop_survives_connection_errors_and_reaps_on_its_interval(engine, monkeypatch):
    passes, reaps = [], []
    real_tick = scheduler_mod.tick

    def flaky_tick(eng, schedules, now):
        passes.append(now)
        if len(passes) == 1:
            raise redis.ConnectionError("server gone")
        if len(passes) == 3:
            loop.stop()
        return real_tick(eng, schedules, now)

    monkeypatch.setattr(scheduler_mod, "tick", flaky_tick)
    monkeypatch.setattr(scheduler_mod, "maintain", lambda eng, hooks, name, oom=None: reaps.append(name) or 0)
    loop = Scheduler(engine, build_schedules(), interval_s=0.01, retry_s=0.01, clock=lambda: BASE)
    assert loop.run() == 0
    assert len(passes) == 3 and loop.passes == 2
    assert reaps == ["scheduler"]  # reap_interval_ms is 200 in tests: once in this short run
    time.sleep(0.25)
    loop.run_pass()
    assert reaps == ["scheduler", "scheduler"]
    assert engine.conn.zcard(keys.scheduled("dailyReports")) == 1
