"""One job as the support desk sees it, read in bulk: state across every place a job can be, data, last error."""
from __future__ import annotations

import json
import zlib
from typing import Any

from . import keys
from .app import Engine
from .clock import ms_to_iso

F = keys.JobField

STATES = ("waiting", "scheduled", "active", "finished", "failed", "dead_lettered", "cancelled")
STATE_OF_STATUS = {"queued": "waiting", "scheduled": "scheduled", "started": "active", "finished": "finished",
                   "failed": "failed", "canceled": "cancelled"}


def payload_parts(payload: bytes) -> list:
    """RQ's stored payload as [func, instance, args, kwargs]: JSON, zlib-compressed as RQ writes it, or
    plain as enqueue stores small payloads (RQ's Job.restore reads both)."""
    if payload[:1] != b"[":
        payload = zlib.decompress(payload)
    return json.loads(payload)


def decode_payload(payload: bytes) -> dict[str, Any]:
    """The job's data (keyword arguments) from RQ's stored payload; {} when it cannot be read."""
    try:
        _func, _instance, _args, kwargs = payload_parts(payload)
    except (ValueError, TypeError, zlib.error):
        return {}
    return dict(kwargs or {})


def _error(raw: bytes | None) -> dict[str, Any] | None:
    if not raw:
        return None
    try:
        e = json.loads(raw)
    except ValueError:
        return None
    return {"type": e.get("type", ""), "message": e.get("message", ""), "run": e.get("run"),
            "time": ms_to_iso(float(e.get("time") or 0) * 1000)}


def load(eng: Engine, ids: list[str], *, all_errors: bool = False) -> dict[str, dict[str, Any] | None]:
    """id -> item (None when neither the job nor a dead-letter entry exists), in three pipelined reads a job."""
    pipe = eng.conn.pipeline(transaction=False)
    for job_id in ids:
        pipe.hgetall(keys.job(job_id))
        pipe.hgetall(keys.dlq_entry(job_id))
        if all_errors:
            pipe.lrange(keys.attempts(job_id), 0, -1)
        else:
            pipe.lindex(keys.attempts(job_id), -1)
    out = pipe.execute()
    items: dict[str, dict[str, Any] | None] = {}
    for i, job_id in enumerate(ids):
        raw, entry, errs = out[3 * i: 3 * i + 3]
        errors = errs if all_errors else ([errs] if errs else [])
        items[job_id] = _item(job_id, raw, entry, errors)
    return items


def _item(job_id: str, raw: dict, entry: dict, errors: list[bytes]) -> dict[str, Any] | None:
    if not raw and not entry:
        return None
    f = {k.decode(): v.decode(errors="replace") for k, v in raw.items() if k != F.DATA.encode()}
    e = {k.decode(): v.decode(errors="replace") for k, v in entry.items()}
    if raw:
        data = decode_payload(raw.get(F.DATA.encode(), b""))
        status = f.get(F.STATUS, "")
        state = "dead_lettered" if entry else STATE_OF_STATUS.get(status, status)
    else:  # only the dead-letter entry is left
        data = json.loads(e.get("data") or "{}")
        status, state = "failed", "dead_lettered"
    last = _error(errors[-1]) if errors else None
    if last is None and e.get("error_type"):
        last = {"type": e["error_type"], "message": e.get("error_message", ""), "run": int(e.get("runs") or 0),
                "time": ms_to_iso(e.get("dead_ms"))}
    return {
        "queue": f.get(F.ORIGIN) or e.get("queue", ""),
        "id": job_id,
        "state": state,
        "status": status,
        "priority": f.get(F.PRIORITY) or json.loads(e.get("options") or "{}").get("priority", "normal"),
        "runs": int(f.get(F.RUNS) or e.get("runs") or 0),
        "enqueued_at": f.get(F.ENQUEUED_AT) or e.get("enqueued_at") or None,
        "started_at": ms_to_iso(f.get(F.STARTED_MS)),
        "ended_at": ms_to_iso(f.get(F.ENDED_MS) or e.get("dead_ms")),
        "data": data,
        "last_error": last,
        "cancel_requested": bool(f.get(F.CANCEL_MS)),
        "_errors": [m for m in (_error(x) for x in errors) if m] + (
            [{"type": e["error_type"], "message": e.get("error_message", "")}] if e.get("error_type") else []),
    }


def error_text(item: dict[str, Any]) -> str:
    """Every recorded error's type and message, lower-cased, for word search."""
    return " ".join(f"{x.get('type', '')} {x.get('message', '')}" for x in item.get("_errors", [])).lower()


def public(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if not k.startswith("_")}
