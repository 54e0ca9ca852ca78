"""Queue `vendorFallback`: the assigned wholesaler did not confirm; offer the order to the next one."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from engine import jobctx

from domain.clock import utcnow
from domain.db import session_scope
from domain.errors import parse_id
from domain.fallback import FallbackAction, fall_back
from domain.jobids import fallback_job_id
from domain.settings import DomainSettings, resolve_settings

from ._support import job_engine, permanent_domain_errors
from .outbox_relay import send_now


def run(order_id: str, failed_wholesaler_id: str, *, settings: DomainSettings | None = None,
        now: datetime | None = None) -> dict[str, Any]:
    """Reassign the order (notify the new wholesaler, schedule its timeout) or fail it (notify the retailer)."""
    settings = resolve_settings(settings)
    now = now or utcnow()
    with permanent_domain_errors():
        oid = parse_id("order", order_id)
        wid = parse_id("wholesaler", failed_wholesaler_id)
        with session_scope(settings.database_url) as session:
            outcome = fall_back(session, oid, wid, now, settings.vendor_confirm_timeout_s)
    result: dict[str, Any] = {"order_id": oid, "failed_wholesaler_id": wid, "action": outcome.action.value,
                              "replayed": outcome.replayed}
    asked = []  # the jobs fall_back wrote to the outbox in its transaction
    if outcome.notice is not None:
        asked.append(result.setdefault("notice_job_id", outcome.notice.job_id))
    if outcome.action == FallbackAction.REASSIGNED:
        new_wid = outcome.wholesaler_id
        result.update(wholesaler_id=new_wid, timeout_job_id=fallback_job_id(oid, new_wid))
        asked.append(result["timeout_job_id"])
    send_now(asked, settings, engine=job_engine())
    jobctx.log(f"order {oid}: wholesaler {wid} did not confirm -> {outcome.action.value}"
               + (f" to wholesaler {outcome.wholesaler_id}" if outcome.action == FallbackAction.REASSIGNED else "")
               + (" (replay)" if outcome.replayed else ""))
    return result
