"""Alert conditions -> alert events, deduplicated in the server, and the alert history.

Conditions (firing until they end, then one "resolved"): the Overview's per-queue conditions from
monitoring.conditions (dead-letter growth, SLA breach, no live worker while jobs wait), the server's
memory above its high-water mark, and a call schedule whose last tick raised. A condition fires once
(HSETNX on keys.ALERTS_FIRING) however many schedulers see it, and resolves once (HDEL).
Events (sent once): dead-lettered jobs, per queue, the first at once and then at most one batch per
alert_dead_letter_batch_s; a schedule tick that was missed (a job tick's claim and enqueue are one
step, engine/ticks.py, so a claimed tick always has its job).
Sending is engine/alert_delivery.py's job; nothing here talks to the network.
"""
from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Mapping

from . import keys, monitoring
from .clock import ms_to_iso, server_ms
from .app import Engine

QUEUE_CONDITIONS = ("dead_letter_growth", "sla_breach", "no_workers")
CONDITIONS = (*QUEUE_CONDITIONS, "memory_high")  # evaluated each check; schedule_failed follows the ticks
FIRST_IDS = 10  # job ids named in one dead-letter message
SEEN_TTL_S = 3 * 86400
ICON = {"firing": ":rotating_light:", "resolved": ":white_check_mark:"}


@dataclass
class Alert:
    """One message: a condition firing or resolved, or a one-off event (state "firing")."""

    kind: str
    state: str
    text: str
    time_ms: int
    queue: str | None = None
    schedule: str | None = None
    count: int = 0
    job_ids: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    id: str = ""

    def __post_init__(self) -> None:
        if not self.id:
            self.id = f"{self.time_ms:013d}-{secrets.token_hex(4)}"

    def payload(self) -> dict[str, Any]:
        """The webhook body: Slack's `text` plus the structured fields."""
        return {"text": f"{ICON.get(self.state, '')} [jobqueue] {self.text}".strip(), "kind": self.kind,
                "state": self.state, "queue": self.queue, "schedule": self.schedule, "count": self.count,
                "job_ids": self.job_ids, "time": ms_to_iso(self.time_ms), "details": self.details, "id": self.id}

    def to_json(self) -> str:
        return json.dumps(asdict(self), default=str)

    @classmethod
    def from_json(cls, raw: str | bytes) -> "Alert":
        return cls(**json.loads(raw))


# -- conditions ---------------------------------------------------------------------------------
def current_conditions(eng: Engine) -> dict[str, dict[str, Any]]:
    """{condition key: what it says} for every condition that holds now."""
    found: dict[str, dict[str, Any]] = {}
    for queue, qm in monitoring.get_all_metrics(engine=eng)["queues"].items():
        for c in qm["conditions"]:
            if c["kind"] == "no_workers":
                if not c["count"]:
                    continue  # nothing waits on it: shown on the Overview, not worth a message
                text = f"{queue}: no live workers while {c['count']} job(s) wait"
            else:
                text = f"{queue}: {c['message']}"
            found[f"{c['kind']}:{queue}"] = {"kind": c["kind"], "queue": queue, "count": c["count"], "text": text}
    mem = monitoring.memory(engine=eng)
    if mem["above_high_water"]:
        found["memory_high:server"] = {
            "kind": "memory_high", "queue": None, "count": mem["used_bytes"], "details": mem,
            "text": f"server memory {mem['used_bytes']:,} bytes is above its high-water mark "
                    f"({eng.settings.memory_high_water_ratio:.0%} of maxmemory {mem['max_bytes']:,})"}
    return found


def _fire(eng: Engine, key: str, info: Mapping[str, Any], now_ms: int) -> Alert | None:
    stored = {**info, "since_ms": now_ms}
    if not eng.conn.hsetnx(keys.ALERTS_FIRING, key, json.dumps(stored, default=str)):
        return None  # already firing: deduplicated
    return Alert(info["kind"], "firing", info["text"], now_ms, queue=info.get("queue"),
                 schedule=info.get("schedule"), count=int(info.get("count") or 0),
                 details=dict(info.get("details") or {}))


