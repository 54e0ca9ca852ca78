"""The support desk: find jobs by business key, job-id prefix or error words; count, cancel, retry or delete
the whole matching set; the events of an order's (phone's, retailer's ...) jobs."""
from __future__ import annotations

import re
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from engine import bulk, search as engine_search, timeline
from engine.search import SearchFilter

from ..deps import EngineDep, ReadKey, WriteOp, known_queue
from ..errors import error_responses
from ..models import MAX_PAGE, NOT_BLANK, BulkResult, Items, QueueName
from ..models.support import (CURSOR_PATTERN, KEY_VALUE_PATTERN, PHONE_QUERY_PATTERN, SEARCH_TERMS, BulkSearchRequest,
                              JobEvent, SearchCount, SearchPage, SearchState)

router = APIRouter(prefix="/api/v1/queue/search", tags=["search"])
HINT = "give at least one of " + ", ".join(SEARCH_TERMS) + " to search"
KeyQuery = Annotated[str, Query(pattern=KEY_VALUE_PATTERN)]


def search_filter(
    eng: EngineDep,
    order_id: KeyQuery = None,
    phone: Annotated[str, Query(pattern=PHONE_QUERY_PATTERN,
                                description="any common format; without a country code read in PHONE_REGION")] = None,
    retailer_id: KeyQuery = None,
    wholesaler_id: KeyQuery = None,
    account_id: KeyQuery = None,
    q: Annotated[str, Query(min_length=1, max_length=200, pattern=NOT_BLANK,
                            description="a job-id prefix, or words of an error message")] = None,
    queue: Annotated[QueueName, Query()] = None,
    state: Annotated[SearchState, Query()] = None,
) -> SearchFilter:
    return SearchFilter(order_id=order_id, phone=phone, retailer_id=retailer_id, wholesaler_id=wholesaler_id,
                        account_id=account_id, q=q, queue=known_queue(eng, queue, "queue"), state=state)


FilterDep = Annotated[SearchFilter, Depends(search_filter)]


def _has_term(flt: SearchFilter) -> bool:
    return any(getattr(flt, t) is not None for t in SEARCH_TERMS)


@router.get("", response_model=SearchPage, name="search_jobs", summary="Find jobs, newest first, across every state",
            description="By order, phone (any format), retailer, wholesaler or credit account, by a job-id prefix or "
                        "words of an error (`q`), narrowed by queue and state. A page may hold fewer than `limit` "
                        "items and still carry a `next_cursor` when its bounded scan stopped first.",
            responses=error_responses(401, 422, 503))
def search_jobs(key: ReadKey, eng: EngineDep, flt: FilterDep,
                limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
                cursor: Annotated[str, Query(pattern=CURSOR_PATTERN, description="from the previous page")] = None):
    if not _has_term(flt):
        return SearchPage(items=[], next_cursor=None, hint=HINT)
    return engine_search.search(flt, limit=limit, cursor=cursor, engine=eng)


@router.get("/count", response_model=SearchCount, name="count_search", summary="How many jobs a bulk action would touch",
            description="cancel: waiting, scheduled and running; retry: dead-lettered; delete: all but running; "
                        "no action: every match. Counting stops above the bulk cap.",
            responses=error_responses(401, 422, 503))
def count_search(key: ReadKey, eng: EngineDep, flt: FilterDep,
                 action: Annotated[Literal["cancel", "retry", "delete"], Query()] = None):
    cap = bulk.BULK_CAP
    if not _has_term(flt):
        return SearchCount(count=0, cap=cap, over_cap=False)
    n = (bulk.count_search(flt, action, engine=eng) if action else engine_search.count(flt, cap=cap, engine=eng))
    return SearchCount(count=min(n, cap + 1), cap=cap, over_cap=n > cap)


def _bulk_route(action: str):
    def run(op: WriteOp, body: BulkSearchRequest) -> BulkResult:
        values = body.filter.model_dump()
        values["queue"] = known_queue(op.eng, values["queue"], "filter.queue")
        return BulkResult(count=op.bulk_search(action, SearchFilter(**values)))

    router.add_api_route(f"/{action}", run, methods=["POST"], response_model=BulkResult, name=f"bulk_{action}_search",
                         summary=f"{action.capitalize()} every job the search filter matches",
                         description=f"At most {bulk.BULK_CAP:,} jobs per call (409 above, nothing changed); audited "
                                     "as one entry naming the filter and the count.",
                         responses=error_responses(400, 401, 403, 409, 413, 422, 503))


for _action in ("cancel", "retry", "delete"):
    _bulk_route(_action)


@router.get("/events", response_model=Items[JobEvent], name="search_events",
            summary="The timeline of every job about one business key, oldest first",
            description="kind: order, phone, retailer, wholesaler or account; value as for search (a phone in any "
                        "format). Enqueued, each failed attempt with its error, retries, dead-lettering, operator "
                        "retries and edits, cancel, the last run's start and completion; the newest 200 jobs.",
            responses=error_responses(401, 422, 503))
def search_events(key: ReadKey, eng: EngineDep,
                  kind: Annotated[Literal["order", "phone", "retailer", "wholesaler", "account"], Query()],
                  value: Annotated[str, Query(pattern=f"{KEY_VALUE_PATTERN}|{PHONE_QUERY_PATTERN}")]):
    if not re.fullmatch(PHONE_QUERY_PATTERN if kind == "phone" else KEY_VALUE_PATTERN, value):
        return {"items": []}  # a value of the other shape (a phone given as an order id): no job has that key
    return {"items": timeline.key_events(kind, value, engine=eng)}
