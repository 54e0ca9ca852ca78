"""Failed jobs of one queue (each is also in the dead-letter queue)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from engine import monitoring

from ..deps import EngineDep, QueueDep, ReadKey
from ..errors import error_responses
from ..models import MAX_OFFSET, MAX_PAGE, JobSummary, Page

router = APIRouter(prefix="/api/v1/queue/failed", tags=["failed"])

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"page size, at most {MAX_PAGE}")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]


@router.get("/{queueName}", response_model=Page[JobSummary], name="get_failed_jobs",
            summary="Failed jobs, newest first", responses=error_responses(401, 404, 422, 503))
def get_failed_jobs(key: ReadKey, queue: QueueDep, eng: EngineDep, limit: Limit = 50, offset: Offset = 0):
    rows, total = monitoring.list_jobs(queue, "failed", offset=offset, limit=limit, engine=eng)
    return {"items": rows, "total": total, "offset": offset, "limit": limit}
