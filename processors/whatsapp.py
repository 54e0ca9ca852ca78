"""Queue `whatsapp`: send one message (free text or an approved template) through the configured provider,
at most once per job; free text outside the recipient's 24-hour window goes as the registry's fallback
template, or is dead-lettered without calling the API."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from engine import jobctx
from engine.errors import PermanentError, ProviderBackPressure, ValidationError
from engine.schemas import validate_with

from domain import delivery, outbox
from domain.clock import utcnow
from domain.db import connection_scope
from domain.settings import DomainSettings, resolve_settings
from domain.whatsapp import SendError, make_provider
from domain.whatsapp import templates

from .schemas import WhatsAppData


@dataclass(frozen=True)
class Content:
    """What goes out: free text, or a template with its parameters; `body` is what the recipient reads."""

    body: str
    template: tuple[str, str, list[str]] | None = None  # name, language, params
    note: str | None = None  # why it goes as it does, for the job's log (logged with the send's line)


def _content(conn: Connection, phone: str, data: dict[str, Any], settings: DomainSettings) -> Content:
    registry = templates.load(settings.whatsapp_templates)
    if data.get("template"):
        ref = data["template"]
        template = registry.check(ref["name"], ref["language"], ref["params"])
        return Content(template.render(ref["params"]), (template.name, template.language, ref["params"]))
    text = data["message"]
    last = delivery.last_inbound(conn, phone)
    if delivery.in_window(last, utcnow(), settings.whatsapp_window_s):
        return Content(text)
    fallback = registry.fallback
    since = f"last wrote at {last.isoformat()}" if last else "has never written to us"
    if fallback is None:
        raise PermanentError(
            f"free text refused: the recipient {since}, outside WhatsApp's {settings.whatsapp_window_s / 3600:g}-hour "
            f"customer-service window (the API would answer 131047), and the template registry has no "
            f"fallback_for_free_text template. Resend it as a template.")
    params = [text[:templates.MAX_PARAM_CHARS]]
    return Content(fallback.render(params), (fallback.name, fallback.language, params),
                   f"recipient {since}: outside the window, sending free text as template {fallback.name}")


def run(phone: str, message: str | None = None, reference: str | None = None, template: dict | None = None, *,
        order_id: str | None = None, retailer_id: str | None = None, wholesaler_id: str | None = None,
        account_id: str | None = None,
        settings: DomainSettings | None = None) -> dict[str, Any]:
    """Record the attempt under the job id, then send; a rerun of a sent job returns without sending.
    The business keys (order_id ...) only index the job for the support desk."""
    settings = resolve_settings(settings)
    raw = {"phone": phone, "message": message, "reference": reference, "template": template, "order_id": order_id,
           "retailer_id": retailer_id, "wholesaler_id": wholesaler_id, "account_id": account_id}
    try:
        data = validate_with(WhatsAppData, {k: v for k, v in raw.items() if v is not None})
    except ValidationError as exc:
        raise PermanentError(f"invalid message: {exc}") from exc
    phone, reference = data["phone"], data.get("reference")
    # Outside a worker there is no job id to deduplicate on: every direct call is its own send.
    key = jobctx.current_job_id() or f"direct-{uuid.uuid4().hex}"
    provider = make_provider(settings)
    # One write unit looks (duplicate, 24-hour window) and claims: its two reads are Core rows, a few tens of
    # microseconds under the write lock, cheaper than a unit of their own.
    with connection_scope(settings.database_url) as conn:
        existing = outbox.peek(conn, key)
        if existing is not None and existing[0] in outbox.DONE_STATES:
            content = Content(existing[1])  # already sent: no window check, claim() answers DONE
        else:
            content = _content(conn, phone, data, settings)
        claim = outbox.claim(conn, key, phone=phone, body=content.body, reference=reference, provider=provider.name,
                             resend_is_harmless=provider.resend_is_harmless, now=utcnow())
    summary = {"message_id": claim.message_id, "provider": provider.name, "attempt": claim.attempts}
    if content.template:
        summary["template"] = content.template[0]
    if claim.decision == outbox.Decision.DONE:
        jobctx.log(f"message {claim.message_id} already {claim.status}; not sending again")
        return {**summary, "status": claim.status, "provider_message_id": claim.provider_message_id,
                "already_sent": True}
    if claim.decision == outbox.Decision.IN_DOUBT:
        if content.note:
            jobctx.log(content.note)
        raise PermanentError(
            f"message {claim.message_id} (key {key}) is in doubt: an earlier run recorded the send and stopped "
            f"before recording its result, so the provider may already have delivered it. Not sending again to "
            f"avoid a duplicate; check the recipient and resolve with `python -m domain whatsapp-resolve {key}`.")

    sending = f"sending message {claim.message_id} to {phone[:-4]}**** via {provider.name} (attempt {claim.attempts})"
    jobctx.log(*([content.note] if content.note else []), sending)  # one round trip
    try:
        if content.template:
            name, language, params = content.template
            result = provider.send_template(phone, name, language, params, idempotency_key=key)
        else:
            result = provider.send_text(phone, content.body, idempotency_key=key)
    except SendError as exc:
        throttled = exc.retry_after_s is not None
        with connection_scope(settings.database_url) as conn:
            outbox.mark_failed(conn, key, code=exc.code, error=exc.message, retryable=exc.retryable or throttled,
                               now=utcnow())
        jobctx.log(f"provider refused message {claim.message_id}: {exc.message}")
        if throttled:
            raise ProviderBackPressure(exc.retry_after_s, f"WhatsApp rate limit: {exc.message}") from exc
        if not exc.retryable:
            raise PermanentError(f"WhatsApp refused the message (code {exc.code}): {exc.message}") from exc
        raise
    with connection_scope(settings.database_url) as conn:
        outbox.mark_sent(conn, key, result.provider_message_id, result.status, now=utcnow())
        if result.status == "sent":  # accepted: the status webhooks tell the rest
            delivery.accepted(conn, result.provider_message_id, key, phone, utcnow())
    return {**summary, "status": "accepted" if result.status == "sent" else result.status,
            "provider_message_id": result.provider_message_id, "already_sent": False}
