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
    queues = eng.table.names if keys.cluster() else [None]  # cluster mode: a group's parts, one per queue slot
    pipe = eng.conn.pipeline(transaction=False)
    for q in queues:
        pipe.zrevrange(keys.failure_groups(q), 0, limit - 1, withscores=True)
    seen: dict[str, float] = {}
    for part in pipe.execute():
        for sig, score in part:
            seen[sig.decode()] = max(score, seen.get(sig.decode(), score))
    sigs = sorted(seen, key=lambda s: -seen[s])[:limit]
    for sig in sigs:
        for q in queues:
            pipe.hgetall(keys.failure_group(sig, q))
            pipe.zcard(keys.dlq_group(sig, q))
    out = pipe.execute()
    groups = []
    for i, sig in enumerate(sigs):
        parts = out[2 * len(queues) * i: 2 * len(queues) * (i + 1)]
        found = [{k.decode(): v.decode() for k, v in raw.items()} for raw in parts[0::2] if raw]
        if not found:
            continue
        f = found[0]
        samples = [j for part in found for j in json.loads(part.get("samples") or "[]")]
        queue_counts: dict[str, int] = {}
        for part in found:
            for k, v in part.items():
                if k.startswith("q:"):
                    queue_counts[k[2:]] = queue_counts.get(k[2:], 0) + int(v)
        groups.append({
            "signature": sig, "type": f.get("type", ""), "message": f.get("message", ""),
            "function": f.get("function", ""), "count": sum(int(p.get("count", 0)) for p in found),
            "first_seen": ms_to_iso(min(int(p.get("first_ms", 0)) for p in found)),
            "last_seen": ms_to_iso(max(int(p.get("last_ms", 0)) for p in found)),
            "queues": queue_counts, "sample_job_ids": samples[:5], "dead_lettered": sum(parts[1::2]),
        })
    return groups


def group_exists(eng, sig: str) -> bool:
    """True when the failure group is known (in cluster mode: on any queue's slot)."""
    from . import keys

    queues = eng.table.names if keys.cluster() else [None]
    return bool(eng.conn.exists(*sorted({keys.failure_group(sig, q) for q in queues})))
