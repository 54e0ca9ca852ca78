"""Dashboard users: salted PBKDF2-HMAC-SHA256 password hashes and the user store.

No Streamlit import here: the `python -m dashboard.users` command uses this module too.

A hash is stored as ``pbkdf2_sha256$<iterations>$<salt, base64>$<digest, base64>``. Verification
re-derives the digest with the stored salt and iterations and compares with hmac.compare_digest;
a hash with fewer than MIN_ITERATIONS iterations is refused (no downgrade through an edited store).

Users come from two places, merged (the environment wins for a name in both):

* ``.streamlit/secrets.toml``: one table per user, ``[users.alice]`` with ``role`` and ``hash``;
* the environment variable ``DASHBOARD_USERS``: JSON, ``{"alice": {"role": "operator", "hash": "..."}}``.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
from dataclasses import dataclass
from typing import Any, Mapping

ALGORITHM = "pbkdf2_sha256"
ITERATIONS = 600_000  # OWASP's 2023 figure for PBKDF2-HMAC-SHA256
MIN_ITERATIONS = 600_000
SALT_BYTES = 16
ROLES = ("operator", "viewer")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")  # also a bare TOML key
MIN_PASSWORD_LENGTH = 8
ENV_VAR = "DASHBOARD_USERS"

# Verified against when the user name is unknown, so that a miss costs as long as a hit.
_DUMMY_HASH = None


class UserStoreError(ValueError):
    """A malformed user entry or store."""


@dataclass(frozen=True)
class User:
    name: str
    role: str
    password_hash: str

    @property
    def can_write(self) -> bool:
        return self.role == "operator"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str, *, iterations: int = ITERATIONS, salt: bytes | None = None) -> str:
    """A new salted hash of `password`."""
    if not isinstance(password, str) or not password:
        raise ValueError("password must be a non-empty string")
    if iterations < MIN_ITERATIONS:
        raise ValueError(f"iterations must be at least {MIN_ITERATIONS}")
    salt = salt if salt is not None else secrets.token_bytes(SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    return f"{ALGORITHM}${iterations}${_b64(salt)}${_b64(digest)}"


def _parse(stored: str) -> tuple[int, bytes, bytes] | None:
    try:
        algorithm, iterations, salt, digest = stored.split("$")
        if algorithm != ALGORITHM:
            return None
        n = int(iterations)
        return n, base64.b64decode(salt, validate=True), base64.b64decode(digest, validate=True)
    except (ValueError, AttributeError, TypeError):
        return None


def verify_password(password: str, stored: str) -> bool:
    """True when `password` matches the stored hash (constant-time comparison)."""
    parsed = _parse(stored)
    if parsed is None or not isinstance(password, str):
        return False
    iterations, salt, expected = parsed
    if iterations < MIN_ITERATIONS or not salt or not expected:
        return False
    actual = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    return hmac.compare_digest(actual, expected)


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise UserStoreError("user name must be 1-64 letters, digits, '_' or '-', starting with a letter or digit")
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise UserStoreError(f"role must be one of {', '.join(ROLES)}")
    return role


def _user(name: str, entry: Any) -> User:
    if not isinstance(entry, Mapping):
        raise UserStoreError(f"user {name!r}: expected a table with role and hash")
    role, stored = entry.get("role"), entry.get("hash")
    check_name(name)
    check_role(role)
    if not isinstance(stored, str) or _parse(stored) is None:
        raise UserStoreError(f"user {name!r}: hash is not a {ALGORITHM} hash")
    return User(name, role, stored)


def users_from_mapping(table: Mapping[str, Any] | None) -> dict[str, User]:
    """Users from a `[users]` table; malformed entries are skipped (and reported by `problems`)."""
    out: dict[str, User] = {}
    for name, entry in (table or {}).items():
        try:
            out[name] = _user(name, entry)
        except UserStoreError:
            continue
    return out


def problems(table: Mapping[str, Any] | None) -> list[str]:
    """Why entries of a `[users]` table are unusable."""
    found = []
    for name, entry in (table or {}).items():
        try:
            _user(name, entry)
        except UserStoreError as exc:
            found.append(str(exc))
    return found


def users_from_env(environ: Mapping[str, str] | None = None) -> dict[str, User]:
    raw = (environ if environ is not None else os.environ).get(ENV_VAR, "").strip()
    if not raw:
        return {}
    try:
        table = json.loads(raw)
    except ValueError:
        return {}
    return users_from_mapping(table if isinstance(table, dict) else {})


def authenticate(users: Mapping[str, User], name: str, password: str) -> User | None:
    """The user when name and password match; None otherwise, after the same amount of work."""
    global _DUMMY_HASH
    user = users.get(name) if isinstance(name, str) else None
    if user is None:
        if _DUMMY_HASH is None:
            _DUMMY_HASH = hash_password(secrets.token_urlsafe(16))
        verify_password(password or "", _DUMMY_HASH)
        return None
    return user if verify_password(password or "", user.password_hash) else None
