"""Reading the metrics history the workers write (engine/lua/prelude.lua add_metrics).

Per queue and bucket (minute, hour, day) a hash holds counters and two duration histograms
(`run:<bucket>`, `wait:<bucket>`). A read costs one HGETALL per bucket, whatever the job count.
"""
from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time as dtime, timedelta, timezone
from typing import Any, Iterable
from zoneinfo import ZoneInfo

from . import histogram, keys
from .app import Engine, resolve
from .bucket_cache import ClosedBuckets
from .clock import server_ms
from .errors import ValidationError

RESOLUTION_S = {"m": 60, "h": 3600, "d": 86400}
COUNTERS = ("started", "completed", "failed", "retried", "dead_lettered", "rate_limited", "back_pressure")
PERCENTILES = (50, 95, 99)


def resolution_for(window_s: float) -> str:
    """Minutes up to 48 hours, hours up to 90 days, days beyond."""
    if window_s <= 48 * 3600:
        return "m"
    if window_s <= 90 * 86400:
        return "h"
    return "d"


def _bucket_starts(resolution: str, start_s: int, end_s: int) -> list[int]:
    size = RESOLUTION_S[resolution]
    first = start_s - start_s % size
    return list(range(first, end_s + 1, size))


def _raw_buckets(eng: Engine, queue: str, resolution: str, starts: list[int]) -> list[dict[bytes, bytes]]:
    pipe = eng.conn.pipeline(transaction=False)
    for s in starts:
        pipe.hgetall(keys.metrics(resolution, queue, s))
    return pipe.execute()


