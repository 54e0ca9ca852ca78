"""The soak's processes: a restartable, freezable Valkey and child processes in their own groups."""
from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def free_port(low: int = 20000, high: int = 30000) -> int:
    """A free loopback port below the ephemeral range, so no client socket takes it during a restart."""
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(low, high)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port found")


ISOLATED_PREFIXES = ("REDIS_", "DATABASE_", "WHATSAPP_", "API_KEYS", "SCHEDULE_", "SCHEDULER_CRASH", "OUTBOX_")


def child_env(extra: dict[str, str], work_dir: Path) -> dict[str, str]:
    """The parent's environment without server, database or provider settings, plus `extra`.

    The children's business data lives in `work_dir` (an empty SQLite file, the sandbox WhatsApp
    provider), so that the scheduler's schedules and the processors they start never touch the
    repository's var/ data or a real provider."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(ISOLATED_PREFIXES)}
    env.update({"PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", "WHATSAPP_PROVIDER": "sandbox",
                "DATABASE_URL": f"sqlite:///{work_dir / 'domain.sqlite3'}", "DATA_DIR": str(work_dir / "var"),
                "REPORTS_DIR": str(work_dir / "reports"), **extra})
    return env


@dataclass
class Child:
    """One child process in its own process group (so a kill takes its whole tree)."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen | None = None

    def start(self) -> "Child":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        return self

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def signal_group(self, sig: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        """SIGKILL the process group and reap it."""
        self.signal_group(signal.SIGKILL)
        if self.proc is not None:
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass


def exit_record(child: Child, lines: int = 12) -> dict[str, Any]:
    """Who exited, with which code, and the end of its log (the traceback, if any)."""
    tail = child.log_path.read_text(errors="replace").splitlines()[-lines:] if child.log_path.exists() else []
    return {"name": child.name, "code": child.proc.returncode if child.proc else None, "log_tail": tail}


def stop_children(children: list[Child], grace_s: float = 10.0) -> None:
    """SIGTERM every group (warm shutdown), then SIGKILL what is left after `grace_s`."""
    for c in children:
        c.signal_group(signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    for c in children:
        if c.proc is None:
            continue
        try:
            c.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    for c in children:
        c.kill()


class Server:
    """A durable Valkey on a fixed loopback port and data dir, restartable in place."""

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


