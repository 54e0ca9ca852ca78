"""A `python -m module ...` child forked from the warm supervisor instead of a fresh interpreter.

The child shares the parent's loaded modules (copy on write; gc.freeze keeps the collector from
touching them), so each costs only the memory it changes: `make run` drops from seven whole
interpreters to one and its forks. ForkedProcess has the part of subprocess.Popen's interface the
supervisor uses.
"""
from __future__ import annotations

import gc
import logging
import os
import runpy
import signal
import sys
import time


class ForkedProcess:
    """Forks and runs `python -m <module> <args>` (argv as for Popen) in the child, in its own session."""

    def __init__(self, argv: list[str], env: dict[str, str]):
        module, args = argv[2], argv[3:]
        gc.freeze()  # objects loaded so far stay shared with the child: the collector never writes to them
        self.returncode: int | None = None
        self.pid = os.fork()
        if self.pid == 0:
            _child(module, args, env)

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                pid, status = self.pid, 0
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        import subprocess

        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(f"pid {self.pid}", timeout or 0)
            time.sleep(0.05)
        return self.returncode  # type: ignore[return-value]

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def limit_malloc_arenas(n: int = 2) -> None:
    """glibc gives each thread its own malloc arena (up to 8 per core), which a threaded Python
    process (slots, an HTTP server) fills with free pages; a couple of arenas serve them as well.
    Inherited by forked children. No-op off glibc."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").mallopt(-8, n)  # M_ARENA_MAX
    except (OSError, AttributeError):
        pass


def forkable(argv: list[str]) -> bool:
    """True for `python -m module ...` with this interpreter."""
    return len(argv) >= 3 and argv[0] == sys.executable and argv[1] == "-m"


def _child(module: str, args: list[str], env: dict[str, str]) -> None:
    code = 1
    try:
        os.setsid()  # like start_new_session: a terminal's Ctrl-C reaches only the supervisor
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.environ.clear()
        os.environ.update(env)
        for handler in logging.root.handlers[:]:  # the child configures its own logging, as a fresh one would
            logging.root.removeHandler(handler)
        sys.argv = [module, *args]
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except KeyboardInterrupt:
        code = -signal.SIGINT
    except BaseException:  # noqa: BLE001 - report, then leave like a crashed interpreter
        import traceback

        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code if code >= 0 else 128 - code)
