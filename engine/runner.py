"""Starting many processes: every queue's workers, or the whole system (`python -m engine run`, `make run`).

The whole system is the embedded server (when none is configured), the workers and the scheduler,
plus whatever the application composes beside them (ENGINE_SYSTEM: a callable that returns a System).
"""
from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass, field
from typing import Callable

from .app import Engine
from .errors import ConfigError
from .loading import load_object
from .queues import QueueTable
from .settings import Settings
from .supervisor import Child, Supervisor

log = logging.getLogger("engine.runner")
PY = sys.executable


def worker_children(table: QueueTable, queues: list[str], *, burst: bool,
                    concurrency: dict[str, int] | None = None) -> list[Child]:
    """One child process per unit of each queue's concurrency."""
    concurrency = concurrency or {}
    children = []
    for q in queues:
        for i in range(concurrency.get(q, table[q].concurrency)):
            argv = [PY, "-m", "engine", "worker", "--queues", q, "--name", f"{q}-{i + 1}-{os.getpid()}"]
            children.append(Child(f"worker {q}#{i + 1}", argv + (["--burst"] if burst else []), restart=not burst))
    return children


def run_workers(queues: list[str], *, burst: bool = False, concurrency: dict[str, int] | None = None) -> int:
    settings = Settings()
    eng = Engine.from_settings(settings)  # fail fast (exit 2) when the server is unreachable
    sup = Supervisor(worker_children(eng.table, queues, burst=burst, concurrency=concurrency))
    return sup.run(until_all_exit=burst)


@dataclass
class System:
    """What an application runs beside the workers and the scheduler."""

    children: list[Child] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)  # set before any child starts
    banner: list[str] = field(default_factory=list)  # lines printed once everything is set up


Compose = Callable[[Engine, Settings], System]


def load_compose(settings: Settings) -> Compose | None:
    """ENGINE_SYSTEM's callable, or None when the setting is empty."""
    if not settings.engine_system:
        return None
    compose = load_object(settings.engine_system, "ENGINE_SYSTEM")
    if not callable(compose):
        raise ConfigError(f"ENGINE_SYSTEM={settings.engine_system}: not callable")
    return compose


def run_system() -> int:
    """Embedded server (when none is configured), workers, scheduler and the application's System."""
    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    compose = load_compose(settings)  # a bad setting fails before anything starts
    server = None
    if not settings.server_configured:
        from .embedded import start_embedded

        server = start_embedded(settings.data_dir / "valkey", port=settings.embedded_port)
        os.environ["REDIS_URL"] = server.connection_url
        log.info("embedded Valkey on %s, data in %s", server.connection_url, settings.data_dir / "valkey")
    try:
        settings = Settings()
        eng = Engine.from_settings(settings)
        children = worker_children(eng.table, eng.table.names, burst=False)
        children.append(Child("scheduler", [PY, "-m", "engine", "scheduler"]))
        system = compose(eng, settings) if compose else System()
        os.environ.update(system.env)
        _banner(system.banner)
        return Supervisor(children + system.children).run()
    finally:
        if server is not None:
            server.stop()
            log.info("embedded Valkey stopped")


def _banner(lines: list[str]) -> None:
    print("\n" + "=" * 72)
    print(f"  Redis:      {os.environ.get('REDIS_URL', 'configured server')}")
    for line in lines:
        print(f"  {line}")
    print("  Stop everything with Ctrl-C.")
    print("=" * 72 + "\n", flush=True)
