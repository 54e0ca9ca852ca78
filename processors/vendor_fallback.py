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

from . import helpers
from ._support import enqueue_notice, job_engine, permanent_domain_errors


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
    if outcome.notice is not None:
        result["notice_job_id"] = enqueue_notice(outcome.notice)
    if outcome.action == FallbackAction.REASSIGNED:
        new_wid = outcome.wholesaler_id
        job = helpers.add_vendor_fallback_job(str(oid), str(new_wid), delay=settings.vendor_confirm_timeout_s,
                                              job_id=fallback_job_id(oid, new_wid), engine=job_engine())
        result.update(wholesaler_id=new_wid, timeout_job_id=job.id)
    jobctx.log(f"order {oid}: wholesaler {wid} did not confirm -> {outcome.action.value}"
               + (f" to wholesaler {outcome.wholesaler_id}" if outcome.action == FallbackAction.REASSIGNED else "")
               + (" (replay)" if outcome.replayed else ""))
    return result
