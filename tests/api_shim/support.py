"""Helpers for the API tests: dead-letter some jobs with real (thread) workers."""
from __future__ import annotations

from engine import dead_letters
from tests.engine.support import put, thread_workers, wait_until


def dead(engine, queue: str, n: int = 1, func: str = "permanent", prefix: str | None = None) -> list[str]:
    """Enqueue n failing jobs and let a worker dead-letter them; returns their ids."""
    jobs = [put(engine, queue, func, {"i": i}, job_id=f"{prefix or queue}-dead-{i}") for i in range(n)]
    with thread_workers(engine, [queue]):
        wait_until(lambda: all(dead_letters.exists(j.id, engine=engine) for j in jobs), timeout_s=10)
    return [j.id for j in jobs]


def error_of(response) -> dict:
    """The shared error body; asserts its shape."""
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "field"}, body
    return body["error"]
