"""Child processes for scenarios: each in its own process group, with an isolated environment."""
from __future__ import annotations

import json
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


def settings_env(settings: dict[str, Any]) -> dict[str, str]:
    """Engine settings as the environment variables Settings reads (dicts as JSON)."""
    return {k.upper(): json.dumps(v) if isinstance(v, dict) else str(v) for k, v in settings.items()}
