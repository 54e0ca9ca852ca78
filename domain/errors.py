"""Errors the domain raises on purpose; processors map them to retry or dead-letter decisions."""
from __future__ import annotations


class DomainError(Exception):
    """Base of the domain's own errors."""


class NotFound(DomainError, LookupError):
    """The named row does not exist (retrying cannot make it appear)."""

    def __init__(self, kind: str, ident: object):
        super().__init__(f"unknown {kind} {ident!r}")
        self.kind = kind
        self.ident = ident


class InvalidTransition(DomainError):
    """The operation does not fit the row's current state."""


class CreditLimitExceeded(DomainError):
    """A credit order would take the account over its limit."""


def parse_id(kind: str, value: object) -> int:
    """A job's string id ("42") as a row id; anything else names no row."""
    text = str(value).strip()
    if not text.isdigit() or len(text) > 18:
        raise NotFound(kind, value)
    return int(text)
