"""One job: details, retry, removal, and adding a job (one operation per queue of the app's table, so
that each queue's data schema is documented exactly; built by add_job_router when the app is created)."""

import json
from typing import Annotated, Any

import pydantic
from fastapi import APIRouter, Body, Request, Response
from pydantic import ConfigDict, WithJsonSchema, create_model

from engine import job_ops
from engine.errors import ConflictError, NotFoundError, ValidationError
from engine.queues import QueuePolicy, QueueTable
from processors.whatsapp_delivery import job_delivery

from ..deps import EngineDep, JobIdDep, QueueDep, ReadKey, WriteOp
from ..errors import error_responses
from ..models import NOT_BLANK, CreatedJob, JobAction, JobDetails, NewJobBase
from ..models.support import CancelResult, RetryBody

PREFIX = "/api/v1/queue"
router = APIRouter(prefix=PREFIX, tags=["jobs"])

JOB_LINK_PARAMS = {"queueName": "$response.body#/queue", "jobId": "$response.body#/id"}


def wire_model(policy: QueuePolicy) -> type[pydantic.BaseModel]:
    """The queue's schema, checked strictly and without stripping, so the OpenAPI document states
    exactly which data the engine accepts. Non-blank text fields gain a pattern."""
    base = policy.schema
    fields: dict[str, Any] = {}
    for name, info in base.model_fields.items():
        has_min = any(getattr(m, "min_length", 0) for m in info.metadata)
        has_pattern = any(getattr(m, "pattern", None) for m in info.metadata)
        if info.annotation is str and has_min and not has_pattern:
            merged = pydantic.fields.FieldInfo.merge_field_infos(info, pydantic.Field(pattern=NOT_BLANK))
            fields[name] = (str, merged)
    config = ConfigDict(strict=True, str_strip_whitespace=False, extra="forbid")
    return create_model(f"{base.__name__}", __base__=type(f"_{base.__name__}", (base,), {"model_config": config}),
                        __module__=__name__, **fields)


def check_data(wire: type[pydantic.BaseModel], data: dict[str, Any]) -> None:
    """Strict check against the queue's wire model; the engine checks again (validate_data) on enqueue."""
    try:
        wire.model_validate_json(json.dumps(data))
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(["data", *(str(p) for p in first["loc"])])
        raise ValidationError(field, first["msg"]) from None


def _queue_title(queue: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in queue.replace("-", "_").split("_"))


def inline_defs(schema: Any, defs: dict[str, Any] | None = None) -> Any:
    """The schema with its `$defs` references replaced by their bodies: a nested model's `#/$defs/...`
    would point at the OpenAPI document's root once the schema sits inside it."""
    if defs is None and isinstance(schema, dict):
        defs = schema.pop("$defs", {})
    if isinstance(schema, dict):
        ref = schema.get("$ref", "")
        if ref.startswith("#/$defs/") and defs is not None:
            return inline_defs(dict(defs[ref.removeprefix("#/$defs/")]), defs)
        return {k: inline_defs(v, defs) for k, v in schema.items()}
    if isinstance(schema, list):
        return [inline_defs(v, defs) for v in schema]
    return schema


def new_job_model(queue: str, wire: type[pydantic.BaseModel]) -> type[NewJobBase]:
    data_schema = inline_defs(wire.model_json_schema())
    data_schema.pop("title", None)
    return create_model(f"New{_queue_title(queue)}Job", __base__=NewJobBase, __module__=__name__,
                        data=(Annotated[dict[str, Any], WithJsonSchema(data_schema)], ...))


