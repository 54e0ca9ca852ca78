"""`workers --processes N`: the slots spread over N processes forked from one warm parent.

The parent loads the settings, the table and every processor once, then forks; each child runs a
SlotPool with its share of every queue's slots (a queue's N slots in total, split as evenly as the
processes allow). The parent restarts a child that dies (backoff 0.5 s doubling to 30 s, starting
over after a child ran 60 s), passes each stop signal on and waits for the children.
"""
from __future__ import annotations

import logging
import os
import signal
import time

from . import jobs
from .app import Engine
from .hooks import Hooks
from .slots import SlotPool, SlotSpec

log = logging.getLogger("engine.forks")

HEALTHY_S = 60.0


def split(specs: list[SlotSpec], processes: int) -> list[list[SlotSpec]]:
    """Every spec's slots dealt round the processes (continuing where the last spec stopped), so
    per queue the counts add up to the spec's and the processes' totals differ by at most one."""
    parts: list[list[SlotSpec]] = [[] for _ in range(processes)]
    turn = 0
    for spec in specs:
        counts = [0] * processes
        for _ in range(spec.count):
            counts[turn % processes] += 1
            turn += 1
        for part, n in zip(parts, counts):
            if n:
                part.append(SlotSpec(spec.queues, n))
    return [p for p in parts if p]


def warm_up(eng: Engine, specs: list[SlotSpec]) -> None:
    """Import every processor before forking, so the children share the parent's loaded modules."""
    for spec in specs:
        for q in spec.queues:
            try:
                jobs.processor(eng.table[q].func)
            except Exception as exc:  # noqa: BLE001 - the slot reports it per job (failure ladder)
                log.warning("processor of %s does not load: %s", q, exc)


class Forks:
    """The parent of N forked worker processes."""

    def __init__(self, eng: Engine, specs: list[SlotSpec], processes: int, *, burst: bool = False,
                 hooks: Hooks | None = None):
        self.eng, self.burst, self.hooks = eng, burst, hooks
        self.parts = split(specs, processes)
        self.pids: dict[int, int] = {}  # pid -> part index
        self.started: dict[int, float] = {}  # part index -> monotonic start
        self.restarts = [0] * len(self.parts)
        self.next_start = [0.0] * len(self.parts)
        self.codes: dict[int, int] = {}  # part index -> its last exit code
        self.signals = 0

    def _fork(self, index: int) -> None:
        pid = os.fork()
        if pid == 0:  # the child
            code = 1
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                code = SlotPool(self.eng, self.parts[index], burst=self.burst, hooks=self.hooks).run()
            except BaseException:  # noqa: BLE001 - report and leave
                log.exception("worker process failed")
            finally:
                logging.shutdown()
                os._exit(code)
        self.pids[pid] = index
        self.started[index] = time.monotonic()
        log.info("worker process %d started: %s", pid,
                 ", ".join(f"{'+'.join(s.queues)} x{s.count}" for s in self.parts[index]))

    def _on_signal(self, signum, _frame) -> None:
        self.signals += 1
        for pid in list(self.pids):
            try:
                os.kill(pid, signal.SIGTERM)  # a child takes the second one as "stop now"
            except ProcessLookupError:
                pass

    def run(self) -> int:
        """Fork the children and supervise them; returns 0 when every child ended cleanly."""
        warm_up(self.eng, [s for part in self.parts for s in part])
        for i in range(len(self.parts)):
            self._fork(i)
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        waiting: set[int] = set()  # parts waiting for a restart
        while self.pids or (waiting and not self.signals):
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                pid, status = 0, 0
            if pid and pid in self.pids:
                index = self.pids.pop(pid)
                code = os.waitstatus_to_exitcode(status)
                self.codes[index] = code
                if not (self.burst or self.signals):
                    log.warning("worker process %d exited with code %s; restarting it", pid, code)
                    healthy = time.monotonic() - self.started[index] >= HEALTHY_S
                    self.restarts[index] = 0 if healthy else self.restarts[index] + 1
                    self.next_start[index] = time.monotonic() + min(30.0, 0.5 * 2 ** min(self.restarts[index], 6))
                    waiting.add(index)
            for index in sorted(waiting):
                if not self.signals and time.monotonic() >= self.next_start[index]:
                    waiting.discard(index)
                    self._fork(index)
            if not pid:
                time.sleep(0.1)
        clean = (0, -signal.SIGTERM) if self.signals else (0,)
        return 0 if all(c in clean for c in self.codes.values()) else 1
