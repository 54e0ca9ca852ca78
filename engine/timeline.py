"""A job's history, and the history of every job about an order, a phone or a retailer, in time order.

Read from what the engine keeps anyway: the job hash (enqueue, last start, end, cancel request), every
attempt's error (jq:attempts:<id>), the dead-letter entry and the audit log (retries, edits, cancels,
deletes). Runs that succeeded before a later retry leave no record of their own, only the last run does.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from . import keys
from .app import Engine, resolve
from .clock import ms_to_iso
from .errors import NotFoundError
from .job_ids import in_queue
from .schemas import check_job_id
from .search import KEY_PARAMS, SearchFilter, iter_matches

F = keys.JobField
AUDIT_SCAN_MAX = 20_000
_AUDIT_EVENTS = {"retry": "retried", "dead_letter_retry": "retried", "cancel": "cancel_requested",
                 "delete": "deleted", "dead_letter_delete": "deleted"}


def _event(at_ms: int, event: str, queue: str, job_id: str, run: int | None = None, detail: str = "") -> dict:
    return {"at": ms_to_iso(at_ms), "at_ms": int(at_ms), "event": event, "queue": queue, "job_id": job_id,
            "run": run, "detail": detail}


def _rq_time_ms(text: str | None) -> int | None:
    if not text:
        return None
    try:
        return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return None


def _read(eng: Engine, job_ids: list[str]) -> list[tuple[dict, list[bytes], dict]]:
    pipe = eng.conn.pipeline(transaction=False)
    for job_id in job_ids:
        pipe.hgetall(keys.job(job_id))
        pipe.lrange(keys.attempts(job_id), 0, -1)
        pipe.hgetall(keys.dlq_entry(job_id))
    out = pipe.execute()
    return [(out[i], out[i + 1], out[i + 2]) for i in range(0, len(out), 3)]


def _job_events(job_id: str, raw: dict, attempts: list[bytes], entry: dict) -> list[dict[str, Any]]:
    f = {k.decode(): v.decode(errors="replace") for k, v in raw.items() if k != F.DATA.encode()}
    e = {k.decode(): v.decode(errors="replace") for k, v in entry.items()}
    queue = f.get(F.ORIGIN) or e.get("queue", "")
    status = f.get(F.STATUS, "failed" if e else "")
    events = []
    enq = _rq_time_ms(f.get(F.ENQUEUED_AT) or e.get("enqueued_at"))
    if enq is not None:
        events.append(_event(enq, "enqueued", queue, job_id, detail=f"priority {f.get(F.PRIORITY, 'normal')}"))
    errors = [json.loads(a) for a in attempts]
    for n, err in enumerate(errors):
        at = int(float(err.get("time") or 0) * 1000)
        if err.get("type") == "JobCancelled":
            events.append(_event(at, "cancelled", queue, job_id, err.get("run"), err.get("message", "")))
            continue
        events.append(_event(at, "failed", queue, job_id, err.get("run"),
                             f"{err.get('type', '')}: {err.get('message', '')}"))
        last = n == len(errors) - 1
        run = int(err.get("run") or 0)
        later_run = int(errors[n + 1].get("run") or 0) > run if not last else int(f.get(F.RUNS) or 0) > run
        if later_run or (last and status == "scheduled"):
            events.append(_event(at, "retry_scheduled", queue, job_id, err.get("run"),
                                 f"run {int(err.get('run') or 0) + 1} to follow"))
    if f.get(F.STARTED_MS):
        events.append(_event(int(f[F.STARTED_MS]), "started", queue, job_id, int(f.get(F.RUNS) or 0),
                             f"worker {f.get(F.WORKER_NAME, '')}".strip()))
    if status == "finished" and f.get(F.ENDED_MS):
        events.append(_event(int(f[F.ENDED_MS]), "completed", queue, job_id, int(f.get(F.RUNS) or 0),
                             (f.get(F.RESULT) or "")[:300]))
    if status == "canceled" and not any(x.get("type") == "JobCancelled" for x in errors):
        events.append(_event(int(f.get(F.ENDED_MS) or f.get(F.CANCEL_MS) or 0), "cancelled", queue,
                             job_id, detail="before it ran"))
    if e.get("dead_ms"):
        events.append(_event(int(e["dead_ms"]), "dead_lettered", queue, job_id, int(e.get("runs") or 0),
                             f"{e.get('error_type', '')}: {e.get('error_message', '')}"))
    elif f.get(F.DEAD_MS):
        events.append(_event(int(f[F.DEAD_MS]), "dead_lettered", queue, job_id,
                             detail="later retried by an operator"))
    return events


def _audit_events(eng: Engine, targets: dict[str, str], since_ms: int) -> list[dict[str, Any]]:
    """Operator actions on the given jobs (id -> queue), scanning the audit log from `since_ms` (bounded);
    in cluster mode each queue's stream too."""
    return [e for stream in keys.audit_streams(eng.table.names) for e in _stream_events(eng, stream, targets, since_ms)]


