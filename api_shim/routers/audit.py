"""The audit log of operator actions, as JSON or CSV."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from engine import audit, export

from ..deps import EngineDep, ReadKey, known_queue
from ..errors import error_responses
from ..models import MAX_PAGE, AuditEntry, Items, QueueName, Timestamp

router = APIRouter(prefix="/api/v1/queue", tags=["audit"])
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class AuditFilter:
    kwargs: dict[str, Any]
    empty: bool


def audit_filter(
    eng: EngineDep,
    since: Annotated[Timestamp, Query()] = None,
    until: Annotated[Timestamp, Query()] = None,
    actor: Annotated[str, Query(min_length=1, max_length=200, description="user or API key name")] = None,
    queue: Annotated[QueueName, Query()] = None,
    action: Annotated[str, Query(min_length=1, max_length=100, description="e.g. retry, delete, pause")] = None,
) -> AuditFilter:
    # Entry ids are milliseconds since 1970: earlier bounds select nothing before it.
    empty = until is not None and until < EPOCH
    if since is not None and since < EPOCH:
        since = EPOCH
    return AuditFilter({"since": since, "until": until, "actor": actor, "queue": known_queue(eng, queue, "queue"), "action": action}, empty)


AuditFilterDep = Annotated[AuditFilter, Depends(audit_filter)]


@router.get("/audit", response_model=Items[AuditEntry], name="list_audit", summary="Audit log, newest first",
            responses=error_responses(401, 422, 503))
def list_audit(key: ReadKey, eng: EngineDep, flt: AuditFilterDep,
               limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100):
    return {"items": [] if flt.empty else audit.list_entries(engine=eng, limit=limit, **flt.kwargs)}


@router.get("/audit.csv", name="audit_csv", summary="Audit log as CSV", response_class=Response,
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "CSV"},
                       **error_responses(401, 422, 503)})
def audit_csv(key: ReadKey, eng: EngineDep, flt: AuditFilterDep):
    body = export.to_csv([], export.AUDIT_COLUMNS) if flt.empty else export.audit_csv(engine=eng, **flt.kwargs)
    return Response(body, media_type="text/csv", headers={"Content-Disposition": 'attachment; filename="audit.csv"'})
