"""Loading what the application provides (its queue table, its schedules) from `module:attribute` settings."""
from __future__ import annotations

import importlib
from typing import Any

from .errors import ConfigError


def load_object(spec: str, setting: str) -> Any:
    """The attribute named by `spec` ("package.module:attribute"); ConfigError naming `setting` otherwise."""
    module, sep, attr = (spec or "").partition(":")
    if not sep or not module or not attr:
        raise ConfigError(f"{setting} must be module:attribute, not {spec!r}")
    try:
        found: Any = importlib.import_module(module)
    except ImportError as exc:
        raise ConfigError(f"{setting}={spec}: cannot import {module}: {exc}") from None
    for part in attr.split("."):
        try:
            found = getattr(found, part)
        except AttributeError:
            raise ConfigError(f"{setting}={spec}: {module} has no attribute {attr!r}") from None
    return found
