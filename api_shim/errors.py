"""One error shape for every failure, and the mapping from engine errors to HTTP statuses.

    {"error": {"code": "not_found", "message": "...", "field": null}}
"""
from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from engine.errors import (ConflictError, EngineError, NotFoundError, PermissionDenied, ReplicationTimeoutError,
                           ServerError, ServerFullError, ServerUnavailableError, UnknownQueueError, ValidationError)
from engine.oom import is_out_of_memory

log = logging.getLogger("api_shim")


class ErrorDetail(BaseModel):
    code: str = Field(description="machine-readable reason, e.g. not_found, validation_error")
    message: str
    field: str | None = Field(default=None, description="the offending input, when one is to blame")


class ErrorResponse(BaseModel):
    error: ErrorDetail


class ApiError(Exception):
    """An error raised by the API layer itself (auth, unknown queue in the path, reserved ids)."""

    def __init__(self, status: int, code: str, message: str, *, field: str | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.field, self.headers = status, code, message, field, headers


def error_json(status: int, code: str, message: str, field: str | None = None,
               headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "field": field}}
    return JSONResponse(body, status_code=status, headers=headers)


_DESCRIPTIONS = {
    400: "Malformed request",
    401: "Missing or invalid API key",
    403: "The API key's role does not allow this action",
    404: "Unknown queue, job, entry or group",
    405: "Method not allowed on this path",
    409: "The action does not fit the object's state",
    413: "Request body over the size limit",
    422: "Invalid input; `field` names it",
    503: "The Redis/Valkey server cannot be reached (`server_unavailable`) or its memory is full "
         "(`server_full`: nothing was written); retry after `Retry-After` seconds",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the given error statuses, all with the shared error shape."""
    return {s: {"model": ErrorResponse, "description": _DESCRIPTIONS[s]} for s in statuses}


_STATUS_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                 405: "method_not_allowed", 409: "conflict", 413: "payload_too_large", 422: "validation_error",
                 503: "server_unavailable"}


def _path_methods(app: FastAPI) -> list[tuple[int, re.Pattern[str], str]]:
    table = getattr(app.state, "allow_table", None)
    if table is None:
        table = []
        for path, ops in app.openapi().get("paths", {}).items():
            regex = re.compile("".join("[^/]+" if part.startswith("{") else re.escape(part)
                                       for part in re.split(r"(\{[^}]+\})", path)))
            methods = ", ".join(sorted(m.upper() for m in ops if m in _HTTP_METHODS))
            table.append((path.count("{"), regex, methods))
        table.sort(key=lambda row: row[0])
        app.state.allow_table = table
    return table


_HTTP_METHODS = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}


def _allow_header(request: Request, fallback: str = "") -> str:
    """Methods the OpenAPI document declares for the request's path; a literal path beats a template
    (as in OpenAPI), so /dead-letter/retry allows POST only although /dead-letter/{entryId} has GET."""
    path = request.scope.get("path", "")
    for _, regex, methods in _path_methods(request.app):
        if regex.fullmatch(path):
            return methods
    return fallback


def _validation_field(loc: tuple | list) -> str | None:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        where, parts = parts[0], parts[1:]
        if not parts:
            return "body" if where == "body" else None
    return ".".join(parts) or None


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        headers = exc.headers
        if exc.status == 405:
            headers = {**(headers or {}), "Allow": _allow_header(request)}
        return error_json(exc.status, exc.code, exc.message, exc.field, headers)

    @app.exception_handler(RequestValidationError)
    async def _request_validation(request: Request, exc: RequestValidationError):
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
        if first.get("type") == "json_invalid":
            return error_json(400, "bad_request", "the body is not valid JSON", "body")
        field = _validation_field(first.get("loc", ()))
        message = str(first.get("msg", "invalid request")).removeprefix("Value error, ")
        if field:
            message = f"{field}: {message}"
        return error_json(422, "validation_error", message, field)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        code = _STATUS_CODES.get(exc.status_code, "error")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = _allow_header(request, headers.get("Allow", ""))
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        field = "body" if exc.status_code == 400 else None  # FastAPI's "error parsing the body"
        return error_json(exc.status_code, code, message, field, headers or None)

    @app.exception_handler(UnknownQueueError)
    async def _unknown_queue(request: Request, exc: UnknownQueueError):
        # Reached only for queue names outside the path (filters, bodies): bad input, not a missing resource.
        return error_json(422, "validation_error", exc.message, exc.field)

    @app.exception_handler(ValidationError)
    async def _validation(request: Request, exc: ValidationError):
        return error_json(422, "validation_error", f"{exc.field}: {exc.message}", exc.field)

    @app.exception_handler(NotFoundError)
    async def _not_found(request: Request, exc: NotFoundError):
        return error_json(404, "not_found", str(exc))

    @app.exception_handler(ConflictError)
    async def _conflict(request: Request, exc: ConflictError):
        return error_json(409, "conflict", str(exc))

    @app.exception_handler(PermissionDenied)
    async def _denied(request: Request, exc: PermissionDenied):
        return error_json(403, "forbidden", str(exc))

    @app.exception_handler(ReplicationTimeoutError)
    async def _not_replicated(request: Request, exc: ReplicationTimeoutError):
        return error_json(503, "not_replicated", str(exc), headers={"Retry-After": "1"})

    @app.exception_handler(ServerUnavailableError)
    async def _unavailable(request: Request, exc: ServerUnavailableError):
        return error_json(503, "server_unavailable", "the Redis/Valkey server cannot be reached",
                          headers={"Retry-After": "5"})

    @app.exception_handler(ServerFullError)
    async def _full(request: Request, exc: ServerFullError):
        return error_json(503, "server_full", str(exc), headers={"Retry-After": str(exc.retry_after_s)})

    @app.exception_handler(ServerError)
    async def _server(request: Request, exc: ServerError):
        if is_out_of_memory(exc):  # another write (an audit entry, a control change) refused over maxmemory
            return await _full(request, ServerFullError())
        # Connection, timeout, loading, read-only replica, out of memory...: the server cannot serve now.
        log.warning("redis error on %s %s: %s", request.method, request.url.path, type(exc).__name__)
        return error_json(503, "server_unavailable", "the Redis/Valkey server cannot serve the request",
                          headers={"Retry-After": "5"})

    @app.exception_handler(EngineError)
    async def _engine(request: Request, exc: EngineError):
        log.warning("unmapped engine error on %s %s: %r", request.method, request.url.path, exc)
        return error_json(409, "conflict", str(exc))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_json(500, "internal_error", "internal error")
