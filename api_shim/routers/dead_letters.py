"""The dead-letter queue: list (filtered, paginated), CSV, one entry, retry/delete one or in bulk."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query, Response

from engine import dead_letters, export
from engine.app import Engine
from engine.dead_letters import Filter
from engine.errors import NotFoundError

from ..deps import AnyEntryIdDep, EngineDep, EntryIdDep, ReadKey, WriteOp, known_queue
from ..errors import error_responses
from ..models import (MAX_OFFSET, MAX_PAGE, SIGNATURE_PATTERN, BulkRequest, BulkResult, DeadLetterDetails,
                      DeadLetterEntry, EntryAction, Page, QueueName, Timestamp)
from ..models.support import RetryBody

router = APIRouter(prefix="/api/v1/queue", tags=["dead-letter"])
CSV_LIMIT = 100_000


def dead_letter_filter(
    eng: EngineDep,
    queue: Annotated[QueueName, Query(description="origin queue")] = None,
    group: Annotated[str, Query(pattern=SIGNATURE_PATTERN, description="failure signature")] = None,
    error_type: Annotated[str, Query(min_length=1, max_length=200)] = None,
    since: Annotated[Timestamp, Query(description="dead-lettered at or after")] = None,
    until: Annotated[Timestamp, Query(description="dead-lettered at or before")] = None,
) -> Filter:
    return Filter(queue=known_queue(eng, queue, "queue"), group=group, error_type=error_type, since=since,
                  until=until)


FilterDep = Annotated[Filter, Depends(dead_letter_filter)]


def to_filter(eng: Engine, body: BulkRequest) -> Filter | None:
    if body.filter is None:
        return None
    f = body.filter
    return Filter(queue=known_queue(eng, f.queue, "filter.queue"), group=f.group, error_type=f.error_type, since=f.since, until=f.until)


@router.get("/dead-letter", response_model=Page[DeadLetterEntry], name="list_dead_letters",
            summary="The dead-letter queue, newest first", responses=error_responses(401, 422, 503))
def list_dead_letters(key: ReadKey, eng: EngineDep, flt: FilterDep,
                      limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
                      offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0):
    entries, total = dead_letters.list_entries(flt, offset=offset, limit=limit, engine=eng)
    return {"items": entries, "total": total, "offset": offset, "limit": limit}


@router.get("/dead-letter.csv", name="dead_letters_csv", summary="The dead-letter queue as CSV",
            response_class=Response,
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "CSV"},
                       **error_responses(401, 422, 503)})
def dead_letters_csv(key: ReadKey, eng: EngineDep, flt: FilterDep):
    body = export.dead_letters_csv(flt, engine=eng, limit=CSV_LIMIT)
    return Response(body, media_type="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="dead-letters.csv"'})


@router.post("/dead-letter/retry", response_model=BulkResult, name="bulk_retry",
             summary="Retry every entry matching a filter, or the given ids",
             description="At most 10,000 entries per call (409 above it, nothing changed); audited as one entry "
                         "naming the filter and the count. The list route's `total` is the count to confirm.",
             responses=error_responses(400, 401, 403, 409, 413, 422, 503))
def bulk_retry(op: WriteOp, body: BulkRequest):
    return BulkResult(count=op.bulk_retry_dead_letters(to_filter(op.eng, body), ids=body.ids))


@router.post("/dead-letter/delete", response_model=BulkResult, name="bulk_delete",
             summary="Delete every entry matching a filter, or the given ids",
             description="At most 10,000 entries per call (409 above it, nothing changed); audited as one entry "
                         "naming the filter and the count.",
             responses=error_responses(400, 401, 403, 409, 413, 422, 503))
def bulk_delete(op: WriteOp, body: BulkRequest):
    return BulkResult(count=op.bulk_delete_dead_letters(to_filter(op.eng, body), ids=body.ids))


@router.get("/dead-letter/{entryId}", response_model=DeadLetterDetails, name="get_dead_letter",
            summary="One entry with every attempt's error", responses=error_responses(401, 404, 405, 422, 503))
def get_dead_letter(key: ReadKey, entry_id: EntryIdDep, eng: EngineDep):
    return dead_letters.get_entry(entry_id, engine=eng)


@router.post("/dead-letter/{entryId}/retry", response_model=EntryAction, name="dead_letter_retry",
             summary="Retry one entry",
             description="An optional body `{\"data\": {...}}` replaces the job's data (fix and resend): checked by "
                         "its queue's schema, 422 naming the field (`data.phone`) and nothing changed when it does "
                         "not fit. The audit entry records the data before and after.",
             responses=error_responses(400, 401, 403, 404, 409, 413, 422, 503))
def retry_dead_letter(op: WriteOp, entry_id: AnyEntryIdDep, body: Annotated[RetryBody | None, Body()] = None):
    if not op.retry_dead_letter(entry_id, data=body.data if body is not None else None):
        raise NotFoundError(f"dead-letter entry {entry_id!r} was retried by another caller")
    return EntryAction(id=entry_id, done=True)


@router.delete("/dead-letter/{entryId}", response_model=EntryAction, name="dead_letter_delete",
               summary="Delete one entry and its job", responses=error_responses(401, 403, 404, 405, 422, 503))
def delete_dead_letter(op: WriteOp, entry_id: EntryIdDep):
    if not op.delete_dead_letter(entry_id):
        raise NotFoundError(f"dead-letter entry {entry_id!r} not found")
    return EntryAction(id=entry_id, done=True)
