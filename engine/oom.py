"""Riding out a full server: a process backs off, logs once per episode and recovers by itself.

With `maxmemory-policy noeviction` a full server refuses commands that could grow memory
(redis-py raises OutOfMemoryError). Workers and the scheduler keep running through that: they
skip the refused duty, wait a growing delay and try again, while the duties that free memory
(completing, dead-lettering, retention) still run, because a Lua step whose first write frees
memory is not refused.
"""
from __future__ import annotations

import logging
import threading

import redis

log = logging.getLogger("engine.oom")

OutOfMemory = redis.exceptions.OutOfMemoryError


def is_out_of_memory(exc: BaseException) -> bool:
    """True for the server's OOM refusal (the engine's ServerError for it included)."""
    return isinstance(exc, OutOfMemory)


class OomEpisode:
    """One process's view of the server being full: logs the start and the end of each episode once."""

    def __init__(self, who: str, *, first_delay_s: float = 0.1, max_delay_s: float = 2.0):
        self.who = who
        self.first_delay_s, self.max_delay_s = first_delay_s, max_delay_s
        self._lock = threading.Lock()
        self.active = False
        self.refusals = 0
        self.episodes = 0
        self._delay = first_delay_s

    def refused(self, where: str, exc: BaseException) -> float:
        """Note a refusal; returns how long to back off before trying again."""
        with self._lock:
            if not self.active:
                self.active, self.episodes, self.refusals = True, self.episodes + 1, 0
                self._delay = self.first_delay_s
                log.warning("%s: the server is out of memory (%s refused: %s); backing off (running jobs still "
                            "complete) until it accepts writes", self.who, where, str(exc)[:120])
            self.refusals += 1
            delay = self._delay
            self._delay = min(self.max_delay_s, self._delay * 2)
            return delay

    def ok(self) -> None:
        """A write went through again: the episode, if any, is over."""
        with self._lock:
            if not self.active:
                return
            self.active = False
            log.warning("%s: the server has room again after %d refused call(s); back to normal",
                        self.who, self.refusals)
