"""Valkey servers for scenarios: a durable one restartable in place, short direct connections, polling."""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any, Callable

import redis


class Server:
    """A durable Valkey on a fixed loopback port and data dir, restartable in place and freezable."""

    def __init__(self, data_dir: Path, port: int):
        self.data_dir, self.port = data_dir, port
        self.server = None
        self.unclean_stops = 0
        self.frozen = False

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self, attempts: int = 20) -> None:
        from engine.embedded import start_embedded

        last: Exception | None = None
        for _ in range(attempts):
            try:
                self.server = start_embedded(self.data_dir, port=self.port)
                return
            except Exception as exc:  # noqa: BLE001 - port still held for a moment, or a slow start
                last = exc
                time.sleep(0.25)
        raise RuntimeError(f"valkey did not start on port {self.port}: {last}")

    def stop(self) -> None:
        """Graceful stop (SIGTERM: the AOF is flushed); counts a stop that needed SIGKILL."""
        if self.server is None:
            return
        if self.frozen:
            self.thaw()
        proc = getattr(self.server, "_process", None)
        try:
            self.server.stop(timeout=10)
        finally:
            self.server = None
        if proc is not None and proc.returncode not in (0, None):
            self.unclean_stops += 1

    def restart(self, down_s: float) -> None:
        self.stop()
        time.sleep(down_s)
        self.start()

    def _pid(self) -> int | None:
        proc = getattr(self.server, "_process", None)
        return proc.pid if proc is not None and proc.poll() is None else None

    def freeze(self) -> bool:
        """SIGSTOP the server: it keeps its sockets but answers nothing until thaw()."""
        pid = self._pid()
        if pid is None:
            return False
        os.kill(pid, signal.SIGSTOP)
        self.frozen = True
        return True

    def thaw(self) -> None:
        pid = self._pid()
        if pid is not None:
            os.kill(pid, signal.SIGCONT)
        self.frozen = False


def ask(port: int, call: Callable[[redis.Redis], Any]) -> Any:
    """One short-lived direct connection to a loopback server or Sentinel (closed afterwards)."""
    with redis.Redis(host="127.0.0.1", port=port, socket_timeout=2, socket_connect_timeout=2) as conn:
        return call(conn)


def wait_for(what: str, check: Callable[[], bool], timeout_s: float, interval_s: float = 0.2) -> float:
    """Poll `check` (errors count as not yet) until true; seconds taken, or TimeoutError."""
    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        try:
            if check():
                return time.monotonic() - start
        except (redis.RedisError, OSError):
            pass
        time.sleep(interval_s)
    raise TimeoutError(f"{what}: not within {timeout_s:.0f} s")
