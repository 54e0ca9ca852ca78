"""Open routes for load balancers and Prometheus: no key, no job data."""
from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from engine import monitoring, prometheus
from engine.errors import ServerError

from ..deps import EngineDep
from ..errors import error_responses
from ..models import Health

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, name="healthz", summary="Server reachable; workers alive per queue",
            responses={503: {"model": Health, "description": "the Redis/Valkey server cannot be reached"}})
def healthz(eng: EngineDep):
    try:
        live = monitoring.workers(engine=eng)
    except ServerError:
        body = Health(status="unavailable", server="unreachable",
                      queues={q: {"workers": 0, "alive": False} for q in eng.table.names})
        return JSONResponse(body.model_dump(), status_code=503, headers={"Retry-After": "5"})
    counts = {q: sum(1 for w in live if q in w["queues"]) for q in eng.table.names}
    queues = {q: {"workers": n, "alive": n > 0} for q, n in counts.items()}
    return Health(status="ok" if all(counts.values()) else "degraded", server="reachable", queues=queues)


@router.get("/metrics", name="prometheus", summary="Prometheus text exposition", response_class=Response,
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}},
                             "description": "Prometheus text format"},
                       **error_responses(503)})
def prometheus_metrics(eng: EngineDep):
    return Response(prometheus.exposition(engine=eng), media_type="text/plain; version=0.0.4; charset=utf-8")
