"""Metrics history of one queue, as JSON rows or CSV."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from engine import export, metrics

from ..deps import EngineDep, QueueDep, ReadKey
from ..errors import error_responses
from ..models import History, Resolution, SinceEpoch

router = APIRouter(prefix="/api/v1/queue/metrics", tags=["history"])

MAX_BUCKETS = 20_000  # the engine's limit per call
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime
    resolution: str
    truncated: bool
    empty: bool


def window(
    start: Annotated[SinceEpoch, Query(description="first bucket (default: one hour before end)")] = None,
    end: Annotated[SinceEpoch, Query(description="last bucket (default and latest: now)")] = None,
    resolution: Annotated[Resolution, Query(description="m, h or d; default chosen from the window "
                                                        "(minutes up to 48 h, hours up to 90 days)")] = None,
) -> Window:
    """The window clipped to [1970, now]; an end before the start is an empty window. A window with more
    than 20000 buckets at the resolution keeps the 20000 buckets nearest its end (truncated=true)."""
    now = datetime.now(timezone.utc)
    end = min(end, now) if end is not None else now
    start = start if start is not None else end - timedelta(hours=1)
    start = max(start, EPOCH)
    if end < start:
        return Window(start, end, resolution or "m", False, True)
    resolution = resolution or metrics.resolution_for((end - start).total_seconds())
    earliest = end - timedelta(seconds=(MAX_BUCKETS - 1) * metrics.RESOLUTION_S[resolution])
    truncated = start < earliest
    return Window(max(start, earliest), end, resolution, truncated, False)


WindowDep = Annotated[Window, Depends(window)]


@router.get("/{queueName}/history", response_model=History, name="get_history",
            summary="Counters and run/wait percentiles per time bucket",
            responses=error_responses(401, 404, 422, 503))
def get_history(key: ReadKey, queue: QueueDep, eng: EngineDep, w: WindowDep):
    rows = [] if w.empty else metrics.history(queue, start=w.start, end=w.end, resolution=w.resolution, engine=eng)
    return {"queue": queue, "resolution": w.resolution, "start": w.start, "end": w.end, "truncated": w.truncated,
            "rows": rows}


@router.get("/{queueName}/history.csv", name="get_history_csv", summary="Metrics history as CSV",
            response_class=Response,
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "CSV"},
                       **error_responses(401, 404, 422, 503)})
def get_history_csv(key: ReadKey, queue: QueueDep, eng: EngineDep, w: WindowDep):
    if w.empty:
        body = export.to_csv([], export.HISTORY_COLUMNS)
    else:
        body = export.history_csv([queue], start=w.start, end=w.end, resolution=w.resolution, engine=eng)
    return Response(body, media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{queue}-history.csv"'})
