"""Normalised failure signatures: failures that differ only in ids and numbers group together."""
from __future__ import annotations

import hashlib
import re

_MASKS = (
    (re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"), "<uuid>"),
    (re.compile(r"\b[0-9a-fA-F]{16,}\b"), "<hex>"),
    (re.compile(r"\+?\b\d[\d.,:]*\b"), "<n>"),
    (re.compile(r"'[^']{0,200}'|\"[^\"]{0,200}\""), "<str>"),
    (re.compile(r"\b[\w.-]+@[\w.-]+\b"), "<email>"),
    (re.compile(r"\b[A-Za-z_-]*\d[\w-]*\b"), "<id>"),
)


def normalise(message: str) -> str:
    text = message.strip()[:500]
    for pattern, mask in _MASKS:
        text = pattern.sub(mask, text)
    return re.sub(r"\s+", " ", text)


def signature(error_type: str, message: str, function: str) -> tuple[str, str]:
    """(signature id, normalised message) for a failure."""
    normal = normalise(message)
    digest = hashlib.sha1(f"{error_type}|{normal}|{function}".encode()).hexdigest()[:16]
    return digest, normal
