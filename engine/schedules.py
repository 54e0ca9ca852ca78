"""Recurring schedules' machinery: cron in an explicit time zone, state in the server. The table itself
is the application's (ENGINE_SCHEDULES, module:attribute of Schedule rows).

A schedule either enqueues a job on a queue ("job") or calls a function in the scheduler
process ("call"). Ticks are computed from the cron expression in the schedule's wall clock:

* a wall time that happens once maps to that instant;
* a wall time inside the spring-forward gap (e.g. 02:30 when clocks jump 02:00 -> 03:00) runs
  once, at the moment the clock jumps (03:00 new time), for fixed-time schedules;
* a wall time in the repeated fall-back hour runs once, at its first occurrence, for
  fixed-time schedules;
* schedules with `*` in the minute or hour field ("every 15 minutes", "every hour") follow the
  clock as it is: they run in both passes of a repeated hour and not in the skipped hour, so the
  interval between runs stays the same (the rule of Vixie cron).

croniter iterates naive wall times; the mapping to instants is ours, because croniter's own
time-zone handling runs a "30 2 * * *" schedule twice on the fall-back day.
"""
from __future__ import annotations

import dataclasses
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable, Literal, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from .app import Engine
from .errors import ConfigError, NotFoundError, ValidationError
from .loading import load_object
from .schemas import validate_data

log = logging.getLogger("engine.scheduler")

Kind = Literal["job", "call"]
UTC = timezone.utc
LOOKAHEAD_S = 60  # job ticks due within this many seconds are enqueued ahead (the next one always is)
_NEAR = timedelta(hours=3)  # clock changes larger than this are not handled specially
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")


# -- data for a tick's job -------------------------------------------------------------
def no_data(moment: datetime) -> dict[str, Any]:
    """Jobs that take no input."""
    return {}


# -- one schedule ------------------------------------------------------------------------
@dataclass(frozen=True)
class Schedule:
    name: str
    cron: str  # five fields: minute hour day-of-month month day-of-week
    kind: Kind
    target: str  # the queue of a job schedule, the dotted callable of a call schedule
    make_data: Callable[[datetime], dict[str, Any]] = no_data  # local tick -> job data
    tz: str | None = None  # None until build_schedules fills in the default
    enabled: bool = True
    catch_up: bool = False  # after downtime, run the most recent missed tick once

    def __post_init__(self) -> None:
        problems = []
        if not _NAME.match(self.name):
            problems.append("name must be lower-case letters, digits and dashes")
        if not isinstance(self.cron, str) or len(self.cron.split()) != 5 or not croniter.is_valid(self.cron):
            problems.append(f"bad cron expression {self.cron!r} (five fields expected)")
        if self.tz is not None:
            try:
                ZoneInfo(self.tz)
            except (ZoneInfoNotFoundError, ValueError, TypeError, OSError):
                problems.append(f"unknown time zone {self.tz!r}")
        if self.kind == "job":
            if not isinstance(self.target, str) or not self.target:
                problems.append("a job schedule's target must be a queue name")
        elif self.kind == "call":
            if not isinstance(self.target, str) or not _DOTTED.match(self.target):
                problems.append(f"call target must be a dotted path, not {self.target!r}")
        else:
            problems.append(f"kind must be job or call, not {self.kind!r}")
        for flag in ("enabled", "catch_up"):
            if not isinstance(getattr(self, flag), bool):
                problems.append(f"{flag} must be true or false")
        if problems:
            raise ConfigError(f"schedule {self.name}: " + "; ".join(problems))

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz or "UTC")

    @property
    def follows_clock(self) -> bool:
        """True for `*` in the minute or hour field: runs by the clock as it is (see module doc)."""
        fields = self.cron.split()
        return fields[0].startswith("*") or fields[1].startswith("*")

    # -- tick arithmetic ---------------------------------------------------------------
    def next_tick(self, after: datetime) -> datetime:
        """The first tick strictly after `after` (aware), in UTC (see _instants for why not local)."""
        after = as_aware(after).astimezone(UTC)
        wall = self._wall(after)
        near = _offset(self.zone, after) != _offset(self.zone, after + _NEAR)  # the clock changes soon
        it = croniter(self.cron, wall - _NEAR if near else wall)
        best = None
        while True:
            w = it.get_next(datetime)
            for instant in self._instants(w):
                if instant > after and (best is None or instant < best):
                    best = instant
            if best is not None and (not near or w > wall + 2 * _NEAR):
                return best

    def prev_tick(self, at: datetime) -> datetime | None:
        """The latest tick at or before `at` (aware), in UTC, or None when there is none within a year."""
        at = as_aware(at).astimezone(UTC)
        wall = self._wall(at)
        near = _offset(self.zone, at - _NEAR) != _offset(self.zone, at)  # the clock changed lately
        it = croniter(self.cron, wall + _NEAR if near else wall + timedelta(seconds=1))
        best = None
        while True:
            w = it.get_prev(datetime)
            for instant in self._instants(w):
                if instant <= at and (best is None or instant > best):
                    best = instant
            if best is not None and (not near or w < wall - 2 * _NEAR):
                return best
            if w < wall - timedelta(days=400):
                return None

    def upcoming(self, now: datetime, lookahead_s: float = LOOKAHEAD_S) -> list[datetime]:
        """The ticks to have enqueued at `now`: the next one, and any others within the look-ahead."""
        ticks = [self.next_tick(now)]
        horizon = as_aware(now) + timedelta(seconds=lookahead_s)
        while (following := self.next_tick(ticks[-1])) <= horizon:
            ticks.append(following)
        return ticks

    def data_for(self, moment: datetime) -> dict[str, Any]:
        """The job data for a tick (or a manual run) at `moment`; job_data() also validates it."""
        return self.make_data(as_aware(moment).astimezone(self.zone))

    def _wall(self, instant: datetime) -> datetime:
        return instant.astimezone(self.zone).replace(tzinfo=None)

    def _instants(self, wall: datetime) -> list[datetime]:
        """The UTC instants at which a matching wall time fires, by the rules in the module doc.

        Ticks stay in UTC: by PEP 495 a local time in a repeated hour never compares equal to a
        datetime in another zone, even at the same instant."""
        first = wall.replace(tzinfo=self.zone, fold=0).astimezone(UTC)
        second = wall.replace(tzinfo=self.zone, fold=1).astimezone(UTC)
        if first.astimezone(self.zone).replace(tzinfo=None) != wall:  # in the spring-forward gap
            return [] if self.follows_clock else [_clock_change(self.zone, second, first)]
        if first != second and self.follows_clock:  # repeated hour
            return [first, second]
        return [first]


