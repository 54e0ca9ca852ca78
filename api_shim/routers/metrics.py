"""Queue metrics now: every queue, or one."""
from __future__ import annotations

from fastapi import APIRouter

from engine import monitoring

from ..deps import EngineDep, QueueDep, ReadKey
from ..errors import error_responses
from ..models import AllMetrics, QueueMetrics

router = APIRouter(prefix="/api/v1/queue/metrics", tags=["metrics"])


@router.get("", response_model=AllMetrics, name="get_all_metrics", summary="All queues' metrics",
            responses=error_responses(401, 503))
def get_all_metrics(key: ReadKey, eng: EngineDep):
    return monitoring.get_all_metrics(engine=eng)


@router.get("/{queueName}", response_model=QueueMetrics, name="get_queue_metrics", summary="One queue's metrics",
            responses=error_responses(401, 404, 422, 503))
def get_queue_metrics(key: ReadKey, queue: QueueDep, eng: EngineDep):
    return monitoring.get_queue_metrics(queue, engine=eng)
