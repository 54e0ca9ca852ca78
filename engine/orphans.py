"""A job the server leased to a worker in a call whose reply was lost (a network cut, a dropped
connection): the worker takes it up itself instead of leaving it to wait out the lease for the reaper."""
from __future__ import annotations

import logging

from . import keys
from .app import Engine

log = logging.getLogger("engine.worker")


def find(eng: Engine, worker_name: str, queues: list[str], *, skip: str | None = None) -> list | None:
    """The first job `worker_name` holds a lease on in `queues`, in the dequeue step's reply format
    ([queue, id, now, runs, wait, data, priority, enqueued_at]); None when there is none. `skip` is the
    job the worker last ran: a lease still held on it means its completion never arrived, and that run
    is left to the reaper (its outcome is unknown), as before."""
    pipe = eng.conn.pipeline(transaction=False)
    for q in queues:
        pipe.zrange(keys.active(q), 0, -1)
    for q, members in zip(queues, pipe.execute()):
        for member in members:
            job_id, holder = keys.parse_member(member)
            if holder != worker_name or job_id == skip:
                continue
            F = keys.JobField
            data, priority, enqueued, runs = eng.conn.hmget(keys.job(job_id), F.DATA, F.PRIORITY, F.ENQUEUED_AT,
                                                            F.RUNS)
            if data is None:  # the record is gone: the reaper drops the lease
                continue
            log.warning("job %s was leased to worker %s by a call whose reply was lost; running it", job_id,
                        worker_name)
            return [q.encode(), job_id.encode(), b"0", runs or b"1", b"0", data, priority or b"normal",
                    enqueued or b""]
    return None
