"""Starting workers and processes: every queue's slots (one process, or --processes N), or the whole system (`python -m engine run`, `make run`).

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
from .slots import SlotPool, SlotSpec
from .supervisor import Child, Supervisor

log = logging.getLogger("engine.runner")
PY = sys.executable


def slot_specs(table: QueueTable, queues: list[str], concurrency: dict[str, int] | None = None) -> list[SlotSpec]:
    """Each queue's slots (the table's concurrency unless overridden), each slot serving that queue only."""
    concurrency = concurrency or {}
    return [SlotSpec((q,), concurrency.get(q, table[q].concurrency)) for q in queues]


def run_workers(queues: list[str], *, burst: bool = False, concurrency: dict[str, int] | None = None,
                processes: int | None = None) -> int:
    """Every queue's slots in this process, or over `processes` forked children (supervised here)."""
    settings = Settings()
    eng = Engine.from_settings(settings)  # fail fast (exit 2) when the server is unreachable
    specs = slot_specs(eng.table, queues, concurrency)
    if processes is None:
        return SlotPool(eng, specs, burst=burst).run()
    from .forks import Forks

    return Forks(eng, specs, processes, burst=burst).run()


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
        children = [Child("workers", [PY, "-m", "engine", "workers"]),  # every queue's slots, one process
                    Child("scheduler", [PY, "-m", "engine", "scheduler"])]
        system = compose(eng, settings) if compose else System()
        os.environ.update(system.env)
        _warm_up(eng)
        _banner(system.banner)
        return Supervisor(children + system.children, fork_python=True).run()
    finally:
        if server is not None:
            server.stop()
            log.info("embedded Valkey stopped")


def _warm_up(eng: Engine) -> None:
    """Load what the forked children share (engine, processors, their libraries) once, here."""
    from . import scheduler, slots

    _ = (scheduler, slots)  # imported for the children
    from .forked import limit_malloc_arenas
    from .forks import warm_up

    limit_malloc_arenas()
    warm_up(eng, slot_specs(eng.table, eng.table.names))
    if hasattr(eng.conn, "disconnect_connection_pools"):  # a cluster client: one pool per node
        eng.conn.disconnect_connection_pools()
    else:
        eng.conn.connection_pool.disconnect()  # children open their own connections


def _banner(lines: list[str]) -> None:
    print("\n" + "=" * 72)
    print(f"  Redis:      {os.environ.get('REDIS_URL', 'configured server')}")
    for line in lines:
        print(f"  {line}")
    print("  Stop everything with Ctrl-C.")
    print("=" * 72 + "\n", flush=True)
