"""New job ids. In cluster mode an id opens with its queue's hash tag (`{whatsapp}3f2a...`), so the job's
hash, attempts, log and dead-letter entry (engine/keys.py) all land in its queue's slot."""
from __future__ import annotations

import re
import uuid

from . import keys

JOB_TAG = re.compile(r"\{([A-Za-z][A-Za-z0-9_-]{0,63})\}")


def new_job_id(queue: str, job_id: str | None = None) -> str:
    """The id of a new job on `queue`: the caller's (validated elsewhere) or a fresh one; in cluster mode
    prefixed with the queue's hash tag (unless it already has it)."""
    job_id = job_id or uuid.uuid4().hex
    tag = "{%s}" % queue
    if not keys.cluster() or job_id.startswith(tag):
        return job_id
    return tag + job_id


def queue_of(job_id: str) -> str | None:
    """The queue a cluster-mode job id's tag names (`{whatsapp}...` -> whatsapp), else None."""
    found = JOB_TAG.match(job_id)
    return found.group(1) if found else None


def in_queue(queue: str, job_id: str) -> str:
    """The id a caller names on `queue`: in cluster mode a plain id (a caller's own, as it gave it) means
    the queue's tagged one; an id with a tag is taken as it is."""
    return "{%s}%s" % (queue, job_id) if keys.cluster() and queue_of(job_id) is None else job_id
