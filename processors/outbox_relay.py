"""The outbox relay: enqueue each unsent domain/job_outbox row under its own job id, then mark it sent.

Runs as its own process (`python -m processors.outbox_relay`, started by `make run`) every
OUTBOX_RELAY_INTERVAL_S, and on demand for the rows a processor has just committed (send_now), so
notices go out at once and the loop is the safety net. Enqueue before mark-sent: a kill in between
re-sends the row, and the enqueue step's job-id dedupe makes that a no-op; a kill before the
enqueue leaves the row unsent for the next pass. Nothing is lost and nothing is enqueued twice.
"""
from __future__ import annotations

import logging
import os
import signal
import threading
from dataclasses import dataclass, field
from datetime import datetime

from engine import helpers
from engine.app import Engine, resolve
from engine.errors import PermanentError, ValidationError

from domain import job_outbox
from domain.clock import utcnow
from domain.db import session_scope
from domain.settings import DomainSettings, resolve_settings

log = logging.getLogger("processors.outbox_relay")
CRASH_EXIT = 70
BATCH = 500


@dataclass
class Relayed:
    """What one relay pass did: job ids enqueued (or found already there), and rows refused for good."""

    sent: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)


def relay(settings: DomainSettings | None = None, *, engine: Engine | None = None,
          job_ids: list[str] | None = None, now: datetime | None = None, limit: int = BATCH) -> Relayed:
    """One pass over the unsent rows (only `job_ids` when given). Server errors propagate: the rows
    stay unsent. A row whose data the queue refuses is marked refused, never retried."""
    settings = resolve_settings(settings)
    eng = resolve(engine)
    with session_scope(settings.database_url, readonly=True) as session:
        rows = job_outbox.unsent(session, limit=limit, job_ids=job_ids)
    done = Relayed()
    for row in rows:
        try:
            helpers.add_job(row.queue, row.data, run_at=row.run_at, delay=row.delay_s, job_id=row.job_id, engine=eng)
        except ValidationError as exc:
            done.refused[row.job_id] = str(exc)
            continue
        done.sent.append(row.job_id)
    if settings.outbox_relay_crash_at == "after-enqueue" and rows:
        os._exit(CRASH_EXIT)
    if done.sent or done.refused:
        with session_scope(settings.database_url) as session:
            job_outbox.mark_sent(session, done.sent, now or utcnow())
            for job_id, error in done.refused.items():
                job_outbox.mark_refused(session, job_id, error)
    for job_id, error in done.refused.items():
        log.error("outbox row %s refused by the queue: %s", job_id, error)
    return done


def send_now(job_ids: list[str], settings: DomainSettings | None = None, *, engine: Engine | None = None) -> None:
    """Relay the rows a job has just committed; a row the queue refuses can never succeed: permanent."""
    done = relay(settings, engine=engine, job_ids=job_ids)
    if done.refused:
        job_id, error = next(iter(done.refused.items()))
        raise PermanentError(f"cannot enqueue notice {job_id}: {error}")


def run_forever(settings: DomainSettings | None = None, *, engine: Engine | None = None,
                stop: threading.Event | None = None) -> None:
    """Relay every interval until `stop` is set; errors are logged and the loop goes on."""
    settings = resolve_settings(settings)
    stop = stop or threading.Event()
    while not stop.is_set():
        try:
            done = relay(settings, engine=engine)
            if done.sent:
                log.info("relayed %d outbox row(s)", len(done.sent))
            if len(done.sent) + len(done.refused) >= BATCH:
                continue  # more waiting: no pause
        except Exception:
            log.exception("outbox relay pass failed; retrying")
        stop.wait(settings.outbox_relay_interval_s)


def main() -> int:
    """`python -m processors.outbox_relay`: run until SIGTERM/SIGINT."""
    from engine.app import set_default_engine

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    set_default_engine(Engine.from_settings())
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    run_forever(DomainSettings(), stop=stop)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
