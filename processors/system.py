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

from .demo import UNDELIVERABLE_DEMO_PHONE

FAKE_CLOUD_PORT = 8010


def dev_credentials(data_dir: Path) -> dict[str, str]:
    """A local write API key and operator password, made once and kept under var/ (mode 0600)."""
    path = data_dir / "dev-credentials.env"
    if not path.exists():
        path.write_text(f"API_KEYS=dev:write:{secrets.token_urlsafe(24)}\n"
                        f"DEV_OPERATOR_PASSWORD={secrets.token_urlsafe(12)}\n")
        path.chmod(0o600)
    creds = dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    missing = {k: secrets.token_urlsafe(24) for k in ("WHATSAPP_APP_SECRET", "WHATSAPP_VERIFY_TOKEN") if k not in creds}
    if missing:  # a credentials file from before the webhook: add its secrets once
        with path.open("a") as f:
            f.writelines(f"{k}={v}\n" for k, v in missing.items())
    return {**creds, **missing}


def fake_cloud(creds: dict[str, str], api_port: int = 8000, port: int = FAKE_CLOUD_PORT) -> tuple[Child, dict[str, str]]:
    """The local fake Cloud API (domain/whatsapp/fake_cloud.py) and the settings that point the provider and the
    webhook at it: statuses come back signed to the API's /webhooks/whatsapp."""
    env = {"WHATSAPP_PROVIDER": "cloud", "WHATSAPP_API_BASE_URL": f"http://127.0.0.1:{port}/v21.0",
           "WHATSAPP_PHONE_NUMBER_ID": "1234567890", "WHATSAPP_TOKEN": "fake-token",
           "WHATSAPP_APP_SECRET": creds["WHATSAPP_APP_SECRET"], "WHATSAPP_VERIFY_TOKEN": creds["WHATSAPP_VERIFY_TOKEN"]}
    # the secret goes by environment: not visible in `ps`, and a value starting with "-" is not taken for an option
    child = Child("fake whatsapp", [PY, "-m", "domain.whatsapp.fake_cloud", "--port", str(port),
                                    "--phone-number-id", env["WHATSAPP_PHONE_NUMBER_ID"], "--token", env["WHATSAPP_TOKEN"],
                                    "--webhook-url", f"http://127.0.0.1:{api_port}/webhooks/whatsapp",
                                    "--status-delay-s", "2",
                                    "--outcome", f"{UNDELIVERABLE_DEMO_PHONE.lstrip('+')}=131026"],
                  env={"WHATSAPP_APP_SECRET": env["WHATSAPP_APP_SECRET"]})
    return child, env


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def compose(eng: Engine, settings: Settings) -> System:
    """Seed the demo (once), then the API and the dashboard with local credentials."""
    creds = dev_credentials(settings.data_dir)
    api_keys = os.environ.get("API_KEYS", creds["API_KEYS"])
    system = System(env={"API_KEYS": api_keys})  # the runner sets it before the API starts
    if "WHATSAPP_PROVIDER" not in os.environ:  # no real provider configured: the demo talks to the fake API
        child, env = fake_cloud(creds)
        system.children.append(child)
        system.env.update(env)
        system.banner.append(f"WhatsApp:   fake Cloud API on http://127.0.0.1:{FAKE_CLOUD_PORT} (statuses signed to "
                             f"/webhooks/whatsapp)")
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
