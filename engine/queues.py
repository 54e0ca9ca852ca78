"""The queue table: each queue's whole policy in one place, validated when built."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal, Mapping

from .errors import ConfigError, UnknownQueueError

Backoff = Literal["exponential", "fixed"]

# Business keys the support desk finds jobs by (engine/search_index.py)
KEY_KINDS = ("order", "phone", "retailer", "wholesaler", "account")
# data field -> key kind, for a queue that declares nothing else
DEFAULT_INDEX_KEYS: Mapping[str, str] = {"order_id": "order", "phone": "phone", "retailer_id": "retailer",
                                         "wholesaler_id": "wholesaler", "account_id": "account"}


@dataclass(frozen=True)
class SlaTarget:
    """`ratio` of jobs must start within `start_within_s` of becoming due."""

    start_within_s: float
    ratio: float

    def __post_init__(self) -> None:
        if self.start_within_s <= 0 or not 0 < self.ratio <= 1:
            raise ConfigError(f"bad SLA target {self}")


@dataclass(frozen=True)
class QueuePolicy:
    name: str
    func: str  # dotted path of the processor, called with the job's data as keyword arguments
    concurrency: int
    retries: int  # retries after the first run
    backoff: Backoff
    backoff_base_s: float
    rate_limit_per_min: int  # job starts in any rolling window (60 s unless scaled)
    timeout_s: int = 300
    keep_completed_s: int = 24 * 3600
    keep_failed_s: int = 7 * 24 * 3600
    jitter: bool = False
    sla: SlaTarget | None = None
    # data field -> business key kind: the job is indexed under each named key at enqueue
    index_keys: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_INDEX_KEYS))

    def __post_init__(self) -> None:
        problems = []
        if self.concurrency < 1:
            problems.append("concurrency must be >= 1")
        if self.retries < 0:
            problems.append("retries must be >= 0")
        if self.backoff not in ("exponential", "fixed"):
            problems.append(f"backoff must be exponential or fixed, not {self.backoff!r}")
        if self.backoff_base_s <= 0:
            problems.append("backoff_base_s must be > 0")
        if self.rate_limit_per_min < 1:
            problems.append("rate_limit_per_min must be >= 1")
        if self.timeout_s < 1 or self.keep_completed_s < 1 or self.keep_failed_s < 1:
            problems.append("timeout and retention must be >= 1 s")
        bad_kinds = sorted(set(self.index_keys.values()) - set(KEY_KINDS))
        if bad_kinds:
            problems.append(f"index_keys: unknown key kind(s) {bad_kinds}; known: {', '.join(KEY_KINDS)}")
        if problems:
            raise ConfigError(f"queue {self.name}: " + "; ".join(problems))

    @property
    def max_runs(self) -> int:
        return self.retries + 1

    def wait_s(self, retry_number: int) -> float:
        """The wait before retry `retry_number` (1 for the first retry)."""
        if self.backoff == "fixed":
            return self.backoff_base_s
        return self.backoff_base_s * 2 ** (retry_number - 1)

    def with_overrides(self, overrides: Mapping[str, Any]) -> "QueuePolicy":
        known = {f.name for f in dataclasses.fields(self)} - {"name"}
        unknown = set(overrides) - known
        if unknown:
            raise ConfigError(f"queue {self.name}: unknown setting(s) {sorted(unknown)}")
        values = dict(overrides)
        if isinstance(values.get("sla"), dict):
            values["sla"] = SlaTarget(**values["sla"])
        return dataclasses.replace(self, **values)


DEFAULT_TABLE: tuple[QueuePolicy, ...] = (
    #           name                    processor                                   conc retries backoff       base  rate/min
    QueuePolicy("whatsapp",             "processors.whatsapp.run",                  5,   3, "exponential",  2.0, 100, timeout_s=30,
                sla=SlaTarget(start_within_s=60, ratio=0.95),
                index_keys={"phone": "phone", "order_id": "order", "retailer_id": "retailer",
                            "wholesaler_id": "wholesaler", "account_id": "account"}),
    QueuePolicy("orderExpiry",          "processors.order_expiry.run",              3,   2, "fixed",        5.0, 50, timeout_s=60,
                index_keys={"order_id": "order"}),
    QueuePolicy("vendorFallback",       "processors.vendor_fallback.run",           2,   3, "exponential",  3.0, 20, timeout_s=60,
                index_keys={"order_id": "order", "failed_wholesaler_id": "wholesaler"}),
    QueuePolicy("dailyReports",         "processors.daily_reports.run",             1,   2, "fixed",       10.0, 10, timeout_s=600,
                index_keys={}),
    QueuePolicy("creditReconciliation", "processors.credit_reconciliation.run",     2,   3, "exponential",  5.0, 30, timeout_s=600,
                index_keys={"account_id": "account"}),
)  # fmt: skip


@dataclass(frozen=True)
class QueueTable:
    """The five queues with configuration overrides applied."""

    policies: Mapping[str, QueuePolicy] = field(default_factory=dict)

    @classmethod
    def build(cls, overrides: Mapping[str, Mapping[str, Any]] | None = None) -> "QueueTable":
        overrides = overrides or {}
        names = {p.name for p in DEFAULT_TABLE}
        unknown = set(overrides) - names
        if unknown:
            raise ConfigError(f"overrides for unknown queue(s) {sorted(unknown)}")
        return cls({p.name: p.with_overrides(overrides.get(p.name, {})) for p in DEFAULT_TABLE})

    def __getitem__(self, name: str) -> QueuePolicy:
        try:
            return self.policies[name]
        except KeyError:
            raise UnknownQueueError(name) from None

    def __iter__(self):
        return iter(self.policies.values())

    @property
    def names(self) -> list[str]:
        return list(self.policies)


QUEUE_NAMES: tuple[str, ...] = tuple(p.name for p in DEFAULT_TABLE)