def _resolve(eng: Engine, key: str, raw: bytes | None, now_ms: int) -> Alert | None:
    if raw is None or not eng.conn.hdel(keys.ALERTS_FIRING, key):
        return None  # another scheduler resolved it
    info = json.loads(raw)
    lasted_s = max(0, now_ms - int(info.get("since_ms", now_ms))) // 1000
    return Alert(info["kind"], "resolved", f"resolved after {lasted_s} s: {info['text']}", now_ms,
                 queue=info.get("queue"), schedule=info.get("schedule"), details={"since": ms_to_iso(info["since_ms"])})


def condition_changes(eng: Engine, now_ms: int, current: Mapping[str, Mapping[str, Any]] | None = None) -> list[Alert]:
    """Fire the conditions that started and resolve the ones that ended since the last check."""
    current = current_conditions(eng) if current is None else current
    firing = {k.decode(): v for k, v in eng.conn.hgetall(keys.ALERTS_FIRING).items()}
    out = [a for key, info in current.items() if key not in firing and (a := _fire(eng, key, info, now_ms))]
    for key, raw in firing.items():
        if key.split(":", 1)[0] in CONDITIONS and key not in current:
            if resolved := _resolve(eng, key, raw, now_ms):
                out.append(resolved)
    return out


def firing(eng: Engine) -> list[dict[str, Any]]:
    """The conditions firing now, oldest first."""
    rows = [{"key": k.decode(), **json.loads(v)} for k, v in eng.conn.hgetall(keys.ALERTS_FIRING).items()]
    for row in rows:
        row["since"] = ms_to_iso(row["since_ms"])
    return sorted(rows, key=lambda r: r["since_ms"])


# -- dead-lettered jobs -------------------------------------------------------------------------
def dead_letter_batches(eng: Engine, now_ms: int, server_now_ms: int | None = None) -> list[Alert]:
    """Per queue, the jobs dead-lettered since the last message: at once when the queue's last message is
    older than alert_dead_letter_batch_s, otherwise they wait for the next batch. Cursors follow the
    server's clock (dead-letter times are the server's); `now_ms` decides the batching."""
    upper = (server_ms(eng.conn) if server_now_ms is None else server_now_ms) - 1  # later stamps: next pass
    batch_ms = int(eng.settings.alert_dead_letter_batch_s * 1000)
    state = {k.decode(): int(v) for k, v in eng.conn.hgetall(keys.ALERTS_STATE).items() if k.startswith(b"dlq_")}
    out = []
    for queue in eng.table.names:
        cursor = state.get(f"dlq_cursor:{queue}")
        if cursor is None:  # first look: report only the last batch window, not all of history
            cursor = upper - batch_ms
            eng.conn.hset(keys.ALERTS_STATE, f"dlq_cursor:{queue}", cursor)
        index = keys.dlq_queue(queue)
        count = eng.conn.zcount(index, f"({cursor}", upper)
        last = state.get(f"dlq_sent:{queue}")
        if not count or (last is not None and now_ms - last < batch_ms):
            continue
        ids = [i.decode() for i in eng.conn.zrangebyscore(index, f"({cursor}", upper, start=0, num=FIRST_IDS)]
        eng.conn.hset(keys.ALERTS_STATE, mapping={f"dlq_cursor:{queue}": upper, f"dlq_sent:{queue}": now_ms})
        shown = ", ".join(ids) + (", ..." if count > len(ids) else "")
        out.append(Alert("dead_lettered", "firing", f"{queue}: {count} job(s) dead-lettered ({shown})", now_ms,
                         queue=queue, count=count, job_ids=ids, details={"since": ms_to_iso(cursor + 1)}))
    return out


# -- schedules ----------------------------------------------------------------------------------
def _once(eng: Engine, event_key: str) -> bool:
    return bool(eng.conn.set(keys.alert_seen(event_key), 1, nx=True, ex=SEEN_TTL_S))


