"""Queue `whatsapp`: send one message (free text or an approved template) through the configured provider,
at most once per job; free text outside the recipient's 24-hour window goes as the registry's fallback
template, or is dead-lettered without calling the API."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn

from sqlalchemy import Connection

from engine import jobctx
from engine.errors import PermanentError, ProviderBackPressure, ValidationError
from engine.schemas import validate_with

from domain import delivery, outbox
from domain.clock import utcnow
from domain.db import connection_scope
from domain.settings import DomainSettings, resolve_settings
from domain.whatsapp import SendError, SendResult, make_provider
from domain.whatsapp.base import Provider
from domain.whatsapp import templates

from . import sent_batch
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


@dataclass(frozen=True)
class Send:
    """A claimed send, ready to go out: everything the call and its two endings need."""

    settings: DomainSettings
    provider: Provider
    key: str
    phone: str
    content: Content
    summary: dict[str, Any]

    def call(self) -> SendResult:
        """The provider call, blocking."""
        return self._call(self.provider.send_template, self.provider.send_text)

    def acall(self) -> Awaitable[SendResult]:
        """The provider call, to await on the running loop."""
        return self._call(self.provider.asend_template, self.provider.asend_text)

    def _call(self, template: Callable, text: Callable) -> Any:
        """One place picks text or template, for both kinds of call."""
        if self.content.template:
            name, language, params = self.content.template
            return template(self.phone, name, language, params, idempotency_key=self.key)
        return text(self.phone, self.content.body, idempotency_key=self.key)


def run(phone: str, message: str | None = None, reference: str | None = None, template: dict | None = None, *,
        order_id: str | None = None, retailer_id: str | None = None, wholesaler_id: str | None = None,
        account_id: str | None = None,
        settings: DomainSettings | None = None) -> dict[str, Any]:
    """Record the attempt under the job id, then send; a rerun of a sent job returns without sending.
    The business keys (order_id ...) only index the job for the support desk."""
    send = _claim({"phone": phone, "message": message, "reference": reference, "template": template,
                   "order_id": order_id, "retailer_id": retailer_id, "wholesaler_id": wholesaler_id,
                   "account_id": account_id}, settings)
    if isinstance(send, dict):
        return send
    try:
        result = send.call()
    except SendError as exc:
        _refused(send, exc)
    return _sent(send, result)


async def arun(phone: str, message: str | None = None, reference: str | None = None, template: dict | None = None,
               *, order_id: str | None = None, retailer_id: str | None = None, wholesaler_id: str | None = None,
               account_id: str | None = None,
               settings: DomainSettings | None = None) -> dict[str, Any]:
    """`run` for async slots: the same claim and outbox, the provider call awaited on the slot's event loop.
    The outbox's database units (a few hundred microseconds each on SQLite) run on the loop, between awaits."""
    send = _claim({"phone": phone, "message": message, "reference": reference, "template": template,
                   "order_id": order_id, "retailer_id": retailer_id, "wholesaler_id": wholesaler_id,
                   "account_id": account_id}, settings)
    if isinstance(send, dict):
        return send
    try:
        result = await send.acall()
    except SendError as exc:
        _refused(send, exc)
    await sent_batch.commit(send.settings.database_url, lambda conn: _record_sent(conn, send, result))
    return _summary(send, result)


def _claim(raw: dict[str, Any], settings: DomainSettings | None) -> Send | dict[str, Any]:
    """Validate, look and claim the send in the outbox: the Send to make, or the job's result when it must not."""
    settings = resolve_settings(settings)
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
    return Send(settings, provider, key, phone, content, summary)


def _refused(send: Send, exc: SendError) -> NoReturn:
    """Record the refusal and raise what the failure ladder needs: back-pressure, permanent or retryable."""
    settings, key, claim_id = send.settings, send.key, send.summary["message_id"]
    throttled = exc.retry_after_s is not None
    with connection_scope(settings.database_url) as conn:
        outbox.mark_failed(conn, key, code=exc.code, error=exc.message, retryable=exc.retryable or throttled,
                           now=utcnow())
    jobctx.log(f"provider refused message {claim_id}: {exc.message}")
    if throttled:
        raise ProviderBackPressure(exc.retry_after_s, f"WhatsApp rate limit: {exc.message}") from exc
    if not exc.retryable:
        raise PermanentError(f"WhatsApp refused the message (code {exc.code}): {exc.message}") from exc
    raise exc


def _sent(send: Send, result: SendResult) -> dict[str, Any]:
    """Record the accepted send; the job's result."""
    with connection_scope(send.settings.database_url) as conn:
        _record_sent(conn, send, result)
    return _summary(send, result)


def _record_sent(conn: Connection, send: Send, result: SendResult) -> None:
    outbox.mark_sent(conn, send.key, result.provider_message_id, result.status, now=utcnow())
    if result.status == "sent":  # accepted: the status webhooks tell the rest
        delivery.accepted(conn, result.provider_message_id, send.key, send.phone, utcnow())


def _summary(send: Send, result: SendResult) -> dict[str, Any]:
    return {**send.summary, "status": "accepted" if result.status == "sent" else result.status,
            "provider_message_id": result.provider_message_id, "already_sent": False}
