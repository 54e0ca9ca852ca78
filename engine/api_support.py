"""Small reads the REST API (api_shim) needs that the engine did not expose yet. Additive only."""
from __future__ import annotations

from .app import Engine, resolve
from .failure_groups import group_exists


def failure_group_exists(signature: str, *, engine: Engine | None = None) -> bool:
    """True when a failure group with this signature has been recorded."""
    return group_exists(resolve(engine), signature)
