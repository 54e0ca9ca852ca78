"""Checking job data against its queue's schema (QueuePolicy.schema), and job ids."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pydantic

from .errors import ValidationError

if TYPE_CHECKING:
    from .app import Engine

# A business id (order, account, reference): letters, digits, '_', '.', '-'
SAFE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"
# RQ 3 accepts only letters, digits, '_' and '-' in a job id: what a caller may give a new job
NEW_JOB_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$"
# Any job id: in cluster mode the engine's ids open with their queue's hash tag ({whatsapp}..., engine/keys.py)
JOB_ID_PATTERN = r"^(?:\{[A-Za-z][A-Za-z0-9_-]{0,63}\})?[A-Za-z0-9][A-Za-z0-9_-]{0,127}$"


class RunAt:
    """Field metadata (`Annotated[datetime, RunAt("At the expiry time")]`): forms offer to run the job at
    this field's time, under `label`, and choose it by default."""

    def __init__(self, label: str):
        self.label = label

    def __repr__(self) -> str:
        return f"RunAt({self.label!r})"


def validate_with(schema: type[pydantic.BaseModel], data: Any) -> dict[str, Any]:
    """Check `data` against `schema`; return it as JSON-ready values. ValidationError names the first bad field."""
    if not isinstance(data, dict):
        raise ValidationError("data", "must be an object")
    try:
        model = schema.model_validate(data)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "data"
        raise ValidationError(field, first["msg"]) from None
    return model.model_dump(mode="json", exclude_none=True)


def validate_data(eng: "Engine", queue: str, data: Any) -> dict[str, Any]:
    """Check `data` against the queue's schema in the engine's table; UnknownQueueError for another name."""
    return validate_with(eng.table[queue].schema, data)


def check_job_id(job_id: str) -> str:
    if not isinstance(job_id, str) or not re.fullmatch(JOB_ID_PATTERN, job_id):
        raise ValidationError("job_id", "must be 1-128 letters, digits, '_' or '-', starting with a letter or digit")
    return job_id


def check_new_job_id(job_id: str, queue: str, cluster: bool) -> str:
    """A caller's id for a new job on `queue`: RQ's letters, digits, '_' and '-'; in cluster mode it may
    already carry the queue's own tag (a re-send of an id the engine returned), never another queue's."""
    plain = job_id.removeprefix(f"{{{queue}}}") if cluster and isinstance(job_id, str) else job_id
    if not isinstance(plain, str) or not re.fullmatch(NEW_JOB_ID_PATTERN, plain):
        raise ValidationError("job_id", "must be 1-128 letters, digits, '_' or '-', starting with a letter or digit")
    return job_id
