"""Hard timeouts for slots in threads: a job past its timeout is failed on time and its slot freed.

A thread cannot be killed, so the watchdog (one thread per process) does what it can: it marks the
slot abandoned (the slot then records nothing: its late result is discarded), fails the run through
the failure ladder as JobTimeoutError (fail.lua takes the lease, so a late complete is refused by the
server too), asks the pool for a replacement slot, and raises JobTimeoutException in the stuck thread
(effective as soon as it runs Python code again). Abandoned threads that never return are counted:
the pool stops taking jobs and exits for a restart once there are more than its bound.
"""
from __future__ import annotations

import ctypes
import logging
import threading
import time
from typing import Callable

from rq.timeouts import JobTimeoutException

from .errors import JobTimeoutError
from .failures import handle_failure
from .worker import Worker

log = logging.getLogger("engine.watchdog")

CHECK_S = 0.1  # how often deadlines are checked: a timeout is acted on at most this late (plus one fail call)


def raise_in_thread(ident: int | None, exc_type: type[BaseException]) -> None:
    """Ask the interpreter to raise exc_type in thread `ident` at its next Python instruction."""
    if ident is not None:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(exc_type))


class Watchdog:
    """Checks every slot's running job against its deadline; `on_abandon(slot)` replaces the slot."""

    def __init__(self, slots: Callable[[], list[tuple[Worker, threading.Thread | None]]],
                 on_abandon: Callable[[Worker, threading.Thread | None], None]):
        self._slots = slots
        self._on_abandon = on_abandon
        self._stop = threading.Event()
        self.timed_out = 0
        self._thread = threading.Thread(target=self._loop, daemon=True, name="watchdog")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(CHECK_S):
            now = time.monotonic()
            for slot, thread in self._slots():
                try:
                    self.check(slot, thread, now)
                except Exception:  # noqa: BLE001 - a server error here is retried on the next check
                    log.exception("watchdog: failing an overdue job of %s", slot.name)

    def check(self, slot: Worker, thread: threading.Thread | None, now: float) -> bool:
        """Fail the slot's job if it is past its deadline; True when the slot was abandoned. An async slot
        (thread None) is not interrupted: its task records nothing of that run and takes the next."""
        with slot._lock:
            running = slot._running
            if running is None or slot.finishing or slot.abandoned or now < slot.deadline:
                return False
            slot.abandoned = slot.stopping = True  # from here on the slot records nothing and takes no job
        queue, job, member = running
        timeout_s = slot.eng.table[queue].timeout_s
        self.timed_out += 1
        log.warning("job %s on %s ran past its %s s timeout: failed, its slot %s replaced", job.id, queue,
                    timeout_s, slot.name)
        self._on_abandon(slot, thread)
        if thread is not None:
            raise_in_thread(thread.ident, JobTimeoutException)
        exc = JobTimeoutError(f"run exceeded the {timeout_s} s timeout")
        handle_failure(slot.eng, slot.hooks, queue, job, member, exc, job.fields, slot.name)
        return True
