"""What `make run` (`python -m engine run`) starts for the platform beside the workers and the scheduler:
the demo data and its jobs, a local API key and operator account, the REST API and the dashboard.

Loaded by the engine through ENGINE_SYSTEM (default `processors.system:compose`)."""
from __future__ import annotations

import importlib.util
import os
import secrets
import subprocess
from pathlib import Path

from engine.app import Engine
from engine.runner import PY, System
from engine.settings import Settings
from engine.supervisor import Child


def dev_credentials(data_dir: Path) -> dict[str, str]:
    """A local write API key and operator password, made once and kept under var/ (mode 0600)."""
    path = data_dir / "dev-credentials.env"
    if not path.exists():
        path.write_text(f"API_KEYS=dev:write:{secrets.token_urlsafe(24)}\n"
                        f"DEV_OPERATOR_PASSWORD={secrets.token_urlsafe(12)}\n")
        path.chmod(0o600)
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def compose(eng: Engine, settings: Settings) -> System:
    """Seed the demo (once), then the API and the dashboard with local credentials."""
    creds = dev_credentials(settings.data_dir)
    api_keys = os.environ.get("API_KEYS", creds["API_KEYS"])
    system = System(env={"API_KEYS": api_keys})  # the runner sets it before the API starts
    subprocess.run([PY, "-m", "processors", "seed"], check=False)
    system.children.append(Child("outbox relay", [PY, "-m", "processors.outbox_relay"]))
    key = api_keys.split(",")[0].split(":")[-1]
    if _has("api_shim"):
        system.children.append(Child("api", [PY, "-m", "api_shim", "--host", "127.0.0.1", "--port", "8000"]))
        system.banner.append(f"API:        http://127.0.0.1:8000/docs   (header X-API-Key: {key})")
    if _has("dashboard.users"):
        subprocess.run([PY, "-m", "dashboard.users", "ensure-dev-operator", "operator",
                        creds["DEV_OPERATOR_PASSWORD"]], check=False)
        system.children.append(Child("dashboard", [PY, "-m", "streamlit", "run", "dashboard/app.py",
                                                   "--server.address", "127.0.0.1", "--server.port", "8501"]))
        system.banner.append(f"Dashboard:  http://127.0.0.1:8501        (user operator / "
                             f"{creds['DEV_OPERATOR_PASSWORD']})")
    return system
