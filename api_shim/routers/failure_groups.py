"""Failure groups (normalised signatures), and retry/delete of a group's dead-letter entries."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from engine import export, failure_groups
from engine.api_support import failure_group_exists
from engine.dead_letters import Filter
from engine.errors import NotFoundError

from ..deps import EngineDep, ReadKey, SignatureDep, WriteOp
from ..errors import error_responses
from ..models import MAX_PAGE, BulkResult, FailureGroup, Items

router = APIRouter(prefix="/api/v1/queue", tags=["failure-groups"])


@router.get("/failure-groups", response_model=Items[FailureGroup], name="list_failure_groups",
            summary="Failure groups, most recently seen first", responses=error_responses(401, 422, 503))
def list_groups(key: ReadKey, eng: EngineDep, limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100):
    return {"items": failure_groups.list_groups(limit=limit, engine=eng)}


@router.get("/failure-groups.csv", name="failure_groups_csv", summary="Failure groups as CSV",
            response_class=Response,
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "CSV"},
                       **error_responses(401, 503)})
def groups_csv(key: ReadKey, eng: EngineDep):
    return Response(export.failure_groups_csv(engine=eng), media_type="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="failure-groups.csv"'})


def _group(op, signature: str) -> Filter:
    if not failure_group_exists(signature, engine=op.eng):
        raise NotFoundError(f"failure group {signature!r} not found")
    return Filter(group=signature)


@router.post("/failure-groups/{signature}/retry", response_model=BulkResult, name="group_retry",
             summary="Retry every dead-letter entry of a group", responses=error_responses(401, 403, 404, 422, 503))
def retry_group(op: WriteOp, signature: SignatureDep):
    return BulkResult(count=op.bulk_retry_dead_letters(_group(op, signature)))


@router.post("/failure-groups/{signature}/delete", response_model=BulkResult, name="group_delete",
             summary="Delete every dead-letter entry of a group", responses=error_responses(401, 403, 404, 422, 503))
def delete_group(op: WriteOp, signature: SignatureDep):
    return BulkResult(count=op.bulk_delete_dead_letters(_group(op, signature)))
