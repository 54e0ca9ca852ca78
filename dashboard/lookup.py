"""What the sidebar search box was given: an order id, a phone, a retailer, a job id or prefix, or words.

Pure (no Streamlit): parse() returns the candidate targets, best first; the box opens the first
and offers the others. `to_e164` is the engine's phone normaliser (the one used at enqueue).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

JOB_ID = re.compile(r"[0-9a-f]{32}")
TAGGED_JOB_ID = re.compile(r"\{[A-Za-z][A-Za-z0-9_-]{0,63}\}[A-Za-z0-9][A-Za-z0-9_-]{0,127}")  # cluster mode: {queue}id
HEX = re.compile(r"[0-9a-f]{4,31}")
DIGITS = re.compile(r"[0-9]+")
PHONE_CHARS = re.compile(r"\+?[0-9 ().\-/]{7,25}")
PREFIXED = re.compile(r"(order|retailer|phone|job|r|o)\s*[:#]\s*(.+)", re.IGNORECASE)
ORDER_HASH = re.compile(r"#\s*([0-9]+)")
MIN_PHONE_DIGITS = 9  # shorter digit strings are order ids (a local mobile number has at least 9 digits)
MAX_QUERY = 200


@dataclass(frozen=True)
class Target:
    """One place the box can lead: kind is order, retailer, phone, job, job_prefix or text."""

    kind: str
    value: str

    @property
    def label(self) -> str:
        return {"order": f"Order {self.value}", "retailer": f"Retailer {self.value}",
                "phone": f"Phone {self.value}", "job": f"Job {self.value}",
                "job_prefix": f"Jobs with an id starting {self.value}",
                "text": f"Jobs whose error mentions “{self.value}”"}[self.kind]


def _phone(text: str, to_e164: Callable[[str], str]) -> Target | None:
    try:
        return Target("phone", to_e164(text))
    except (ValueError, LookupError):  # the engine's ValidationError is a ValueError
        return None


def parse(text: str, to_e164: Callable[[str], str]) -> list[Target]:
    """The targets `text` may mean, most likely first; [] for empty input."""
    text = (text or "").strip()[:MAX_QUERY]
    if not text:
        return []
    prefixed = PREFIXED.fullmatch(text)
    if prefixed:
        kind, value = prefixed.group(1).lower(), prefixed.group(2).strip()
        kind = {"o": "order", "r": "retailer"}.get(kind, kind)
        if kind in ("order", "retailer"):
            return [Target(kind, value)] if DIGITS.fullmatch(value) else []
        if kind == "phone":
            found = _phone(value, to_e164)
            return [found] if found else []
        value = value.lower()
        if JOB_ID.fullmatch(value):
            return [Target("job", value)]
        return [Target("job_prefix", value)] if HEX.fullmatch(value) else []
    if TAGGED_JOB_ID.fullmatch(text):  # the tag is a queue name: its case stays
        return [Target("job", text)]
    hashed = ORDER_HASH.fullmatch(text)
    if hashed:
        return [Target("order", hashed.group(1))]
    lowered = text.lower()
    if JOB_ID.fullmatch(lowered):
        return [Target("job", lowered)]
    if DIGITS.fullmatch(text):
        order = Target("order", str(int(text)))
        if len(text) >= MIN_PHONE_DIGITS:
            phone = _phone(text, to_e164)
            return [phone, order] if phone else [order]
        return [order, Target("job_prefix", text)] if HEX.fullmatch(text) else [order]
    if PHONE_CHARS.fullmatch(text) and len(re.sub(r"\D", "", text)) >= 7:
        phone = _phone(text, to_e164)
        if phone:
            return [phone]
    if HEX.fullmatch(lowered):
        return [Target("job_prefix", lowered), Target("text", text)]
    return [Target("text", text)]
