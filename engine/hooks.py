"""Hooks named for the events of a job's life; each does nothing by default.

Subclass Hooks and name it in ENGINE_HOOKS=module:Class: every worker, reaper and scheduler of that
engine uses the one instance (Engine.hooks), so on_final_failure fires wherever a job dead-letters.
"""
from __future__ import annotations

import importlib
from typing import Any

from rq.job import Job

from .errors import ConfigError


class Hooks:
    def before_job(self, job: Job, queue: str) -> None:
        """Called just before the processor runs."""

    def after_job(self, job: Job, queue: str, result: Any) -> None:
        """Called when the processor returned, just before the completion is recorded."""

    def on_failure(self, job_id: str, queue: str, error: dict, action: str) -> None:
        """Called after a failed run was recorded; action is retry, pressure or dead."""

    def on_final_failure(self, job_id: str, queue: str, error: dict) -> None:
        """Called after a job moved to the dead-letter queue."""


def load_hooks(spec: str | None, *, source: str = "ENGINE_HOOKS") -> Hooks:
    """An instance of the Hooks subclass named `module:Class`; the no-op Hooks when unset."""
    if not spec:
        return Hooks()
    module, sep, name = spec.partition(":")
    if not sep or not module or not name:
        raise ConfigError(f"{source} {spec!r}: expected module:Class")
    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"{source} {spec!r}: {exc}") from None
    if not (isinstance(cls, type) and issubclass(cls, Hooks)):
        raise ConfigError(f"{source} {spec!r}: {name} is not a subclass of engine.hooks.Hooks")
    return cls()
