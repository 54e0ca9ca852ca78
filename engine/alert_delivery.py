"""Sending alerts to ALERT_WEBHOOK_URL: the scheduler's alert duty, run once per scheduler pass.

Alerts wait in the server (keys.ALERTS_PENDING) until delivered, so a failing webhook loses nothing
and a restart resumes. Each pass, the scheduler holding keys.ALERTS_LOCK evaluates the conditions
(engine/alerts.py) and POSTs the due alerts, one attempt each, within alert_budget_s; a failed attempt
waits alert_backoff_s, doubling, before the next pass tries again, up to alert_max_attempts. Only the
scheduler sends: workers never touch the network for alerts, so a hanging webhook cannot slow jobs.
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import httpx
from redis.exceptions import LockError

from . import alerts, keys
from .alerts import Alert
from .clock import ms_to_iso, server_ms
from .app import Engine

log = logging.getLogger("engine.alerts")

MAX_PENDING = 500  # beyond this the oldest waiting alerts are given up (and kept in the history as dropped)
MAX_BACKOFF_MS = 300_000
MIN_ATTEMPT_S = 0.05  # less budget than this left: the attempt waits for the next pass
PERMANENT = {400, 401, 403, 404, 405, 410, 413, 422}  # the webhook refuses the message itself: retrying cannot help


def backoff_ms(eng: Engine, attempts: int) -> int:
    """The wait after the n-th failed attempt: alert_backoff_s, doubling, at most five minutes."""
    return int(min(MAX_BACKOFF_MS, eng.settings.alert_backoff_s * 1000 * 2 ** (attempts - 1)))


def post(client: httpx.Client, url: str, payload: Mapping[str, Any], timeout_s: float) -> tuple[bool, bool, str]:
    """One POST: (delivered, worth retrying, what happened)."""
    try:
        response = client.post(url, json=payload, timeout=httpx.Timeout(timeout_s))
    except httpx.TimeoutException:
        return False, True, f"timed out after {timeout_s:.2f} s"
    except httpx.HTTPError as exc:  # the URL often holds a secret token: never repeat it
        return False, True, f"{type(exc).__name__}: {str(exc).replace(url, '<webhook>')}"
    if response.is_success:
        return True, False, f"HTTP {response.status_code}"
    return False, response.status_code not in PERMANENT, f"HTTP {response.status_code}"


def queue_alerts(eng: Engine, new: Iterable[Alert]) -> int:
    """Put alerts in line for delivery (or straight into the history when no webhook is set)."""
    new = list(new)
    if not new:
        return 0
    if not eng.settings.alert_webhook_url:
        for alert in new:
            alerts.record(eng, alert, "not sent: ALERT_WEBHOOK_URL is not set", 0)
        return len(new)
    eng.conn.hset(keys.ALERTS_PENDING, mapping={
        a.id: json.dumps({"alert": a.to_json(), "attempts": 0, "next_ms": 0}) for a in new})
    excess = eng.conn.hlen(keys.ALERTS_PENDING) - MAX_PENDING
    if excess > 0:
        oldest = sorted(k.decode() for k in eng.conn.hkeys(keys.ALERTS_PENDING))[:excess]
        for alert_id, raw in zip(oldest, eng.conn.hmget(keys.ALERTS_PENDING, oldest)):
            if raw and eng.conn.hdel(keys.ALERTS_PENDING, alert_id):
                alerts.record(eng, Alert.from_json(json.loads(raw)["alert"]), "dropped: too many waiting", 0)
    return len(new)


def pending(eng: Engine) -> list[dict[str, Any]]:
    """Alerts waiting for delivery, oldest first, with their attempts so far."""
    rows = []
    for alert_id, raw in sorted(eng.conn.hgetall(keys.ALERTS_PENDING).items()):
        entry = json.loads(raw)
        rows.append({**Alert.from_json(entry["alert"]).payload(), "attempts": entry["attempts"],
                     "next_attempt": ms_to_iso(entry["next_ms"]) if entry["next_ms"] else None})
    return rows


@dataclass
class DeliveryReport:
    delivered: int = 0
    failed: int = 0
    retrying: int = 0
    outcomes: list[str] = field(default_factory=list)


def deliver(eng: Engine, client: httpx.Client, now_ms: int, deadline: float) -> DeliveryReport:
    """Try each due alert once, oldest first, until `deadline` (time.monotonic)."""
    report = DeliveryReport()
    url, limit = eng.settings.alert_webhook_url, eng.settings.alert_max_attempts
    for alert_id, raw in sorted(eng.conn.hgetall(keys.ALERTS_PENDING).items()):
        entry = json.loads(raw)
        if entry["next_ms"] > now_ms:
            continue
        left = deadline - time.monotonic()
        if left < MIN_ATTEMPT_S:
            break
        alert = Alert.from_json(entry["alert"])
        ok, retry, what = post(client, url, alert.payload(), min(eng.settings.alert_timeout_s, left))
        entry["attempts"] += 1
        report.outcomes.append(what)
        if ok or not retry or entry["attempts"] >= limit:
            if eng.conn.hdel(keys.ALERTS_PENDING, alert_id):
                alerts.record(eng, alert, "delivered" if ok else f"failed: {what}", entry["attempts"])
            if ok:
                report.delivered += 1
            else:
                report.failed += 1
                log.warning("alert %s (%s) not delivered after %d attempt(s): %s", alert.id, alert.kind,
                            entry["attempts"], what)
        else:
            entry["next_ms"] = now_ms + backoff_ms(eng, entry["attempts"])
            eng.conn.hset(keys.ALERTS_PENDING, alert_id, json.dumps(entry))
            report.retrying += 1
    return report


class AlertDuty:
    """What the scheduler runs after each pass: alerts from the pass's actions; then, for the one
    scheduler holding the lock, the conditions, dead-letter batches and claim check, and delivery."""

    def __init__(self, eng: Engine, schedules: Mapping[str, Any], client: httpx.Client | None = None):
        self.eng = eng
        self.schedules = schedules
        self.client = client or httpx.Client(follow_redirects=False, headers={"User-Agent": "jobqueue-alerts"})
        self.last_report = DeliveryReport()

    def run(self, actions: Iterable[Any] = (), now_ms: int | None = None) -> list[Alert]:
        """One duty pass at `now_ms` (default: the server's clock). Returns the alerts it raised."""
        eng = self.eng
        started = time.monotonic()
        now_ms = server_ms(eng.conn) if now_ms is None else now_ms
        new = alerts.from_actions(eng, actions, now_ms)
        budget = eng.settings.alert_budget_s
        lock = eng.conn.lock(keys.ALERTS_LOCK, timeout=budget + eng.settings.alert_timeout_s + 5, blocking=False)
        if not lock.acquire(blocking=False):
            queue_alerts(eng, new)
            return new
        try:
            new += alerts.condition_changes(eng, now_ms)
            new += alerts.dead_letter_batches(eng, now_ms)
            queue_alerts(eng, new)
            if eng.settings.alert_webhook_url:
                self.last_report = deliver(eng, self.client, now_ms, started + budget)
        finally:
            try:
                lock.release()
            except LockError:  # expired meanwhile: another scheduler may hold it now
                pass
        return new

    def close(self) -> None:
        self.client.close()
