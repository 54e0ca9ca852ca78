"""The worker: one loop for any set of queues, crash-safe, with a short path per job.

Per job: one Lua call takes the job (and its record) into the active set with a lease, the
processor runs, one Lua call completes it or the failure ladder moves it on. A heartbeat thread
keeps the lease; a worker that dies stops heartbeating and the reaper recovers its job.
"""
from __future__ import annotations

import json
import logging
import os
import signal
import socket
import threading
import time
import uuid
from typing import Any

import redis
from rq.timeouts import JobTimeoutException, TimerDeathPenalty, UnixSignalDeathPenalty

from . import jobs, keys, orphans, slot_run, takes, worker_registry
from .app import Engine, set_default_engine
from .errors import JobCancelled
from .failures import handle_failure
from .hooks import Hooks
from .maintenance import maintain, reap  # re-exported: their home was here
from .oom import OomEpisode, OutOfMemory
from .scripts import make_caller

__all__ = ["Worker", "HardStop", "maintain", "reap"]

log = logging.getLogger("engine.worker")

SERVER_TICK_S = 0.11  # Redis/Valkey check blocking-command timeouts every 100 ms (hz 10)
CLUSTER_WAIT_S = 0.25  # cluster mode, several queues: an idle wait blocks on one queue's wake list at most this long


class HardStop(BaseException):
    """Raised in the main thread by a second SIGTERM/SIGINT: stop now, leave the job to the reaper."""


