"""WhatsApp providers and the choice between them."""
from .base import Provider, SendError, SendResult
from .choose import make_provider
from .cloud import CloudProvider, classify_error
from .sandbox import SandboxProvider

__all__ = ["CloudProvider", "Provider", "SandboxProvider", "SendError", "SendResult", "classify_error",
           "make_provider"]
