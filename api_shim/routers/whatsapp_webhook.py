"""WhatsApp's webhook: Meta's subscription check (GET) and signed status / inbound-message events (POST).

Outside /api/v1/queue and without an API key: the verify token and the body's signature are the auth."""
from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from processors import whatsapp_webhook

from ..deps import EngineDep
from ..errors import ApiError, error_responses

router = APIRouter(prefix="/webhooks", tags=["webhooks"])
QUEUE = whatsapp_webhook.QUEUE


class WebhookResult(BaseModel):
    statuses: int
    changed: int
    inbound: int
    failed_jobs: list[str]


def domain_settings(request: Request) -> Any:
    """The app's domain settings (tests set app.state.domain_settings); None: the process's environment."""
    return getattr(request.app.state, "domain_settings", None)


SettingsDep = Annotated[Any, Depends(domain_settings)]


@router.get("/whatsapp", name="whatsapp_verify", response_model=None,
            summary="Meta's webhook verification: echoes hub.challenge when hub.verify_token matches",
            responses={200: {"description": "hub.challenge, as text/plain",
                             "content": {"text/plain": {"schema": {"type": "string"}}}}, **error_responses(403, 422, 503)})
def verify(settings: SettingsDep,
           mode: Annotated[str | None, Query(alias="hub.mode")] = None,
           token: Annotated[str | None, Query(alias="hub.verify_token")] = None,
           challenge: Annotated[str | None, Query(alias="hub.challenge", max_length=512)] = None) -> PlainTextResponse:
    answer = whatsapp_webhook.verify(settings, mode, token, challenge)
    if answer is None:
        raise ApiError(403, "forbidden", "hub.mode must be subscribe and hub.verify_token must match "
                                         "WHATSAPP_VERIFY_TOKEN")
    return PlainTextResponse(answer)


@router.post("/whatsapp", response_model=WebhookResult, name="whatsapp_events",
             summary="Signed status and inbound-message events (X-Hub-Signature-256)",
             responses=error_responses(400, 401, 403, 413, 422, 503))
async def events(request: Request, eng: EngineDep, settings: SettingsDep,
                 signature: Annotated[str | None, Header(alias="X-Hub-Signature-256")] = None):
    raw = await request.body()
    if not signature:
        raise ApiError(401, "unauthorized", "the X-Hub-Signature-256 header is required", field="X-Hub-Signature-256")
    if not whatsapp_webhook.signature_ok(settings, raw, signature):
        raise ApiError(403, "forbidden", "X-Hub-Signature-256 does not match the body", field="X-Hub-Signature-256")
    try:
        payload = json.loads(raw)
        result = await run_in_threadpool(whatsapp_webhook.record, payload, eng, settings)
    except (ValueError, whatsapp_webhook.BadPayload) as exc:
        raise ApiError(400, "bad_request", f"not a WhatsApp webhook: {exc}", field="body") from None
    return WebhookResult(statuses=result.statuses, changed=result.changed, inbound=result.inbound,
                         failed_jobs=result.failed_jobs)
