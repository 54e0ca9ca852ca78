"""The default provider: accepts every message as delivered and sends nothing."""
from __future__ import annotations

import hashlib

from .base import SendResult


class SandboxProvider:
    """For development and demos; the message id is derived from the idempotency key."""

    name = "sandbox"
    resend_is_harmless = True

    def send_text(self, phone: str, body: str, *, idempotency_key: str) -> SendResult:
        """Delivered at once, nothing sent."""
        digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]
        return SendResult(provider_message_id=f"sandbox.{digest}", status="delivered")

    def send_template(self, phone: str, name: str, language: str, params: list[str], *,
                      idempotency_key: str) -> SendResult:
        """Delivered at once, nothing sent."""
        return self.send_text(phone, name, idempotency_key=idempotency_key)

    async def asend_text(self, phone: str, body: str, *, idempotency_key: str) -> SendResult:
        """send_text, for async slots."""
        return self.send_text(phone, body, idempotency_key=idempotency_key)

    async def asend_template(self, phone: str, name: str, language: str, params: list[str], *,
                             idempotency_key: str) -> SendResult:
        """send_template, for async slots."""
        return self.send_text(phone, name, idempotency_key=idempotency_key)
