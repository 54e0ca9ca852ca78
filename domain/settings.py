"""Domain configuration: the database, the WhatsApp provider and business timings, read once per process."""
from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

E164_PATTERN = r"^\+[1-9][0-9]{6,14}$"


class DomainSettings(BaseSettings):
    """Settings for the business side; field names map to upper-case environment variables."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    database_url: str = "sqlite:///var/domain.sqlite3"  # env DATABASE_URL
    whatsapp_provider: Literal["sandbox", "cloud"] = "sandbox"
    whatsapp_api_base_url: str = "https://graph.facebook.com/v21.0"
    whatsapp_phone_number_id: str | None = None
    whatsapp_token: str | None = None
    whatsapp_timeout_s: float = Field(default=10.0, gt=0)
    whatsapp_templates: str | None = None  # env WHATSAPP_TEMPLATES: the template registry; None: the platform's own
    whatsapp_window_s: float = Field(default=86400.0, gt=0)  # free text only this long after the recipient wrote
    whatsapp_verify_token: str | None = None  # env WHATSAPP_VERIFY_TOKEN: the webhook subscription check
    whatsapp_app_secret: str | None = None  # env WHATSAPP_APP_SECRET: the webhook signatures' HMAC key
    support_phone: str = Field(default="+9779800000001", pattern=E164_PATTERN)
    reconciliation_alert_threshold: Decimal = Field(default=Decimal("100"), ge=0)
    scheduler_tz: str = "UTC"  # env SCHEDULER_TZ, an IANA zone name
    reports_dir: Path = Path("var/reports")
    vendor_confirm_timeout_s: int = Field(default=900, gt=0)
    outbox_relay_interval_s: float = Field(default=2.0, gt=0)  # how often the relay looks for unsent rows
    # Tests only: the relay exits (os._exit) after enqueueing a batch, before marking it sent
    outbox_relay_crash_at: Literal["after-enqueue"] | None = None

    @field_validator("scheduler_tz")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("whatsapp_api_base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")


@lru_cache(maxsize=1)
def get_settings() -> DomainSettings:
    """The process-wide settings from the environment, built on first use."""
    return DomainSettings()


def resolve_settings(settings: DomainSettings | None) -> DomainSettings:
    """Explicit settings win; otherwise the cached process default."""
    return settings if settings is not None else get_settings()
