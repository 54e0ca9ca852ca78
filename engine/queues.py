"""The queue table's machinery: each queue's whole policy in one place, validated when built.

The engine holds no table of its own: the application names one with ENGINE_QUEUES
(engine/loading.py), and QUEUE_OVERRIDES changes any field of any of its queues.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Literal, Mapping

from pydantic import BaseModel

from .errors import ConfigError, UnknownQueueError

Backoff = Literal["exponential", "fixed"]
# A queue name is also an RQ queue name, a key segment and a URL path segment.
QUEUE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
NOT_OVERRIDABLE = ("name", "schema")  # QUEUE_OVERRIDES is JSON: a model class cannot come from there

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
    # (data field, interval s): at most one start per value of that field every interval (e.g. per phone)
    key_limit: tuple[str, float] | None = None
    # other dotted names this queue's jobs may carry (an earlier or twin processor's): `func` runs for them too
    also_accepts: tuple[str, ...] = ()
    schema: type[BaseModel] = field(kw_only=True)  # the pydantic model of the job's data (required)

    def __post_init__(self) -> None:
        problems = []
        if not isinstance(self.name, str) or not QUEUE_NAME.match(self.name):
            problems.append("name must be a letter then up to 63 letters, digits, '_' or '-'")
        if not isinstance(self.func, str) or "." not in self.func:
            problems.append("func must be the dotted path of the processor")
        if not isinstance(self.also_accepts, tuple) or not all(isinstance(n, str) and "." in n
                                                                for n in self.also_accepts):
            problems.append("also_accepts must be a tuple of dotted paths")
        if not (isinstance(self.schema, type) and issubclass(self.schema, BaseModel)):
            problems.append("schema must be a pydantic model class of the job's data")
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
        if self.key_limit is not None and not (
                isinstance(self.key_limit, tuple) and len(self.key_limit) == 2 and isinstance(self.key_limit[0], str)
                and self.key_limit[0] and isinstance(self.key_limit[1], (int, float)) and self.key_limit[1] > 0):
            problems.append("key_limit must be (data field, interval_s > 0)")
        if problems:
            raise ConfigError(f"queue {self.name}: " + "; ".join(problems))

    def accepts(self, func_name: str) -> bool:
        """A job naming `func_name` is this queue's to run (through `func`): refused otherwise, never imported."""
        return func_name == self.func or func_name in self.also_accepts

    @property
    def max_runs(self) -> int:
        return self.retries + 1

    def wait_s(self, retry_number: int) -> float:
        """The wait before retry `retry_number` (1 for the first retry)."""
        if self.backoff == "fixed":
            return self.backoff_base_s
        return self.backoff_base_s * 2 ** (retry_number - 1)

    def with_overrides(self, overrides: Mapping[str, Any]) -> "QueuePolicy":
        known = {f.name for f in dataclasses.fields(self)} - set(NOT_OVERRIDABLE)
        unknown = set(overrides) - known
        if unknown:
            raise ConfigError(f"queue {self.name}: unknown setting(s) {sorted(unknown)}")
        values = dict(overrides)
        if isinstance(values.get("key_limit"), list):  # JSON has no tuples
            values["key_limit"] = tuple(values["key_limit"])
        if isinstance(values.get("also_accepts"), list):
            values["also_accepts"] = tuple(values["also_accepts"])
        func = values.get("func", self.func)
        if func != self.func:  # jobs already enqueued under the table's name run through the override's processor
            kept = values.get("also_accepts", self.also_accepts)
            values["also_accepts"] = tuple(n for n in (*kept, self.func) if n != func)
        if isinstance(values.get("sla"), dict):
            values["sla"] = SlaTarget(**values["sla"])
        return dataclasses.replace(self, **values)


@dataclass(frozen=True)
class QueueTable:
    """An application's queues with configuration overrides applied."""

    policies: Mapping[str, QueuePolicy] = field(default_factory=dict)

    @classmethod
    def build(cls, policies: "Iterable[QueuePolicy] | QueueTable",
              overrides: Mapping[str, Mapping[str, Any]] | None = None) -> "QueueTable":
        """The table of `policies` (QueuePolicy rows, or another table) with `overrides` applied.

        Raises ConfigError for no queues, a repeated name, a row that is not a QueuePolicy or an
        override of an unknown queue or field."""
        rows = list(policies)
        if not rows:
            raise ConfigError("the queue table has no queues")
        bad = [r for r in rows if not isinstance(r, QueuePolicy)]
        if bad:
            raise ConfigError(f"queue table rows must be QueuePolicy, not {type(bad[0]).__name__}")
        names = [p.name for p in rows]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ConfigError(f"queue(s) {repeated} appear more than once in the table")
        overrides = overrides or {}
        unknown = set(overrides) - set(names)
        if unknown:
            raise ConfigError(f"overrides for unknown queue(s) {sorted(unknown)}")
        return cls({p.name: p.with_overrides(overrides.get(p.name, {})) for p in rows})

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

