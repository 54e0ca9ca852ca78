"""Many slots in one worker process: each slot is a Worker loop in its own thread.

A queue given N slots runs at most N of its jobs at once in the process (each slot runs one job at
a time). Rate limits, priorities, leases and metrics are decided per job in the server, exactly as
for one slot. The main thread handles signals and the periodic duties (reaping, retention, roll-up);
a Watchdog thread enforces timeouts. One SIGTERM (or SIGINT): every slot finishes its running job
and takes no new one; a second: the process exits at once and the reaper recovers the running jobs.
"""
from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from dataclasses import dataclass

import redis

from . import jobs, slot_run
from .app import Engine, set_default_engine
from .async_slots import AsyncSlots
from .batching import Combiner
from .hooks import Hooks
from .maintenance import maintain
from .oom import OomEpisode, OutOfMemory
from .watchdog import Watchdog
from .worker import HardStop, Worker

log = logging.getLogger("engine.slots")

TICK_S = 0.1  # the main thread's loop: signals, slot replacement, maintenance
EXIT_TOO_MANY_STUCK = 3  # exit code after a warm stop caused by too many abandoned (stuck) threads


@dataclass(frozen=True)
class SlotSpec:
    """`count` slots, each serving `queues` (in the order given, for the dequeue)."""

    queues: tuple[str, ...]
    count: int


