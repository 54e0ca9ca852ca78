"""Job log lines of one process's running jobs, written in batches (flat combining, like engine/batching.py).

A slot that logs only queues its lines and returns. A flusher thread writes what is queued every
LOG_LINGER_S, in one pipeline, so fifty slots logging before their sends cost about one round trip per
linger, not one each. A run's lines are stored before its outcome: the worker calls `settle` first, which
writes the job's lines at once if the flusher has not (the outcome's Lua step gives the log key its TTL).
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter

import redis

from . import keys
from .errors import EngineError

log = logging.getLogger(__name__)

LOG_MAX_LINES = 200
WRITE_ROUNDS = 8  # a writer serves at most this many rounds of late arrivals, then leaves them to the next caller
SETTLE_TIMEOUT_S = 5.0
LOG_LINGER_S = 0.05  # a line reaches the server at most this late (earlier if its run ends first)
FLUSHER_IDLE_S = 5.0  # a flusher with nothing queued this long ends; the next line starts another


class LogWriter:
    """One per engine (its connection); `append` and `settle` are called from the slots' threads."""

    def __init__(self, conn: redis.Redis) -> None:
        self._conn = conn
        self._mu = threading.Lock()
        self._written = threading.Condition(self._mu)
        self._queued_cv = threading.Condition(self._mu)
        self._queued: list[tuple[str, list[str]]] = []
        self._unwritten: Counter[str] = Counter()  # job id -> batches queued or in flight
        self._logged: set[str] = set()  # jobs given lines since their last settle
        self._writing = False
        self._flusher_pid: int | None = None  # the process whose flusher runs (a fork has none)

    def append(self, job_id: str, lines: list[str]) -> None:
        """Queue the lines for the job's log and return: the flusher writes them within LOG_LINGER_S."""
        with self._mu:
            self._queued.append((job_id, lines))
            self._logged.add(job_id)
            self._unwritten[job_id] += 1
            if self._flusher_pid != os.getpid():
                self._flusher_pid = os.getpid()
                threading.Thread(target=self._flush_loop, name="jq-log-flusher", daemon=True).start()
            elif len(self._queued) == 1:
                self._queued_cv.notify()

    def _flush_loop(self) -> None:
        while True:
            with self._mu:
                if not self._queued and not self._queued_cv.wait_for(lambda: self._queued, FLUSHER_IDLE_S):
                    self._flusher_pid = None
                    return
            time.sleep(LOG_LINGER_S)  # let the other slots' lines join this write
            with self._mu:
                if self._writing or not self._queued:  # a settling slot writes them (or already has)
                    continue
                self._writing = True
            self._write_rounds()

    def settle(self, job_id: str) -> bool:
        """Return once every line queued for the job is stored (or dropped on a server error); bounded.
        True when lines were queued for it since its last settle (its log key may exist)."""
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        with self._mu:
            while self._unwritten[job_id] and time.monotonic() < deadline:
                if self._writing:
                    self._written.wait(timeout=max(0.0, deadline - time.monotonic()))
                    continue
                self._writing = True  # not flushed yet (or left by a writer out of rounds): write them now
                self._mu.release()
                try:
                    self._write_rounds()
                finally:
                    self._mu.acquire()
            self._unwritten.pop(job_id, None)
            if job_id in self._logged:
                self._logged.discard(job_id)
                return True
            return False

    def _write_rounds(self) -> None:
        try:
            for _ in range(WRITE_ROUNDS):
                with self._mu:
                    batch, self._queued = self._queued, []
                if not batch:
                    return
                try:
                    self._store(batch)
                finally:
                    with self._mu:
                        self._unwritten.subtract(job_id for job_id, _ in batch)
                        self._written.notify_all()
        finally:
            with self._mu:
                self._writing = False

    def _store(self, batch: list[tuple[str, list[str]]]) -> None:
        pipe = self._conn.pipeline(transaction=False)
        for job_id, lines in batch:
            key = keys.job_log(job_id)
            pipe.rpush(key, *lines)
            pipe.ltrim(key, -LOG_MAX_LINES, -1)
        try:
            pipe.execute()
        except (EngineError, redis.RedisError) as exc:  # a log line is not worth failing a job over
            log.warning("dropped %d job log line(s): %s", sum(len(lines) for _, lines in batch), exc)
