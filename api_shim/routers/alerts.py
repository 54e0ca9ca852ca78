"""Alerts: the history of alerts sent (or not) to ALERT_WEBHOOK_URL, and the conditions firing now."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from engine import alerts

from ..deps import EngineDep, ReadKey
from ..errors import error_responses
from ..models import AlertEntry, FiringAlert, Items

router = APIRouter(prefix="/api/v1/queue", tags=["alerts"])


@router.get("/alerts", response_model=Items[AlertEntry], name="list_alerts",
            summary="Alert history with each alert's delivery outcome, newest first",
            responses=error_responses(401, 422, 503))
def list_alerts(key: ReadKey, eng: EngineDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100):
    return {"items": alerts.history(eng, limit=limit)}


@router.get("/alerts/firing", response_model=Items[FiringAlert], name="firing_alerts",
            summary="Conditions firing now, oldest first", responses=error_responses(401, 503))
def firing_alerts(key: ReadKey, eng: EngineDep):
    return {"items": alerts.firing(eng)}
