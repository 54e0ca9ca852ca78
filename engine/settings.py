"""All configuration, read once from the environment into one object and passed down."""
from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Connection, timing and per-queue overrides. Field names map to upper-case env vars."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    redis_url: str | None = None
    redis_host: str | None = None
    redis_port: int = 6379
    redis_password: str | None = None
    redis_db: int = 0
    redis_sentinels: str | None = Field(default=None, description="host:port,host:port")
    redis_sentinel_master: str = "mymaster"

    data_dir: Path = Path("var")
    embedded_port: int = 6399  # the embedded Valkey's port when no server is configured
    scheduler_tz: str = "UTC"

    # Per-queue overrides of the queue table, e.g. {"whatsapp": {"timeout_s": 60, "concurrency": 8}}
    queue_overrides: dict[str, dict[str, Any]] = Field(default_factory=dict)

    # Per-schedule overrides of the schedule table, e.g. {"daily-report": {"cron": "30 0 * * *", "tz": "Asia/Kathmandu"}}
    schedule_overrides: dict[str, dict[str, Any]] = Field(default_factory=dict)

    # Timing knobs. Tests shrink these; production keeps the defaults.
    delay_scale: float = Field(default=1.0, gt=0, description="multiplies every retry wait")
    rate_window_ms: int = Field(default=60_000, gt=0)
    lease_ms: int = Field(default=10_000, ge=200, description="a job whose worker misses this long is recovered")
    reap_interval_ms: int = Field(default=2_000, ge=50)
    # A running job asked to cancel that runs on this long is recorded as cancelled; its result is discarded.
    cancel_grace_ms: int = Field(default=30_000, ge=0)

    # Phone numbers written without a country code (search, index) are read in this region (ISO 3166).
    phone_region: str = Field(default="NP", pattern=r"^[A-Z]{2}$")

    @field_validator("redis_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("REDIS_URL must start with redis://, rediss:// or unix://")
        return value

    @cached_property
    def sentinel_hosts(self) -> list[tuple[str, int]]:
        """Parsed REDIS_SENTINELS."""
        hosts = []
        for part in (self.redis_sentinels or "").split(","):
            if part.strip():
                host, _, port = part.strip().rpartition(":")
                hosts.append((host or "127.0.0.1", int(port)))
        return hosts

    @property
    def server_configured(self) -> bool:
        """True when the environment names a server; otherwise the run command embeds one."""
        return bool(self.redis_url or self.redis_host or self.redis_sentinels)
