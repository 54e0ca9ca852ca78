"""The job outbox: jobs a domain change asks for, written in the change's own transaction."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class OutboxJob(Base):
    """One job to enqueue: the queue, its data and when it is due (run_at, delay_s or at once); `job_id` is
    the queue's job id too.

    The relay (processors/outbox_relay.py) enqueues it and then sets `sent_at`; a row the queue
    refuses for good (invalid data) keeps `sent_at` empty and gets `error`."""

    __tablename__ = "job_outbox"

    job_id: Mapped[str] = mapped_column(String(160), primary_key=True)
    queue: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict] = mapped_column(JSON)
    run_at: Mapped[datetime | None]  # due at this instant, or
    delay_s: Mapped[float | None]  # due this long after the relay enqueues it
    created_at: Mapped[datetime] = mapped_column(index=True)
    sent_at: Mapped[datetime | None] = mapped_column(index=True)
    error: Mapped[str | None] = mapped_column(Text)
