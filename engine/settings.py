"""All configuration, read once from the environment into one object and passed down."""
from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Connection, the application's tables, timing and overrides. Field names map to upper-case env vars."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    redis_url: str | None = None
    redis_host: str | None = None
    redis_port: int = 6379
    redis_username: str | None = Field(default=None, description="an ACL user (deploy/valkey/engine.acl); unset: default")
    redis_password: str | None = None
    redis_db: int = 0
    redis_sentinels: str | None = Field(default=None, description="host:port,host:port")
    redis_sentinel_master: str = "mymaster"
    # Redis/Valkey Cluster: any masters to start from; when set, it wins over REDIS_URL and REDIS_HOST.
    redis_cluster_nodes: str | None = Field(default=None, description="host:port,host:port (cluster mode)")
    # Zero-loss enqueue: an enqueue returns only once this many replicas have its write (WAIT), else it fails
    # with ReplicationTimeoutError (re-send with the same job_id). 0: replication stays asynchronous.
    enqueue_wait_replicas: int = Field(default=0, ge=0, le=16)
    enqueue_wait_timeout_ms: int = Field(default=500, ge=1, le=60_000, description="below REDIS_SOCKET_TIMEOUT_S")

    data_dir: Path = Path("var")
    embedded_port: int = 6399  # the embedded Valkey's port when no server is configured
    scheduler_tz: str = "UTC"
    engine_hooks: str | None = Field(default=None, description="module:Class, a subclass of engine.hooks.Hooks")

    # The application's queue table and schedules (module:attribute); the defaults are the platform's.
    engine_queues: str = "processors.table:QUEUES"
    engine_schedules: str = "processors.schedules:SCHEDULES"
    # What `python -m engine run` starts beside the workers and the scheduler (module:attribute of a
    # callable; see engine/runner.py); empty: nothing else.
    engine_system: str = "processors.system:compose"

    # Per-queue overrides of the queue table, e.g. {"whatsapp": {"timeout_s": 60, "concurrency": 8}}
    queue_overrides: dict[str, dict[str, Any]] = Field(default_factory=dict)

    # Per-schedule overrides of the schedule table, e.g. {"daily-report": {"cron": "30 0 * * *", "tz": "Asia/Kathmandu"}}
    schedule_overrides: dict[str, dict[str, Any]] = Field(default_factory=dict)

    # Timing knobs. Tests shrink these; production keeps the defaults.
    delay_scale: float = Field(default=1.0, gt=0, description="multiplies every retry wait")
    rate_window_ms: int = Field(default=60_000, gt=0)
    lease_ms: int = Field(default=10_000, ge=200, description="a job whose worker misses this long is recovered")
    reap_interval_ms: int = Field(default=2_000, ge=50)
    scheduler_call_lease_ms: int = Field(default=600_000, ge=100,
                                         description="a call tick whose run has not finished this long is re-run")
    # Tests only: the scheduler exits (os._exit) at this step (engine.ticks.CRASH_POINTS)
    scheduler_crash_at: str | None = None

    # Alerts (engine/alerts.py, sent by the scheduler through engine/alert_delivery.py).
    alert_webhook_url: str | None = Field(default=None, description="Slack-compatible incoming webhook")
    alert_timeout_s: float = Field(default=2.0, gt=0, le=30, description="connect/read timeout of one POST")
    alert_max_attempts: int = Field(default=5, ge=1, le=20)
    alert_backoff_s: float = Field(default=1.0, gt=0, description="first retry wait; doubles, at most 5 min")
    alert_budget_s: float = Field(default=2.0, gt=0, description="time one scheduler pass may spend sending")
    alert_dead_letter_batch_s: float = Field(default=30.0, gt=0, description="one dead-letter message per queue per")
    alert_history_max: int = Field(default=1_000, ge=10)
    alert_history_days: float = Field(default=30.0, gt=0)
    # Shared with admission control: used_memory above this share of maxmemory is "memory full".
    memory_high_water_ratio: float = Field(default=0.9, gt=0, le=1)

    # Every server call is bounded: a frozen server makes a call fail (and the API answer 503) after
    # about this long. Blocking calls (the worker's BLPOP) get their block time on top.
    redis_socket_timeout_s: float = Field(default=1.0, gt=0, le=60)
    redis_connect_timeout_s: float = Field(default=1.0, gt=0, le=60)
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

    @field_validator("redis_cluster_nodes")
    @classmethod
    def _check_cluster_nodes(cls, value: str | None) -> str | None:
        if not (value or "").strip():
            return None
        for part in value.split(","):
            host, sep, port = part.strip().rpartition(":")
            if not (sep and host and port.isdigit() and 0 < int(port) < 65536):
                raise ValueError(f"REDIS_CLUSTER_NODES entries must be host:port, comma-separated; got {part!r}")
        return value

    @model_validator(mode="after")
    def _check_wait_fits_the_socket_timeout(self) -> "Settings":
        if self.enqueue_wait_replicas and self.enqueue_wait_timeout_ms >= self.redis_socket_timeout_s * 1000:
            raise ValueError("ENQUEUE_WAIT_TIMEOUT_MS must be shorter than REDIS_SOCKET_TIMEOUT_S (in ms), or the "
                             "socket times out before WAIT answers")
        return self

    @field_validator("alert_webhook_url")
    @classmethod
    def _check_webhook(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("ALERT_WEBHOOK_URL must start with http:// or https://")
        return value or None

    @cached_property
    def sentinel_hosts(self) -> list[tuple[str, int]]:
        """Parsed REDIS_SENTINELS."""
        hosts = []
        for part in (self.redis_sentinels or "").split(","):
            if part.strip():
                host, _, port = part.strip().rpartition(":")
                hosts.append((host or "127.0.0.1", int(port)))
        return hosts

    @cached_property
    def cluster_nodes(self) -> list[tuple[str, int]]:
        """Parsed REDIS_CLUSTER_NODES (empty when not in cluster mode)."""
        parts = [p.strip().rpartition(":") for p in (self.redis_cluster_nodes or "").split(",") if p.strip()]
        return [(host, int(port)) for host, _, port in parts]

    @property
    def server_configured(self) -> bool:
        """True when the environment names a server; otherwise the run command embeds one."""
        return bool(self.redis_cluster_nodes or self.redis_url or self.redis_host or self.redis_sentinels)
