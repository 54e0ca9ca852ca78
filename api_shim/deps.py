"""Annotated dependencies shared by the routers: the engine, the caller's key, an Operator for
mutating routes, and path parameters checked the way the OpenAPI document describes them."""
from __future__ import annotations

import logging
import re
from typing import Annotated

from fastapi import Depends, Path, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from engine import audit
from engine.app import Engine
from engine.audit import Actor
from engine.errors import ServerError
from engine.operator import Operator
from engine.schemas import JOB_ID_PATTERN

from .errors import ApiError
from .models import QUEUE_NAME_MARK, SIGNATURE_PATTERN
from .settings import ApiKey

log = logging.getLogger("api_shim")

api_key_header = APIKeyHeader(name="X-API-Key", scheme_name="ApiKeyHeader", auto_error=False,
                              description="An API key from API_KEYS (name:role:key).")
bearer = HTTPBearer(scheme_name="BearerKey", auto_error=False,
                    description="The same API key as `Authorization: Bearer <key>`.")

_SAFE_ID = re.compile(JOB_ID_PATTERN.removeprefix("^").removesuffix("$"))
_SIGNATURE = re.compile(SIGNATURE_PATTERN.removeprefix("^").removesuffix("$"))
RESERVED_ENTRY_IDS = ("retry", "delete")  # literal path segments of the bulk routes


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


EngineDep = Annotated[Engine, Depends(get_engine)]


def current_key(request: Request,
                x_api_key: Annotated[str | None, Security(api_key_header)],
                authorization: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]) -> ApiKey:
    """The configured key named by X-API-Key and/or `Authorization: Bearer`. When both headers are
    sent, both must carry the same valid key: conflicting credentials are refused, never guessed."""
    offered = [v for v in (x_api_key, authorization.credentials if authorization else None) if v is not None]
    ring = request.app.state.keyring
    matches = [ring.match(v) for v in offered]
    if not matches or any(m is None for m in matches) or len({m.name for m in matches}) != 1:
        raise ApiError(401, "unauthorized", "a valid API key is required (X-API-Key or Authorization: Bearer)",
                       headers={"WWW-Authenticate": 'Bearer, ApiKey header="X-API-Key"'})
    return matches[0]


ReadKey = Annotated[ApiKey, Depends(current_key)]


def write_operator(request: Request, key: ReadKey, eng: EngineDep) -> Operator:
    """An Operator acting as the key's name; a read key is refused (and the refusal audited)."""
    op = Operator(eng, Actor(key.name, "api"), role=key.role)
    if not op.can_write:
        route = request.scope.get("route")
        params = request.path_params
        try:
            audit.record_refusal(op.actor, getattr(route, "name", request.url.path), queue=params.get("queueName"),
                                 target=params.get("jobId") or params.get("entryId") or params.get("signature"),
                                 outcome="denied: read-only role", engine=eng)
        except ServerError:
            log.warning("could not audit a denied %s by %s", request.url.path, key.name)
        raise ApiError(403, "forbidden", f"API key {key.name!r} is read-only; this route needs a write key")
    return op


WriteOp = Annotated[Operator, Depends(write_operator)]


def queue_name(eng: EngineDep, queueName: Annotated[str, Path(description="a queue of the engine's table",
                                                              json_schema_extra={QUEUE_NAME_MARK: True})]) -> str:
    """Declared as an enum of the app's queues in OpenAPI; any other name is a missing resource (404)."""
    if queueName not in eng.table.names:
        raise ApiError(404, "unknown_queue", f"unknown queue {queueName!r}")
    return queueName


def known_queue(eng: Engine, name: str | None, field: str) -> str | None:
    """`name` when it is None or a queue of the app's table; otherwise bad input (422 naming `field`)."""
    if name is not None and name not in eng.table.names:
        raise ApiError(422, "validation_error", f"{field}: must be one of {', '.join(eng.table.names)}",
                       field=field)
    return name


QueueDep = Annotated[str, Depends(queue_name)]


def job_id(jobId: Annotated[str, Path(description="job id: 1-128 letters, digits, '_', '-'",
                                      json_schema_extra={"pattern": JOB_ID_PATTERN})]) -> str:
    if not _SAFE_ID.fullmatch(jobId):
        raise ApiError(422, "validation_error", "jobId: must be 1-128 letters, digits, '_', '.' or '-', "
                       "starting with a letter or digit", field="jobId")
    return jobId


JobIdDep = Annotated[str, Depends(job_id)]


def entry_id(entryId: Annotated[str, Path(description="dead-letter entry id (the job's id)",
                                          json_schema_extra={"pattern": JOB_ID_PATTERN,
                                                             "not": {"enum": list(RESERVED_ENTRY_IDS)}})]) -> str:
    if entryId in RESERVED_ENTRY_IDS:
        # /dead-letter/retry and /dead-letter/delete are the bulk routes (POST only).
        raise ApiError(405, "method_not_allowed", "method not allowed")
    return any_entry_id(entryId)


EntryIdDep = Annotated[str, Depends(entry_id)]


def any_entry_id(entryId: Annotated[str, Path(description="dead-letter entry id (the job's id)",
                                              json_schema_extra={"pattern": JOB_ID_PATTERN})]) -> str:
    if not _SAFE_ID.fullmatch(entryId):
        raise ApiError(422, "validation_error", "entryId: must be a job id", field="entryId")
    return entryId


AnyEntryIdDep = Annotated[str, Depends(any_entry_id)]


def signature(signature: Annotated[str, Path(description="failure signature (see /failure-groups)",
                                             json_schema_extra={"pattern": SIGNATURE_PATTERN})]) -> str:
    if not _SIGNATURE.fullmatch(signature):
        raise ApiError(422, "validation_error", "signature: must be 8-64 lowercase hex digits", field="signature")
    return signature


SignatureDep = Annotated[str, Depends(signature)]