def as_aware(moment: datetime) -> datetime:
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        raise ValidationError("now", "must be a timezone-aware datetime")
    return moment


def _offset(zone: ZoneInfo, instant: datetime) -> timedelta | None:
    return instant.astimezone(zone).utcoffset()


def _clock_change(zone: ZoneInfo, before: datetime, after: datetime) -> datetime:
    """The instant in (before, after] at which the zone's offset changes (to the second)."""
    lo, hi = int(before.timestamp()), int(after.timestamp())
    target = _offset(zone, after)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _offset(zone, datetime.fromtimestamp(mid, UTC)) == target:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, UTC)


# -- the table ---------------------------------------------------------------------------
OVERRIDABLE = ("cron", "tz", "enabled", "catch_up")


def build_schedules(overrides: Mapping[str, Mapping[str, Any]] | None = None, *, default_tz: str = "UTC",
                    base: Iterable[Schedule], queues: Iterable[str] | None = None) -> dict[str, Schedule]:
    """The schedule table `base` by name, with overrides ({name: {cron, tz, enabled, catch_up}}) applied.

    Raises ConfigError for an unknown schedule or setting, a bad cron or time zone, or a job
    schedule whose queue is not in `queues` (when given).
    """
    overrides = overrides or {}
    base = list(base)
    if any(not isinstance(s, Schedule) for s in base):
        raise ConfigError("schedule table rows must be Schedule")
    known = None if queues is None else set(queues)
    stray = [s for s in base if s.kind == "job" and known is not None and s.target not in known]
    if stray:
        raise ConfigError(f"schedule {stray[0].name}: unknown queue {stray[0].target!r}")
    table = {s.name: s for s in base}
    unknown = set(overrides) - set(table)
    if unknown:
        raise ConfigError(f"overrides for unknown schedule(s) {sorted(unknown)}")
    built = {}
    for name, schedule in table.items():
        changes = dict(overrides.get(name) or {})
        bad = set(changes) - set(OVERRIDABLE)
        if bad:
            raise ConfigError(f"schedule {name}: unknown setting(s) {sorted(bad)}; allowed: {', '.join(OVERRIDABLE)}")
        changes.setdefault("tz", schedule.tz or default_tz or "UTC")
        built[name] = dataclasses.replace(schedule, **changes)
    return built


def schedules_for(eng: Engine) -> dict[str, Schedule]:
    """ENGINE_SCHEDULES's table for this engine: SCHEDULER_TZ as the default zone, SCHEDULE_OVERRIDES applied."""
    base = load_object(eng.settings.engine_schedules, "ENGINE_SCHEDULES") if eng.settings.engine_schedules else ()
    return build_schedules(getattr(eng.settings, "schedule_overrides", None),
                           default_tz=eng.settings.scheduler_tz or "UTC", base=base, queues=eng.table.names)


def job_data(eng: Engine, schedule: Schedule, moment: datetime) -> dict[str, Any]:
    """A job schedule's data for `moment`, validated against its queue's schema."""
    return validate_data(eng, schedule.target, schedule.data_for(moment))


def get_schedule(schedules: Mapping[str, Schedule], name: str) -> Schedule:
    try:
        return schedules[name]
    except KeyError:
        raise NotFoundError(f"schedule {name!r} not found") from None


# -- server state ------------------------------------------------------------------------
