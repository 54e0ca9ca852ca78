"""The WhatsApp webhook's work, for the API's /webhooks/whatsapp route: Meta's subscription check, the
signature check, and recording statuses and inbound messages in one short domain transaction.

A `failed` status after acceptance also marks the message resendable and dead-letters its finished job
through the engine (engine.failures.fail_after_completion), so it counts in the failure groups and
support's retry sends it again."""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from engine.app import Engine
from engine.failures import fail_after_completion

from domain import delivery, outbox
from domain.clock import utcnow
from domain.db import session_scope
from domain.settings import DomainSettings, resolve_settings

QUEUE = "whatsapp"


class BadPayload(ValueError):
    """The body is signed but is not a WhatsApp webhook we can read."""


@dataclass(frozen=True)
class Recorded:
    """What one webhook call recorded."""

    statuses: int
    changed: int
    inbound: int
    failed_jobs: list[str]


def verify(settings: DomainSettings | None, mode: str | None, token: str | None, challenge: str | None) -> str | None:
    """Meta's subscription check: the challenge to echo, or None (refuse) when mode or token is wrong."""
    expected = resolve_settings(settings).whatsapp_verify_token
    if mode != "subscribe" or not expected or token is None or challenge is None:
        return None
    return challenge if hmac.compare_digest(token.encode(), expected.encode()) else None


def signature_ok(settings: DomainSettings | None, raw: bytes, header: str) -> bool:
    """Whether X-Hub-Signature-256 is "sha256=" + HMAC-SHA256(raw body, WHATSAPP_APP_SECRET), compared in
    constant time; always False when no secret is configured."""
    secret = resolve_settings(settings).whatsapp_app_secret
    if not secret:
        return False
    expected = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(header.strip().encode(), expected.encode())


def _at(value: Any) -> datetime:
    try:
        return datetime.fromtimestamp(int(value), tz=timezone.utc)
    except (TypeError, ValueError, OverflowError):
        return utcnow()


def _error(status: dict[str, Any]) -> tuple[str | None, str | None]:
    errors = status.get("errors") or []
    if not errors or not isinstance(errors[0], dict):
        return None, None
    err = errors[0]
    details = (err.get("error_data") or {}).get("details") if isinstance(err.get("error_data"), dict) else None
    text = " ".join(str(p) for p in (err.get("title") or err.get("message"), details and f"({details})") if p)
    return (str(err["code"]) if err.get("code") is not None else None), text or None


def parse(payload: Any) -> tuple[list[delivery.StatusUpdate], list[tuple[str, datetime, str | None]]]:
    """The statuses and inbound messages (phone, time, id) of Meta's webhook payload."""
    if not isinstance(payload, dict) or payload.get("object") != "whatsapp_business_account":
        raise BadPayload("not a whatsapp_business_account webhook")
    updates, inbound = [], []
    for entry in payload.get("entry") or []:
        for change in (entry or {}).get("changes") or []:
            value = (change or {}).get("value") or {}
            for s in value.get("statuses") or []:
                if s.get("status") not in delivery.TIME_FIELD or not s.get("id"):
                    continue  # a status we do not track (e.g. "deleted")
                code, text = _error(s) if s["status"] == "failed" else (None, None)
                recipient = f"+{s['recipient_id']}" if s.get("recipient_id") else None
                updates.append(delivery.StatusUpdate(str(s["id"]), s["status"], _at(s.get("timestamp")),
                                                     recipient, code, text))
            for m in value.get("messages") or []:
                if m.get("from"):
                    inbound.append((f"+{m['from']}", _at(m.get("timestamp")), m.get("id")))
    return updates, inbound


def record(payload: Any, eng: Engine, settings: DomainSettings | None = None) -> Recorded:
    """Record a verified webhook: statuses on their messages and inbound times, in one transaction; then the
    engine step for each message that newly failed after acceptance."""
    settings = resolve_settings(settings)
    updates, inbound = parse(payload)
    changed, failed = 0, []
    with session_scope(settings.database_url) as session:
        for update in updates:
            applied = delivery.apply_status(session, update)
            changed += applied.changed
            if applied.newly_failed and applied.message_key:
                outbox.mark_failed_after_acceptance(session, applied.message_key, code=applied.error_code,
                                                    error=applied.error or "failed after acceptance", now=utcnow())
                failed.append((applied.message_key, applied.error_code, applied.error))
        for phone, at, message_id in inbound:
            delivery.record_inbound(session, phone, at, message_id)
    failed_jobs = []
    for key, code, error in failed:
        if fail_after_completion(eng, QUEUE, key, "DeliveryFailed",
                                 f"WhatsApp reported the accepted message failed (code {code}): {error}"):
            failed_jobs.append(key)
    return Recorded(len(updates), changed, len(inbound), failed_jobs)
