"""Picking the provider the settings name."""
from __future__ import annotations

from ..settings import DomainSettings
from .base import Provider
from .cloud import CloudProvider
from .sandbox import SandboxProvider


def make_provider(settings: DomainSettings) -> Provider:
    """The provider named by `whatsapp_provider` ("sandbox" or "cloud")."""
    if settings.whatsapp_provider == "cloud":
        return CloudProvider(settings.whatsapp_api_base_url, settings.whatsapp_phone_number_id,
                             settings.whatsapp_token, settings.whatsapp_timeout_s)
    return SandboxProvider()