def _stream_events(eng: Engine, stream: str, targets: dict[str, str], since_ms: int) -> list[dict[str, Any]]:
    out, start, scanned = [], str(max(0, since_ms - 1000)), 0
    while scanned < AUDIT_SCAN_MAX:
        batch = eng.conn.xrange(stream, min=start, max="+", count=1000)
        if not batch:
            break
        scanned += len(batch)
        for entry_id, raw in batch:
            f = {k.decode(): v.decode(errors="replace") for k, v in raw.items()}
            job_id = f.get("target", "")
            if job_id not in targets or f.get("action") not in _AUDIT_EVENTS:
                continue
            at = int(entry_id.decode().split("-")[0])
            details = json.loads(f.get("details") or "{}")
            who = f"{f.get('actor', '')} ({f.get('source', '')}): {f.get('outcome', '')}"
            out.append(_event(at, _AUDIT_EVENTS[f["action"]], targets[job_id], job_id, detail=who))
            if "data_after" in details and f.get("outcome") == "ok":
                out.append(_event(at, "data_edited", targets[job_id], job_id,
                                  detail=f"{json.dumps(details.get('data_before'))} -> "
                                         f"{json.dumps(details.get('data_after'))}"[:1000]))
        start = "(" + batch[-1][0].decode()
        if len(batch) < 1000:
            break
    return out


def _collect(eng: Engine, job_ids: list[str]) -> list[dict[str, Any]]:
    events, targets, since = [], {}, None
    for job_id, (raw, attempts, entry) in zip(job_ids, _read(eng, job_ids)):
        if not raw and not entry:
            continue
        mine = _job_events(job_id, raw, attempts, entry)
        events += mine
        targets[job_id] = mine[0]["queue"] if mine else ""
        first = min((ev["at_ms"] for ev in mine), default=None)
        since = first if since is None or (first is not None and first < since) else since
    if targets:
        events += _audit_events(eng, targets, since or 0)
    events.sort(key=lambda ev: ev["at_ms"])  # stable: one job's events keep their logical order
    return events


def job_events(queue_name: str, job_id: str, *, engine: Engine | None = None) -> list[dict[str, Any]]:
    """Everything that happened to one job, oldest first."""
    eng = resolve(engine)
    eng.table[queue_name]
    job_id = in_queue(queue_name, check_job_id(job_id))  # cluster mode: a plain id is the queue's
    events = _collect(eng, [job_id])
    if not events or events[0]["queue"] != queue_name:
        raise NotFoundError(f"job {job_id!r} not found on {queue_name}")
    return events


def key_events(kind: str, value: str, *, max_jobs: int = 200, engine: Engine | None = None) -> list[dict[str, Any]]:
    """Everything that happened to the (newest `max_jobs`) jobs about one business key, oldest first.
    `kind` is order, phone, retailer, wholesaler or account; the value is read as search reads it."""
    eng = resolve(engine)
    param = {k: p for p, k in KEY_PARAMS.items()}.get(kind)
    if param is None:
        from .errors import ValidationError

        raise ValidationError("kind", f"must be one of {', '.join(KEY_PARAMS.values())}")
    job_ids = []
    for _pos, item in iter_matches(SearchFilter(**{param: value}), engine=eng):
        job_ids.append(item["id"])
        if len(job_ids) >= max_jobs:
            break
    return _collect(eng, job_ids)
