"""API configuration, read once from the environment at the edge (create_app / python -m api_shim).

API_KEYS="name:role:key,name:role:key" where role is `read` or `write`. The key itself may
contain ':' (everything after the second ':' is the key). Keys are held as SecretStr and are
never logged or shown in a repr.
"""
from __future__ import annotations

import hmac
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

log = logging.getLogger("api_shim")

ROLES = ("read", "write")
MAX_BODY_BYTES = 64 * 1024


@dataclass(frozen=True)
class ApiKey:
    name: str
    role: str
    secret: SecretStr = field(repr=False)

    def __post_init__(self) -> None:
        if not self.name or any(c in self.name for c in ":,") or self.name != self.name.strip():
            raise ValueError("API key name must be non-empty, without ':' ',' or surrounding spaces")
        if self.role not in ROLES:
            raise ValueError(f"API key {self.name!r}: role must be one of {', '.join(ROLES)}")
        if len(self.secret.get_secret_value()) < 8:
            raise ValueError(f"API key {self.name!r}: the key must be at least 8 characters")

    @property
    def can_write(self) -> bool:
        return self.role == "write"


def parse_api_keys(raw: str | SecretStr | None) -> list[ApiKey]:
    """Parse API_KEYS ("name:role:key,..."). Raises ValueError naming the entry (never the key)."""
    text = raw.get_secret_value() if isinstance(raw, SecretStr) else (raw or "")
    keys: list[ApiKey] = []
    for index, part in enumerate(p.strip() for p in text.split(",")):
        if not part:
            continue
        pieces = part.split(":", 2)
        if len(pieces) != 3:
            raise ValueError(f"API_KEYS entry {index + 1} must look like name:role:key")
        name, role, secret = (p.strip() for p in pieces)
        keys.append(ApiKey(name, role, SecretStr(secret)))
    names = [k.name for k in keys]
    if len(set(names)) != len(names):
        raise ValueError("API_KEYS names must be unique")
    return keys


class Keyring:
    """The configured keys; lookup compares the offered key with every key in constant time."""

    def __init__(self, keys: Iterable[ApiKey]):
        self.keys = list(keys)
        self._secrets = [(k, k.secret.get_secret_value().encode("utf-8")) for k in self.keys]

    def match(self, offered: str | None) -> ApiKey | None:
        if not offered:
            return None
        # Header values arrive latin-1 decoded; this restores the bytes the client sent.
        candidate = offered.encode("latin-1", errors="replace")
        found: ApiKey | None = None
        for key, secret in self._secrets:  # no early exit: every key is compared
            if hmac.compare_digest(candidate, secret) and found is None:
                found = key
        return found

    def __len__(self) -> int:
        return len(self.keys)

    def __repr__(self) -> str:
        return f"Keyring({[f'{k.name}:{k.role}' for k in self.keys]})"


class ApiSettings(BaseSettings):
    """API_KEYS, the request body limit and the request time budget. Field names map to upper-case env vars."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    api_keys: SecretStr = Field(default=SecretStr(""), description="name:role:key,...")
    api_max_body_bytes: int = Field(default=MAX_BODY_BYTES, ge=1024, le=16 * 1024 * 1024)
    # A write is sent to the server only within this long of the request's arrival (engine/deadline.py).
    api_request_budget_s: float = Field(default=2.0, gt=0, le=120)

    def keyring(self) -> Keyring:
        return Keyring(parse_api_keys(self.api_keys))


def build_keyring(api_keys: str | Sequence[ApiKey] | Keyring | None) -> Keyring:
    if isinstance(api_keys, Keyring):
        return api_keys
    if api_keys is None:
        ring = ApiSettings().keyring()
    elif isinstance(api_keys, str):
        ring = Keyring(parse_api_keys(api_keys))
    else:
        ring = Keyring(api_keys)
    if not len(ring):
        log.warning("API_KEYS is empty: every /api/v1 route will answer 401")
    return ring
