"""Queue `whatsapp`: send one message through the configured provider, at most once per job."""
from __future__ import annotations

import uuid
from typing import Any

from engine import jobctx
from engine.errors import PermanentError, ProviderBackPressure, ValidationError
from engine.schemas import validate_with

from domain import outbox
from domain.clock import utcnow
from domain.db import session_scope
from domain.settings import DomainSettings, resolve_settings
from domain.whatsapp import SendError, make_provider

from .schemas import WhatsAppData


def run(phone: str, message: str, reference: str | None = None, *, order_id: str | None = None,
        retailer_id: str | None = None, wholesaler_id: str | None = None, account_id: str | None = None,
        settings: DomainSettings | None = None) -> dict[str, Any]:
    """Record the attempt under the job id, then send; a rerun of a sent job returns without sending.
    The business keys (order_id ...) only index the job for the support desk."""
    settings = resolve_settings(settings)
    try:
        data = validate_with(WhatsAppData, {"phone": phone, "message": message, "reference": reference,
                                            "order_id": order_id, "retailer_id": retailer_id,
                                            "wholesaler_id": wholesaler_id, "account_id": account_id})
    except ValidationError as exc:
        raise PermanentError(f"invalid message: {exc}") from exc
    phone, message, reference = data["phone"], data["message"], data.get("reference")
    # Outside a worker there is no job id to deduplicate on: every direct call is its own send.
    key = jobctx.current_job_id() or f"direct-{uuid.uuid4().hex}"
    provider = make_provider(settings)
    with session_scope(settings.database_url) as session:
        claim = outbox.claim(session, key, phone=phone, body=message, reference=reference, provider=provider.name,
                             resend_is_harmless=provider.resend_is_harmless, now=utcnow())
    summary = {"message_id": claim.message_id, "provider": provider.name, "attempt": claim.attempts}
    if claim.decision == outbox.Decision.DONE:
        jobctx.log(f"message {claim.message_id} already {claim.status}; not sending again")
        return {**summary, "status": claim.status, "provider_message_id": claim.provider_message_id,
                "already_sent": True}
    if claim.decision == outbox.Decision.IN_DOUBT:
        raise PermanentError(
            f"message {claim.message_id} (key {key}) is in doubt: an earlier run recorded the send and stopped "
            f"before recording its result, so the provider may already have delivered it. Not sending again to "
            f"avoid a duplicate; check the recipient and resolve with `python -m domain whatsapp-resolve {key}`.")

    jobctx.log(f"sending message {claim.message_id} to {phone[:-4]}**** via {provider.name} (attempt {claim.attempts})")
    try:
        result = provider.send_text(phone, message, idempotency_key=key)
    except SendError as exc:
        throttled = exc.retry_after_s is not None
        with session_scope(settings.database_url) as session:
            outbox.mark_failed(session, key, code=exc.code, error=exc.message, retryable=exc.retryable or throttled,
                               now=utcnow())
        jobctx.log(f"provider refused message {claim.message_id}: {exc.message}")
        if throttled:
            raise ProviderBackPressure(exc.retry_after_s, f"WhatsApp rate limit: {exc.message}") from exc
        if not exc.retryable:
            raise PermanentError(f"WhatsApp refused the message (code {exc.code}): {exc.message}") from exc
        raise
    with session_scope(settings.database_url) as session:
        outbox.mark_sent(session, key, result.provider_message_id, result.status, now=utcnow())
    return {**summary, "status": result.status, "provider_message_id": result.provider_message_id,
            "already_sent": False}
