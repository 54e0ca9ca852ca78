"""Starting many processes: every queue's workers, or the whole system for `make run`."""
from __future__ import annotations

import importlib.util
import logging
import os
import secrets
import subprocess
import sys
from pathlib import Path

from .app import Engine
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


def _dev_credentials(data_dir: Path) -> dict[str, str]:
    """A local write API key and operator account, made once and kept under var/."""
    path = data_dir / "dev-credentials.env"
    if not path.exists():
        path.write_text(f"API_KEYS=dev:write:{secrets.token_urlsafe(24)}\n"
                        f"DEV_OPERATOR_PASSWORD={secrets.token_urlsafe(12)}\n")
        path.chmod(0o600)
    values = dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return values


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def run_system() -> int:
    """Embedded server (when none is configured), seed data, workers, scheduler, API, dashboard."""
    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    server = None
    env: dict[str, str] = {}
    if not settings.server_configured:
        from .embedded import start_embedded

        server = start_embedded(settings.data_dir / "valkey", port=settings.embedded_port)
        env["REDIS_URL"] = server.connection_url
        log.info("embedded Valkey on %s, data in %s", server.connection_url, settings.data_dir / "valkey")
    try:
        os.environ.update(env)
        eng = Engine.from_settings(Settings())
        creds = _dev_credentials(settings.data_dir)
        env.update({"API_KEYS": os.environ.get("API_KEYS", creds["API_KEYS"])})
        os.environ.update(env)
        children = worker_children(eng.table, eng.table.names, burst=False)
        children.append(Child("scheduler", [PY, "-m", "engine", "scheduler"]))
        if _has("domain"):
            subprocess.run([PY, "-m", "domain", "seed"], check=False)
            children.append(Child("outbox relay", [PY, "-m", "processors.outbox_relay"]))
        if _has("api_shim"):
            children.append(Child("api", [PY, "-m", "api_shim", "--host", "127.0.0.1", "--port", "8000"]))
        if _has("dashboard.users"):
            subprocess.run([PY, "-m", "dashboard.users", "ensure-dev-operator", "operator",
                            creds["DEV_OPERATOR_PASSWORD"]], check=False)
            children.append(Child("dashboard", [PY, "-m", "streamlit", "run", "dashboard/app.py",
                                                "--server.address", "127.0.0.1", "--server.port", "8501"]))
        _banner(env, creds)
        return Supervisor(children).run()
    finally:
        if server is not None:
            server.stop()
            log.info("embedded Valkey stopped")


def _banner(env: dict[str, str], creds: dict[str, str]) -> None:
    key = env["API_KEYS"].split(",")[0].split(":")[-1]
    print("\n" + "=" * 72)
    print(f"  Redis:      {os.environ.get('REDIS_URL', 'configured server')}")
    print("  API:        http://127.0.0.1:8000/docs   (header X-API-Key: %s)" % key)
    print("  Dashboard:  http://127.0.0.1:8501        (user operator / %s)" % creds["DEV_OPERATOR_PASSWORD"])
    print("  Stop everything with Ctrl-C.")
    print("=" * 72 + "\n", flush=True)