class Summary:
    """Counters and histograms of one or more buckets, merged."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.run: Counter[int] = Counter()
        self.wait: Counter[int] = Counter()

    def add(self, raw: dict[bytes, bytes]) -> "Summary":
        for k, v in raw.items():
            name, n = k.decode(), int(v)
            if name.startswith("run:"):
                self.run[int(name[4:])] += n
            elif name.startswith("wait:"):
                self.wait[int(name[5:])] += n
            else:
                self.counts[name] += n
        return self

    def merge(self, other: "Summary") -> "Summary":
        self.counts.update(other.counts)
        self.run.update(other.run)
        self.wait.update(other.wait)
        return self

    def row(self) -> dict[str, Any]:
        out: dict[str, Any] = {c: self.counts.get(c, 0) for c in COUNTERS}
        for p in PERCENTILES:
            out[f"run_p{p}_ms"] = _round(histogram.percentile(self.run, p))
            out[f"wait_p{p}_ms"] = _round(histogram.percentile(self.wait, p))
        done = self.counts.get("completed", 0)
        out["run_avg_ms"] = round(self.counts.get("run_ms", 0) / done, 3) if done else None
        return out

    def share_waiting_under(self, limit_ms: float) -> float | None:
        """Fraction of starts whose wait was surely under limit_ms (bucket upper bound <= limit)."""
        total = sum(self.wait.values())
        if not total:
            return None
        within = sum(n for b, n in self.wait.items() if (histogram.BASE ** b if b > 0 else 1) <= limit_ms)
        return within / total


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def history(queue: str, *, start: datetime, end: datetime, resolution: str | None = None,
            engine: Engine | None = None) -> list[dict[str, Any]]:
    """One row per bucket between start and end: counters and run/wait percentiles."""
    eng = resolve(engine)
    eng.table[queue]
    if end < start:
        raise ValidationError("end", "must not be before start")
    resolution = resolution or resolution_for((end - start).total_seconds())
    if resolution not in RESOLUTION_S:
        raise ValidationError("resolution", "must be m, h or d")
    starts = _bucket_starts(resolution, int(start.timestamp()), int(end.timestamp()))
    if len(starts) > 20_000:
        raise ValidationError("start", "window too large for this resolution")
    merged = [Summary().add(raw) for raw in _raw_buckets(eng, queue, resolution, starts)]
    if resolution != "m" and starts:
        _add_unrolled_minutes(eng, queue, resolution, starts, merged, int(end.timestamp()))
    sla = eng.table[queue].sla
    rows = []
    for s, m in zip(starts, merged):
        row = {"time": datetime.fromtimestamp(s, timezone.utc), "queue": queue, **m.row()}
        if sla is not None:  # share of starts within the queue's SLA, per bucket
            row["sla_compliance"] = _round(m.share_waiting_under(sla.start_within_s * 1000))
        rows.append(row)
    return rows


def _add_unrolled_minutes(eng: Engine, queue: str, resolution: str, starts: list[int], merged: list[Summary],
                          end_s: int) -> None:
    """Hour and day buckets hold only minutes already rolled up; add the newer minutes as read
    (without writing), so history is current even when no worker has rolled up lately."""
    rolled = eng.conn.get(keys.metrics_rolled(queue))
    first = max(int(rolled) + 60 if rolled else end_s - 48 * 3600, starts[0])
    first -= first % 60
    minutes = list(range(first, end_s + 1, 60))
    size = RESOLUTION_S[resolution]
    index = {s: i for i, s in enumerate(starts)}
    for m, raw in zip(minutes, _raw_buckets(eng, queue, "m", minutes)):
        i = index.get(m - m % size)
        if raw and i is not None:
            merged[i].add(raw)


def recent(queues: Iterable[str], *, now_s: int, engine: Engine) -> dict[str, dict[str, Any]]:
    """Per queue: the last 60 minute buckets (a per-minute series and their merged Summary) and the
    last 25 hour buckets merged (the last day). Closed buckets come from the cache; the rest from one
    pipeline."""
    queues = list(queues)
    minutes = _bucket_starts("m", now_s - 59 * 60, now_s)
    hours = _bucket_starts("h", now_s - 24 * 3600, now_s)
    mget = engine.conn.mget_nonatomic if keys.cluster() else engine.conn.mget  # cluster: one GET per slot
    rolled = dict(zip(queues, mget([keys.metrics_rolled(q) for q in queues])))
    wanted: list[tuple[str, str, int]] = [(q, "m", s) for q in queues for s in minutes] + \
                                         [(q, "h", s) for q in queues for s in hours]
    closed_cache: ClosedBuckets = engine.closed_buckets
    found: dict[tuple[str, str, int], Summary] = {}
    missing = []
    for key in wanted:
        cached = closed_cache.get(key)
        if cached is None:
            missing.append(key)
        else:
            found[key] = cached
    pipe = engine.conn.pipeline(transaction=False)
    for q, res, s in missing:
        pipe.hgetall(keys.metrics(res, q, s))
    for key, raw in zip(missing, pipe.execute() if missing else []):
        summary = Summary().add(raw)
        found[key] = summary
        q, res, s = key
        closed = s + RESOLUTION_S[res] + ClosedBuckets.GRACE_S <= now_s
        if res == "h":
            closed = closed and rolled[q] is not None and int(rolled[q]) >= s + 3600 - 60
        if closed:
            closed_cache.put(key, summary)
    closed_cache.forget_before(min(minutes[0], hours[0]))
    out = {}
    for q in queues:
        hour, day, series = Summary(), Summary(), []
        for s in minutes:
            summary = found[(q, "m", s)]
            if summary.counts or summary.run or summary.wait:
                hour.merge(summary)
                series.append((s, summary.row()))
        for s in hours:
            day.merge(found[(q, "h", s)])
        out[q] = {"hour": hour, "day": day, "series": series}
    return out


def roll_up(*, engine: Engine | None = None, now_s: int | None = None, grace_s: int = 2) -> int:
    """Fold every closed minute bucket into its hour and day buckets, once (idempotent, safe to run
    from every worker at once). Returns the minutes folded. `now_s` defaults to the server's clock."""
    eng = resolve(engine)
    if now_s is None:
        now_s = server_ms(eng.conn) // 1000
    upto = now_s - grace_s
    first = (now_s - 48 * 3600) - (now_s - 48 * 3600) % 60
    folded = 0
    for q in eng.table.names:
        folded += eng.scripts.rollup(
            keys=[keys.metrics_rolled(q)],
            args=[keys.metrics_prefix("m", q), keys.metrics_prefix("h", q), keys.metrics_prefix("d", q), upto,
                  histogram.KEEP_HOURS_S, first, histogram.KEEP_DAYS_S])
    return folded


def day_totals(engine: Engine | None, day: date, tz: str | None = None) -> dict[str, dict[str, int]]:
    """Per queue, the jobs completed, failed runs and dead-letterings of one local day."""
    eng = resolve(engine)
    zone = ZoneInfo(tz or eng.settings.scheduler_tz)
    start = datetime.combine(day, dtime(0), zone)
    end = datetime.combine(day + timedelta(days=1), dtime(0), zone) - timedelta(seconds=1)
    age_s = (datetime.now(timezone.utc) - start).total_seconds()
    resolution = "m" if age_s < 47 * 3600 else "h"
    out = {}
    for q in eng.table.names:
        rows = history(q, start=start, end=end, resolution=resolution, engine=eng)
        out[q] = {"completed": sum(r["completed"] for r in rows), "failed": sum(r["failed"] for r in rows),
                  "dead_lettered": sum(r["dead_lettered"] for r in rows)}
    return out
