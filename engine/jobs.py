"""Turning a stored job hash back into an RQ Job, and importing processors once."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable

from rq.job import Job
from rq.serializers import JSONSerializer
from rq.utils import import_attribute

from .app import Engine
from .job_view import payload_parts


def rq_job(conn: Any, job_id: str, *, load: bool = True) -> Job:
    """RQ's Job of `job_id` (loaded unless load=False; NoSuchJobError when missing). RQ's constructor
    refuses a cluster-mode id's hash-tag braces; its key, refresh and save take them."""
    job = Job(connection=conn, serializer=JSONSerializer)
    job._id = job_id
    if load:
        job.refresh()
    return job


def from_fields(eng: Engine, job_id: str, raw: dict[bytes, bytes] | list) -> tuple[Job, dict[str, str]]:
    """(Job, text fields) from HGETALL output (a dict or a flat list)."""
    if isinstance(raw, list):
        raw = dict(zip(raw[::2], raw[1::2]))
    job = rq_job(eng.conn, job_id, load=False)
    job.restore(raw)
    text = {k.decode(): v.decode(errors="replace") for k, v in raw.items() if k != b"data"}
    return job, text


@dataclass
class RunningJob:
    """What the worker needs of a job on the hot path, decoded straight from RQ's JSON payload
    (RQ's Job.restore parses dates and checks the serializer on every call: ~100 us a job)."""

    id: str
    queue: str
    func_name: str
    args: list
    kwargs: dict
    fields: dict[str, str]
    connection: Any

    @classmethod
    def from_raw(cls, eng: Engine, job_id: str, queue: str, raw: list | dict) -> "RunningJob":
        if isinstance(raw, list):
            raw = dict(zip(raw[::2], raw[1::2]))
        func_name, _instance, args, kwargs = payload_parts(raw.get(b"data", b""))
        fields = {k.decode(): v.decode(errors="replace") for k, v in raw.items() if k != b"data"}
        return cls(job_id, queue, func_name, list(args or []), dict(kwargs or {}), fields, eng.conn)

    def rq_job(self) -> Job:
        """The full RQ Job, for hooks that want it."""
        return rq_job(self.connection, self.id)


@lru_cache(maxsize=256)
def processor(func_name: str) -> Callable[..., Any]:
    """The processor a queue table names (the worker never passes a name taken from a job)."""
    return import_attribute(func_name)