class SlotPool:
    """Runs the slots of one process until stopped (or, in burst mode, until none has work)."""

    def __init__(self, eng: Engine, specs: list[SlotSpec], *, hooks: Hooks | None = None, burst: bool = False,
                 name: str | None = None, max_abandoned: int | None = None, batch: bool = True):
        self.eng = eng
        self.specs = [s for s in specs if s.count > 0]
        self.hooks = hooks or eng.hooks
        self.burst = burst
        self.total = sum(s.count for s in self.specs)
        self.base = name or f"{socket.gethostname()}.{os.getpid()}"
        self._single_name = name if name and self.total == 1 else None
        # a thread stuck in a processor cannot be killed; past this many the process restarts
        self.max_abandoned = max_abandoned if max_abandoned is not None else max(2, self.total)
        self.stopping = False
        self.exit_code = 0
        self._slots: list[tuple[Worker, threading.Thread, SlotSpec, str]] = []
        self._abandoned: list[tuple[Worker, threading.Thread]] = []
        self._lock = threading.RLock()  # re-entrant: the stop signal's handler runs in the main thread, maybe inside it
        self._replaced = 0
        self.batch = batch  # slots of one spec share round trips (engine/batching.py)
        self._combiners: dict[SlotSpec, Combiner] = {}
        self._loops: list[AsyncSlots] = []  # the slots of specs whose processors are all `async def`
        self.oom = OomEpisode(f"worker process {self.base}")
        self.watchdog = Watchdog(self._watched, self._abandon)

    # -- slots ------------------------------------------------------------------------
    def _start_slot(self, spec: SlotSpec, label: str) -> None:
        name = self._single_name or f"{self.base}.{label}"
        slot = Worker(self.eng, list(spec.queues), hooks=self.hooks, burst=self.burst, name=name,
                      maintenance=False, watched=True)
        if spec.count > 1 and self.batch:
            slot.combiner = self._combiners.setdefault(spec, Combiner())
        thread = threading.Thread(target=self._run_slot, args=(slot,), daemon=True, name=f"slot {label}")
        with self._lock:
            self._slots.append((slot, thread, spec, label))
        thread.start()

    def _is_async(self, spec: SlotSpec) -> bool:
        try:
            return all(slot_run.is_async(jobs.processor(self.eng.table[q].func)) for q in spec.queues)
        except Exception:  # noqa: BLE001 - a processor that does not load fails per job, on thread slots
            return False

    def _start_loop(self, spec: SlotSpec) -> None:
        """A spec whose processors are coroutines: its slots are tasks of one event loop (engine/async_slots.py)."""
        slots = [Worker(self.eng, list(spec.queues), hooks=self.hooks, burst=self.burst, maintenance=False,
                        watched=True, name=self._single_name or f"{self.base}.{spec.queues[0]}-{i + 1}")
                 for i in range(spec.count)]
        loop = AsyncSlots(slots, burst=self.burst)
        with self._lock:
            self._loops.append(loop)
        loop.start()

    def _run_slot(self, slot: Worker) -> None:
        try:
            slot.run()
        except BaseException:  # noqa: BLE001 - a slot that dies is replaced by the main thread
            if not slot.abandoned:
                log.exception("slot %s stopped on an error", slot.name)

    def _watched(self) -> list[tuple[Worker, threading.Thread]]:
        with self._lock:
            return [(s, t) for s, t, _, _ in self._slots] + [(s, None) for lp in self._loops for s in lp.slots]

    def _abandon(self, slot: Worker, thread: threading.Thread | None) -> None:
        """The watchdog gave up on `slot` (its job timed out): a fresh slot takes its place at once."""
        if thread is None:  # an async slot: its task is cancelled and takes the next job itself
            for loop in self._loops:
                if slot in loop.slots:
                    loop.cancel_run(slot)
            return
        with self._lock:
            entry = next((e for e in self._slots if e[0] is slot), None)
            if entry is None:
                return
            self._slots.remove(entry)
            self._abandoned.append((slot, thread))
            self._replaced += 1
            spec, label = entry[2], f"{entry[3].split('~')[0]}~{self._replaced}"
        try:
            slot._unregister()
        except Exception:  # noqa: BLE001 - its hash expires by itself
            pass
        if self.stuck() > self.max_abandoned:
            log.error("%d threads stuck in processors past their timeout (bound %d): stopping for a restart",
                      self.stuck(), self.max_abandoned)
            self.exit_code = EXIT_TOO_MANY_STUCK
            self.stop()
        if not self.stopping:
            self._start_slot(spec, label)

    def stuck(self) -> int:
        """Abandoned threads still inside a processor."""
        with self._lock:
            self._abandoned = [(s, t) for s, t in self._abandoned if t.is_alive()]
            return len(self._abandoned)

    # -- life cycle -------------------------------------------------------------------
    def run(self) -> int:
        """Work until stopped; returns the process exit code (0 after a warm stop or a finished burst)."""
        set_default_engine(self.eng)
        self._install_signals()
        for spec in self.specs:
            if self._is_async(spec):
                self._start_loop(spec)
                continue
            for i in range(spec.count):
                self._start_slot(spec, f"{spec.queues[0]}-{i + 1}")
        self.watchdog.start()
        log.info("worker process %s: %d slot(s) (%s)", self.base, self.total,
                 ", ".join(f"{'+'.join(s.queues)} x{s.count}" for s in self.specs))
        try:
            self._supervise()
        except HardStop:
            log.warning("second stop signal: exiting now; the running jobs will be recovered by the reaper")
            self._unregister_all()
            logging.shutdown()
            os._exit(1)
        finally:
            self.watchdog.stop()
        return self.exit_code

    def _supervise(self) -> None:
        next_duty = 0.0
        while True:
            if not (self.stopping or self.burst):
                self._replace_dead(self._watched_entries())
            if not (any(t.is_alive() for _, t, _, _ in self._watched_entries()) or
                    any(lp.thread.is_alive() for lp in self._loops)):
                return  # every slot finished (warm stop, or a burst with nothing left)
            if time.monotonic() >= next_duty:
                self._maintain()
                next_duty = time.monotonic() + self.eng.settings.reap_interval_ms / 1000
            time.sleep(TICK_S)

    def _replace_dead(self, slots: list) -> None:
        for slot, thread, spec, label in slots:
            if not thread.is_alive():
                with self._lock:
                    self._slots = [e for e in self._slots if e[0] is not slot]
                self._replaced += 1
                self._start_slot(spec, f"{label.split('~')[0]}~{self._replaced}")

    def _maintain(self) -> None:
        try:
            maintain(self.eng, self.hooks, self.base, self.oom)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            log.warning("maintenance: server unreachable (%s)", exc)
        except OutOfMemory as exc:
            self.oom.refused("maintenance", exc)
        except Exception:  # noqa: BLE001 - the next pass tries again
            log.exception("maintenance failed")

    def stop(self) -> None:
        """Warm stop: every slot finishes its running job and takes no new one."""
        self.stopping = True
        with self._lock:
            for slot, _, _, _ in self._slots:
                slot.stopping = True
            for loop in self._loops:
                loop.stop()

    def _unregister_all(self) -> None:
        for slot, _ in self._watched():
            try:
                slot._unregister()
            except Exception:  # noqa: BLE001 - hashes expire by themselves
                pass

    def _watched_entries(self) -> list:
        with self._lock:
            return list(self._slots)

    def _install_signals(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return

        def on_signal(signum, _frame):
            if self.stopping:
                raise HardStop()
            log.info("stop signal: finishing the running jobs, then exiting")
            self.stop()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
