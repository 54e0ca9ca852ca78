"""Hooks named for the events of a job's life; each does nothing by default.

Subclass Hooks and pass an instance to the Worker to observe or extend it.
"""
from __future__ import annotations

from typing import Any

from rq.job import Job


class Hooks:
    def before_job(self, job: Job, queue: str) -> None:
        """Called just before the processor runs."""

    def after_job(self, job: Job, queue: str, result: Any) -> None:
        """Called when the processor returned, just before the completion is recorded."""

    def on_failure(self, job_id: str, queue: str, error: dict, action: str) -> None:
        """Called after a failed run was recorded; action is retry, pressure or dead."""

    def on_final_failure(self, job_id: str, queue: str, error: dict) -> None:
        """Called after a job moved to the dead-letter queue."""
