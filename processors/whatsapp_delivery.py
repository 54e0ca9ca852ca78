"""A whatsapp job's message delivery, for the job's details (API and dashboard): state and times.

The message is `accepted` from the provider's answer until its first status; only a `delivered` status (or
the sandbox, which delivers at once) makes it delivered; `failed` after acceptance keeps its error code."""
from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from domain import delivery, outbox
from domain.clock import as_utc
from domain.db import session_scope
from domain.models import MessageStatus
from domain.settings import DomainSettings, resolve_settings

QUEUE = "whatsapp"
log = logging.getLogger("processors.whatsapp_delivery")


def _iso(value: Any) -> str | None:
    return as_utc(value).isoformat() if value is not None else None


def job_delivery(queue: str, job_id: str, settings: DomainSettings | None = None) -> dict[str, Any] | None:
    """The delivery of the message job `job_id` sent, or None (another queue, not sent yet, store unreachable)."""
    if queue != QUEUE:
        return None
    settings = resolve_settings(settings)
    try:
        with session_scope(settings.database_url, readonly=True) as session:
            msg = outbox.find(session, job_id)
            row = delivery.for_message(session, job_id)
            if msg is None and row is None:
                return None
            out: dict[str, Any] = {"state": None, "wamid": None, "provider": msg.provider if msg else None,
                                   "accepted_at": None, "sent_at": None, "delivered_at": None, "read_at": None,
                                   "failed_at": None, "error_code": msg.error_code if msg else None,
                                   "error": msg.error if msg else None}
            if row is not None:
                out.update(state=row.state, wamid=row.wamid, accepted_at=_iso(row.accepted_at),
                           sent_at=_iso(row.sent_at), delivered_at=_iso(row.delivered_at), read_at=_iso(row.read_at),
                           failed_at=_iso(row.failed_at))
                if row.error_code:
                    out.update(error_code=row.error_code, error=row.error)
            elif msg.status == MessageStatus.DELIVERED:  # the sandbox delivers at once
                out.update(state="delivered", wamid=msg.provider_message_id, accepted_at=_iso(msg.sent_at),
                           delivered_at=_iso(msg.sent_at))
            else:  # never accepted: sending, retrying, refused, in doubt
                out.update(state=f"not accepted ({msg.status})")
            return out
    except SQLAlchemyError as exc:
        log.warning("delivery of job %s unreadable: %s", job_id, exc)
        return None
