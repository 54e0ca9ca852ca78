"""What every WhatsApp provider returns or raises."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class SendResult:
    """The provider accepted the message under `provider_message_id`."""

    provider_message_id: str
    status: str  # "sent" (accepted) or "delivered"


class SendError(Exception):
    """The provider did not accept the message.

    `retryable` says whether the same request may succeed later; `retry_after_s` is set when
    the provider asked us to slow down. `code` is the provider's error code, when it gave one.
    """

    def __init__(self, message: str, *, retryable: bool, code: str | None = None,
                 http_status: int | None = None, retry_after_s: float | None = None):
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.code = code
        self.http_status = http_status
        self.retry_after_s = retry_after_s


class Provider(Protocol):
    """A way to send WhatsApp text and template messages."""

    name: str
    # True when sending the same message again has no outside effect, so a send that may or
    # may not have happened (a crashed run) can simply be repeated.
    resend_is_harmless: bool

    def send_text(self, phone: str, body: str, *, idempotency_key: str) -> SendResult:
        """Send `body` to `phone` (E.164); raise SendError when the provider refuses."""
        ...

    def send_template(self, phone: str, name: str, language: str, params: list[str], *,
                      idempotency_key: str) -> SendResult:
        """Send an approved template with its body parameters; raise SendError when the provider refuses."""
        ...

    async def asend_text(self, phone: str, body: str, *, idempotency_key: str) -> SendResult:
        """send_text without blocking the running event loop."""
        ...

    async def asend_template(self, phone: str, name: str, language: str, params: list[str], *,
                             idempotency_key: str) -> SendResult:
        """send_template without blocking the running event loop."""
        ...