def _count(eng: Engine, what: str, schedule: str) -> None:
    eng.conn.hincrby(keys.ALERTS_STATE, f"ticks_{what}:{schedule}", 1)


def _missed(eng: Engine, name: str, tick: int, why: str, now_ms: int) -> Alert | None:
    if not _once(eng, f"missed:{name}:{tick}"):
        return None
    _count(eng, "missed", name)
    return Alert("schedule_missed", "firing", f"schedule {name}: tick {ms_to_iso(tick * 1000)} {why}", now_ms,
                 schedule=name, count=1, details={"tick": ms_to_iso(tick * 1000)})


def from_actions(eng: Engine, actions: Iterable[Any], now_ms: int) -> list[Alert]:
    """Alerts for what a scheduler pass did (engine/scheduler.py Action): a missed tick, a call that
    raised (fires schedule_failed until the next call succeeds), a pass that failed."""
    out: list[Alert] = []
    for action in actions:
        name, tick = action.schedule, action.tick_s
        if action.what == "missed":
            alert = _missed(eng, name, tick, "was missed (no scheduler ran at its time)", now_ms)
        elif action.what in ("call_failed", "error"):
            if action.what == "call_failed" or _once(eng, f"error:{name}:{now_ms // 3_600_000}"):
                _count(eng, "failed", name)
            why = "raised" if action.what == "call_failed" else "could not be planned (see the scheduler log)"
            alert = _fire(eng, f"schedule_failed:{name}", {"kind": "schedule_failed", "schedule": name, "count": 1,
                                                             "text": f"schedule {name}: its tick {why}"}, now_ms)
        elif action.what in ("called", "re-called", "planned", "caught_up"):
            alert = _resolve(eng, f"schedule_failed:{name}", eng.conn.hget(keys.ALERTS_FIRING,
                                                                           f"schedule_failed:{name}"), now_ms)
        else:
            alert = None
        if alert:
            out.append(alert)
    return out


def tick_counts(eng: Engine) -> dict[str, dict[str, int]]:
    """{"missed"|"failed": {schedule: ticks}} since the server's data began (Prometheus counters)."""
    out: dict[str, dict[str, int]] = {"missed": {}, "failed": {}}
    for k, v in eng.conn.hgetall(keys.ALERTS_STATE).items():
        name = k.decode()
        if name.startswith("ticks_"):
            what, _, schedule = name[len("ticks_"):].partition(":")
            out.setdefault(what, {})[schedule] = int(v)
    return out


# -- history ------------------------------------------------------------------------------------
def record(eng: Engine, alert: Alert, outcome: str, attempts: int) -> None:
    """Keep an alert and its delivery outcome; the history is trimmed by count and by age."""
    keep_ms = int(eng.settings.alert_history_days * 86_400_000)
    pipe = eng.conn.pipeline(transaction=False)
    pipe.xadd(keys.ALERTS_HISTORY, {"alert": alert.to_json(), "outcome": outcome, "attempts": attempts},
              maxlen=eng.settings.alert_history_max, approximate=False)
    pipe.xtrim(keys.ALERTS_HISTORY, minid=server_ms(eng.conn) - keep_ms, approximate=False)
    pipe.execute()


def history(eng: Engine, limit: int = 100) -> list[dict[str, Any]]:
    """Alerts kept, newest first: the payload fields plus outcome, attempts and recorded_at."""
    rows = []
    for entry_id, fields in eng.conn.xrevrange(keys.ALERTS_HISTORY, count=limit):
        f = {k.decode(): v.decode() for k, v in fields.items()}
        alert = Alert.from_json(f["alert"])
        recorded_ms = int(entry_id.decode().split("-")[0])
        rows.append({**alert.payload(), "outcome": f.get("outcome", ""), "attempts": int(f.get("attempts") or 0),
                     "recorded_at": ms_to_iso(recorded_ms)})
    return rows
