"""Runtime control of a queue: pause, resume, rate limit."""
from __future__ import annotations

from fastapi import APIRouter

from engine import control

from ..deps import QueueDep, WriteOp
from ..errors import error_responses
from ..models import QueueControl, RateLimitBody

router = APIRouter(prefix="/api/v1/queue/queues", tags=["queues"])


def _state(op, queue: str) -> dict:
    return {"queue": queue, **control.state(queue, engine=op.eng)}


@router.post("/{queueName}/pause", response_model=QueueControl, name="pause",
             summary="Pause a queue (running jobs finish; enqueueing still works)",
             responses=error_responses(401, 403, 404, 422, 503))
def pause(op: WriteOp, queue: QueueDep):
    op.pause(queue)
    return _state(op, queue)


@router.post("/{queueName}/resume", response_model=QueueControl, name="resume", summary="Resume a queue",
             responses=error_responses(401, 403, 404, 422, 503))
def resume(op: WriteOp, queue: QueueDep):
    op.resume(queue)
    return _state(op, queue)


@router.put("/{queueName}/rate-limit", response_model=QueueControl, name="rate_limit",
            summary="Change a queue's rate limit for every worker",
            responses=error_responses(400, 401, 403, 404, 413, 422, 503))
def set_rate_limit(op: WriteOp, queue: QueueDep, body: RateLimitBody):
    op.set_rate_limit(queue, body.limit, window_ms=body.window_ms)
    return _state(op, queue)