def _add_job_route(target: APIRouter, policy: QueuePolicy) -> None:
    queue, wire = policy.name, wire_model(policy)
    model = new_job_model(queue, wire)

    def add_job(op: WriteOp, response: Response, body: Annotated[model, Body()]) -> CreatedJob:  # type: ignore[valid-type]
        check_data(wire, body.data)
        job = op.enqueue(queue, body.data, priority=body.priority, delay=body.delay_s, run_at=body.run_at,
                         job_id=body.job_id)  # an id in use on another queue: ConflictError (409, audited)
        href = f"{PREFIX}/jobs/{queue}/{job.id}"
        response.headers["Location"] = href
        try:
            status = job_ops.get_job(queue, job.id, engine=op.eng)["state"]
        except NotFoundError:  # removed between the enqueue and this read
            status = "removed"
        return CreatedJob(id=job.id, queue=queue, status=status, href=href)

    target.add_api_route(
        f"/jobs/{queue}", add_job, methods=["POST"], status_code=201, response_model=CreatedJob,
        name=f"add_{queue}_job", summary=f"Add a job to {queue}",
        description=f"POST /api/v1/queue/jobs/{{queueName}} for queueName={queue}: `data` follows the "
                    f"{queue} schema. Returns the job id and a link to its details (also in Location).",
        responses={201: {"headers": {"Location": {"description": "the job's details",
                                                  "schema": {"type": "string"}}},
                         "links": {name: {"operationId": op_id, "parameters": JOB_LINK_PARAMS}
                                   for name, op_id in (("GetJob", "get_job"), ("DeleteJob", "delete"),
                                                       ("RetryJob", "retry"))}},
                   **error_responses(400, 401, 403, 409, 413, 422, 503)},
    )


def add_job_router(table: QueueTable) -> APIRouter:
    """One add-job operation per queue of `table`, each documenting that queue's schema."""
    target = APIRouter(prefix=PREFIX, tags=["jobs"])
    for policy in table:
        _add_job_route(target, policy)
    return target


@router.get("/jobs/{queueName}/{jobId}", response_model=JobDetails, name="get_job", summary="Job details",
            responses=error_responses(401, 404, 422, 503))
def get_job(key: ReadKey, queue: QueueDep, job_id: JobIdDep, eng: EngineDep, request: Request):
    details = job_ops.get_job(queue, job_id, engine=eng)
    details["delivery"] = job_delivery(queue, job_id, getattr(request.app.state, "domain_settings", None))
    return details


@router.delete("/jobs/{queueName}/{jobId}", response_model=JobAction, name="delete", summary="Remove a job",
               description="Removes a waiting, scheduled, finished or failed job (and its dead-letter entry); "
                           "409 while it runs.",
               responses=error_responses(401, 403, 404, 409, 422, 503))
def delete_job(op: WriteOp, queue: QueueDep, job_id: JobIdDep):
    op.remove_job(queue, job_id)
    return JobAction(id=job_id, queue=queue, done=True)


@router.post("/jobs/{queueName}/{jobId}/cancel", response_model=CancelResult, name="cancel",
             summary="Cancel a job",
             description="A waiting or scheduled job is cancelled at once; a running one is asked to stop (outcome "
                         "`cancelling`) and is recorded as cancelled when it stops or after the grace period, its "
                         "late result discarded. A cancelled job is never retried. 409 for a finished, failed, "
                         "dead-lettered or already cancelled job.",
             responses=error_responses(401, 403, 404, 409, 422, 503))
def cancel_job(op: WriteOp, queue: QueueDep, job_id: JobIdDep):
    return CancelResult(id=job_id, queue=queue, outcome=op.cancel(queue, job_id))


@router.post("/retry/{queueName}/{jobId}", response_model=JobAction, name="retry", summary="Retry a job",
             description="Retries a failed (dead-lettered) job with a fresh retry budget; 409 for any other state. "
                         "An optional body `{\"data\": {...}}` replaces the job's data (fix and resend): checked "
                         "by the queue's schema, 422 naming the field and nothing changed when it does not fit.",
             responses=error_responses(400, 401, 403, 404, 409, 413, 422, 503))
def retry_job(op: WriteOp, queue: QueueDep, job_id: JobIdDep, body: Annotated[RetryBody | None, Body()] = None):
    # The engine checks the job (404, 409) before the new data (422), so a bad edit of a job that cannot be
    # retried anyway is reported as what it is.
    if not op.retry_job(queue, job_id, data=body.data if body is not None else None):
        raise ConflictError(f"job {job_id!r} was retried by another caller")
    return JobAction(id=job_id, queue=queue, done=True)