class Worker:
    def __init__(self, eng: Engine, queues: list[str], *, hooks: Hooks | None = None, burst: bool = False,
                 name: str | None = None, maintenance: bool = True, watched: bool = False):
        self.eng = eng
        self.queues = [eng.table[q].name for q in queues]
        self.hooks = hooks or eng.hooks
        self.burst = burst
        self.name = name or f"{socket.gethostname()}.{os.getpid()}.{uuid.uuid4().hex[:6]}"
        self.member = ""  # `job_id|worker` while a job runs
        self.current_queue = self.queues[0]
        self.stopping = False
        self.processed = 0
        self._next_reap = 0.0
        self._next: list | None = None  # a job already taken by the last step() call
        self._running: tuple[str, jobs.RunningJob, str] | None = None  # (queue, job, member) while one runs
        self._lock = threading.Lock()
        # one dequeue call for all the queues; in cluster mode one per queue (each queue is one slot)
        groups = [[q] for q in self.queues] if keys.cluster() else [self.queues]
        self._dequeue_calls = [takes.dequeue_call(eng, self.name, g) for g in groups]
        self._can_step = len(groups) == 1  # a completion and the next take share one call (one slot)
        self._dequeue_keys, self._dequeue_static = self._dequeue_calls[0] if self._can_step else ([], [])
        self._wakes = 0  # cluster mode, several queues: whose wake list the next idle wait blocks on
        self._direct = make_caller(eng.conn)  # the hot loop's own connection
        self.oom = OomEpisode(f"worker {self.name}")
        self._registered = False
        self._reply_lost, self._last_job = False, ""  # a call failed: was a job leased by a reply never read?
        self.maintenance = maintenance  # a slot of a SlotPool leaves the periodic duties to its process
        self.watched = watched  # True: a Watchdog enforces timeouts (engine/watchdog.py), no per-job timer
        self.deadline = 0.0  # monotonic time the running job's timeout passes
        self.finishing = False  # the processor returned; its outcome is being recorded
        self.abandoned = False  # the watchdog failed the running job on timeout; this slot records nothing more
        self.combiner: Any = None  # a batching.Combiner shared with the process's other slots of these queues

    # -- life cycle -------------------------------------------------------------------
    def run(self) -> int:
        """Work until stopped (or, in burst mode, until nothing is runnable). Returns jobs processed."""
        set_default_engine(self.eng)
        self._install_signals()
        self._register()
        self._beat()
        beat = threading.Thread(target=self._heartbeat_loop, daemon=True, name="heartbeat")
        beat.start()
        log.info("worker %s serving %s", self.name, ", ".join(self.queues))
        try:
            while not (self.stopping and self._next is None):
                try:
                    if not self.work_once():
                        break
                except (redis.ConnectionError, redis.TimeoutError) as exc:
                    log.warning("server unreachable (%s); retrying in 1 s", exc)
                    self._reply_lost = True
                    time.sleep(1.0)
                except OutOfMemory as exc:
                    time.sleep(self.oom.refused("taking a job", exc))
        finally:
            self.stopping = True
            self._unregister()
            self._direct.close()
        return self.processed

    def work_once(self) -> bool:
        """Run one job, or wait for one. False when a burst worker has nothing left."""
        if self.maintenance and time.monotonic() >= self._next_reap:
            maintain(self.eng, self.hooks, self.name, self.oom)
            self._next_reap = time.monotonic() + self.eng.settings.reap_interval_ms / 1000
        got = self.take_or_wait()
        if isinstance(got, bool):
            return got
        self._execute(got)
        return True

    def take_or_wait(self) -> list | bool:
        """The next job; or, with none runnable, True after an idle wait, False when a burst has nothing left."""
        taken, self._next = (self._next or self._orphan() or self._dequeue()), None
        if taken[0] != b"":
            return taken
        if self.burst and not int(taken[2]):  # nothing runnable now, nor merely held by a limit
            return False
        self._wait(min(int(taken[1]), self.eng.settings.reap_interval_ms) / 1000)
        return True

    def _wait(self, wait_s: float) -> None:
        """Sleep until a job may be due, waking early when one is enqueued. A server fires blocking
        timeouts only on its cron tick (~100 ms), so the last stretch is slept here, precisely."""
        wakes = [keys.wake(q) for q in self.queues]
        if not self._can_step:  # cluster mode: one queue's wake list at a time (one slot), in turn
            wakes, self._wakes = [wakes[self._wakes % len(wakes)]], self._wakes + 1
            wait_s = min(wait_s, CLUSTER_WAIT_S)
        if wait_s > SERVER_TICK_S:
            self._direct.blpop(wakes, wait_s - SERVER_TICK_S)
        else:
            time.sleep(max(0.001, wait_s))

    def _orphan(self) -> list | None:
        """After a failed call, a job leased to this worker by a dequeue whose reply was lost (engine/orphans.py)."""
        if not self._reply_lost:
            return None
        taken, self._reply_lost = orphans.find(self.eng, self.name, self.queues, skip=self._last_job), False
        return taken

    def _dequeue(self) -> list:
        return takes.take(self._direct, self.eng.scripts.dequeue, self._dequeue_calls)

    # -- one job ----------------------------------------------------------------------
    def _execute(self, taken: list) -> None:
        run = slot_run.begin(self, taken)
        try:
            try:
                func = slot_run.processor(self, run)
                if self.watched:
                    result = slot_run.call(func, run.job)
                else:  # SIGALRM works only in the main thread; a worker run in a thread (tests) uses a timer.
                    main = threading.current_thread() is threading.main_thread()
                    penalty = UnixSignalDeathPenalty if main else TimerDeathPenalty
                    with penalty(run.timeout_s, JobTimeoutException, job_id=run.job.id):
                        result = slot_run.call(func, run.job)
            finally:
                slot_run.settle_log(self, run)
        except HardStop:
            raise
        except Exception as exc:  # noqa: BLE001 - any processor error goes down the failure ladder
            slot_run.failed(self, run, exc)
        else:
            completion = slot_run.completed(self, run, result)
            if completion is not None:
                self._complete(run.job.id, *completion)
        finally:
            slot_run.end(self, run)

    def _finish(self) -> bool:
        """Claim the run's outcome for this slot; False when the watchdog already failed it on timeout."""
        with self._lock:
            if self.abandoned:
                return False
            self.finishing = True
            return True

    def completion(self, queue: str, job_id: str, member: str, result: Any, run_ms: float,
                   trail: bool = True) -> tuple[list, list]:
        """The keys and args of complete_run (complete.lua) for a finished run; `trail` False: the job has no
        attempts list and no log, so only its hash gets the retention TTL (two calls fewer a job)."""
        try:
            summary = json.dumps(result, default=str)[:4000]
        except (TypeError, ValueError):
            summary = json.dumps(repr(result)[:4000])
        script_keys = [keys.active(queue), keys.job(job_id), keys.finished(queue), keys.attempts(job_id),
                       keys.job_log(job_id)]
        return script_keys, [member, job_id, summary, self.eng.table[queue].keep_completed_s, f"{run_ms:.3f}",
                             keys.metrics_prefix("m", queue), "1" if trail else "0"]

    def _complete(self, job_id: str, script_keys: list, args: list) -> None:
        """Record the completion; unless stopping, take the next job in the same round trip."""
        if self.combiner is not None:  # slots of one process share their round trips (engine/batching.py)
            done, taken = self.combiner.submit(self, script_keys, args, take=not self.stopping and self._can_step)
            if taken[0] != b"":
                self._next = taken
        elif self.stopping or not self._can_step:
            done = self._direct(self.eng.scripts.complete, script_keys, args)
        else:
            out = self._direct(self.eng.scripts.step, script_keys + self._dequeue_keys, args + self._dequeue_static)
            done, taken = out[0], out[1:]
            if taken[0] != b"":
                self._next = taken
        if not done:
            log.warning("job %s finished after its lease was taken over; its result was not recorded", job_id)

    # -- heartbeat, registration, signals ---------------------------------------------
    def _heartbeat_loop(self) -> None:
        interval = self.eng.settings.lease_ms / 3000
        while not self.stopping:
            try:
                if not self._registered:
                    self._register()
                self._beat()  # allowed on a full server: the lease of the running job never lapses
            except OutOfMemory as exc:
                self.oom.refused("heartbeat", exc)
            except redis.RedisError as exc:
                log.warning("heartbeat failed: %s", exc)
            time.sleep(interval)

    def _beat(self) -> None:
        with self._lock:
            member, queue, running = self.member, self.current_queue, self._running
        known, now_ms, cancel_ms = worker_registry.heartbeat(self.eng, self.name, member, queue)
        if not known and not self.stopping:
            self._register()
        if running and cancel_ms is not None and now_ms - cancel_ms >= self.eng.settings.cancel_grace_ms:
            self._cancel_overdue(*running)

    def _cancel_overdue(self, queue: str, job: jobs.RunningJob, member: str) -> None:
        """A cancelled run that went on past the grace period: record it as cancelled now (this takes the
        lease, so whatever the processor returns later is refused by the complete step)."""
        grace_s = self.eng.settings.cancel_grace_ms / 1000
        exc = JobCancelled(f"cancelled by an operator; still running {grace_s:g} s later, so its result is discarded")
        if handle_failure(self.eng, self.hooks, queue, job, member, exc, job.fields, self.name):
            log.warning("job %s on %s: cancelled past the grace period while still running", job.id, queue)

    def _register(self) -> None:
        """Register in our and RQ's worker registries. On a full server the heartbeat thread keeps trying;
        the worker works (and heartbeats) meanwhile."""
        try:
            worker_registry.register(self.eng, self.name, self.queues)
        except (OutOfMemory, redis.exceptions.ExecAbortError) as exc:
            self.oom.refused("registration", exc)
            return
        self._registered = True
        self.oom.ok()

    def _unregister(self) -> None:
        try:
            worker_registry.unregister(self.eng, self.name, self.queues)
        except redis.RedisError:
            pass

    def _install_signals(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return

        def on_signal(signum, _frame):
            if self.stopping:
                log.warning("second stop signal: stopping now; the running job will be recovered")
                raise HardStop()
            log.info("stop signal: finishing the running job, then exiting")
            self.stopping = True

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
