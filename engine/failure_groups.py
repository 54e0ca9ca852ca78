"""Normalised failure signatures: failures that differ only in ids and numbers group together."""
from __future__ import annotations

import hashlib
import re

_MASKS = (
    (re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"), "<uuid>"),
    (re.compile(r"\b[0-9a-fA-F]{16,}\b"), "<hex>"),
    (re.compile(r"\+?\b\d[\d.,:]*\b"), "<n>"),
    (re.compile(r"'[^']{0,200}'|\"[^\"]{0,200}\""), "<str>"),
    (re.compile(r"\b[\w.-]+@[\w.-]+\b"), "<email>"),
    (re.compile(r"\b[A-Za-z_-]*\d[\w-]*\b"), "<id>"),
)


def normalise(message: str) -> str:
    text = message.strip()[:500]
    for pattern, mask in _MASKS:
        text = pattern.sub(mask, text)
    return re.sub(r"\s+", " ", text)


def signature(error_type: str, message: str, function: str) -> tuple[str, str]:
    """(signature id, normalised message) for a failure."""
    normal = normalise(message)
    digest = hashlib.sha1(f"{error_type}|{normal}|{function}".encode()).hexdigest()[:16]
    return digest, normal


def list_groups(*, limit: int = 100, engine=None) -> list[dict]:
    """Failure groups, most recently seen first: count, first/last seen, queues, sample job ids,
    and how many of their jobs sit in the dead-letter queue now."""
    import json
    from . import keys
    from .app import resolve
    from .clock import ms_to_iso

    eng = resolve(engine)
    sigs = [s.decode() for s in eng.conn.zrevrange(keys.FAILURE_GROUPS, 0, limit - 1)]
    pipe = eng.conn.pipeline(transaction=False)
    for sig in sigs:
        pipe.hgetall(keys.failure_group(sig))
        pipe.zcard(keys.dlq_group(sig))
    out = pipe.execute()
    groups = []
    for i, sig in enumerate(sigs):
        f = {k.decode(): v.decode() for k, v in out[2 * i].items()}
        if not f:
            continue
        groups.append({
            "signature": sig, "type": f.get("type", ""), "message": f.get("message", ""),
            "function": f.get("function", ""), "count": int(f.get("count", 0)),
            "first_seen": ms_to_iso(f.get("first_ms", 0)), "last_seen": ms_to_iso(f.get("last_ms", 0)),
            "queues": {k[2:]: int(v) for k, v in f.items() if k.startswith("q:")},
            "sample_job_ids": json.loads(f.get("samples") or "[]"), "dead_lettered": out[2 * i + 1],
        })
    return groups
