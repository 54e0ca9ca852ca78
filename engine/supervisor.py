"""Runs child processes, restarts the ones that die, and passes SIGTERM on.

Children start in their own session, so a Ctrl-C in the terminal reaches only the supervisor,
which then stops them in order: SIGTERM (warm), and SIGKILL after the grace period.
"""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field

from .forked import ForkedProcess, forkable

log = logging.getLogger("engine.supervisor")


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str] | None = None
    restart: bool = True
    proc: subprocess.Popen | None = None
    restarts: int = 0
    next_start: float = 0.0
    started_at: float = 0.0
    exit_codes: list[int] = field(default_factory=list)


class Supervisor:
    def __init__(self, children: list[Child], *, grace_s: float = 30.0, healthy_s: float = 60.0,
                 fork_python: bool = False):
        self.children = children
        self.fork_python = fork_python  # `python -m ...` children are forked from this (warm) process
        self.grace_s = grace_s
        self.healthy_s = healthy_s  # a child up this long counts as healthy: its restart delay starts over
        self.stopping = False
        self._signals = 0

    def _start(self, child: Child) -> None:
        env = {**os.environ, **(child.env or {})}
        if self.fork_python and forkable(child.argv):
            child.proc = ForkedProcess(child.argv, env)  # type: ignore[assignment]
        else:
            child.proc = subprocess.Popen(child.argv, env=env, start_new_session=True)
        child.started_at = time.monotonic()
        log.info("started %s (pid %d)", child.name, child.proc.pid)

    def _on_signal(self, signum, _frame) -> None:
        self._signals += 1
        self.stopping = True
        sig = signal.SIGTERM if self._signals == 1 else signal.SIGKILL
        for child in self.children:
            if child.proc and child.proc.poll() is None:
                try:
                    child.proc.send_signal(sig)
                except ProcessLookupError:
                    pass

    def run(self, *, until_all_exit: bool = False) -> int:
        """Supervise until a stop signal (or, with until_all_exit, until every child exited)."""
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        for child in self.children:
            self._start(child)
        while not self.stopping:
            running = 0
            for child in self.children:
                code = child.proc.poll() if child.proc else None
                healthy = time.monotonic() - child.started_at >= self.healthy_s
                if code is None and child.proc is not None:
                    if healthy and child.restarts:
                        log.info("%s has run healthily for %.0f s; its restart delay starts over", child.name,
                                 self.healthy_s)
                        child.restarts = 0
                    running += 1
                    continue
                if child.proc is not None:
                    child.exit_codes.append(code)
                    log.warning("%s exited with code %s", child.name, code)
                    child.proc = None
                    if healthy:
                        child.restarts = 0
                    delay = min(30.0, 0.5 * 2 ** min(child.restarts, 6))
                    child.next_start = time.monotonic() + delay
                if child.restart and not until_all_exit and time.monotonic() >= child.next_start:
                    child.restarts += 1
                    self._start(child)
                    running += 1
            if until_all_exit and running == 0:
                break
            time.sleep(0.2)
        return self._wait_all()

    def _wait_all(self) -> int:
        deadline = time.monotonic() + self.grace_s
        for child in self.children:
            if child.proc is None:
                continue
            if child.proc.poll() is None and self.stopping and self._signals == 0:
                child.proc.terminate()
            try:
                child.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in %.0f s; killing it", child.name, self.grace_s)
                child.proc.kill()
                child.proc.wait()
            child.exit_codes.append(child.proc.returncode)
        # a child our stop signal ended before it installed its own handler counts as a clean stop
        clean = (0, -signal.SIGTERM) if self.stopping else (0,)
        return 0 if all(c.exit_codes and c.exit_codes[-1] in clean for c in self.children) else 1

    def stop(self) -> None:
        self._on_signal(signal.SIGTERM, None)
