"""Request and response models of the support desk: search, bulk on a search, cancel, fix and resend."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from engine.schemas import SAFE_ID_PATTERN

from .requests import NOT_BLANK, QueueName, StrictModel
from .responses import Open


KEY_VALUE_PATTERN = SAFE_ID_PATTERN
PHONE_QUERY_PATTERN = r"^\+?[0-9][0-9 ().\-/]{0,39}$"
SEARCH_STATES = ("waiting", "scheduled", "active", "finished", "failed", "dead_lettered", "cancelled")
SearchState = Literal[SEARCH_STATES]  # type: ignore[valid-type]
CURSOR_PATTERN = r"^(k|e):[0-9]{1,16}:[A-Za-z0-9_-]{1,128}$|^p:[0-9]{1,20}:[A-Za-z0-9_-]{0,128}$"
KeyValue = Annotated[str, StringConstraints(pattern=KEY_VALUE_PATTERN)]
PhoneQuery = Annotated[str, StringConstraints(pattern=PHONE_QUERY_PATTERN)]
SEARCH_TERMS = ("order_id", "phone", "retailer_id", "wholesaler_id", "account_id", "q")


class SearchFilterBody(StrictModel):
    """The search's conditions; at least one business key or q."""

    model_config = ConfigDict(json_schema_extra={"anyOf": [{"required": [t]} for t in SEARCH_TERMS]})

    order_id: KeyValue = None
    phone: PhoneQuery = Field(default=None, description="any common format; read as Nepali without a country code")
    retailer_id: KeyValue = None
    wholesaler_id: KeyValue = None
    account_id: KeyValue = None
    q: str = Field(default=None, min_length=1, max_length=200, pattern=NOT_BLANK,
                   description="a job-id prefix, or words of an error message")
    queue: QueueName = None
    state: SearchState = None

    @model_validator(mode="after")
    def _a_term(self):
        if not any(getattr(self, t) is not None for t in SEARCH_TERMS):
            raise ValueError("give at least one of " + ", ".join(SEARCH_TERMS))
        return self


class BulkSearchRequest(StrictModel):
    filter: SearchFilterBody


class RetryBody(StrictModel):
    """Fix and resend: `data` replaces the job's data (checked by the queue's schema)."""

    data: dict[str, Any]


class SearchError(Open):
    type: str
    message: str
    run: int | None = None
    time: str | None = None


class SearchItem(Open):
    queue: str
    id: str
    state: SearchState
    status: str
    priority: str
    runs: int
    enqueued_at: str | None = None
    started_at: str | None = None
    ended_at: str | None = None
    data: Any = None
    last_error: SearchError | None = None
    cancel_requested: bool


class SearchPage(BaseModel):
    items: list[SearchItem]
    next_cursor: str | None = Field(description="pass as cursor for the next page; null at the end")
    hint: str | None = Field(default=None, description="set when the request named nothing to search for")


class SearchCount(BaseModel):
    count: int = Field(description="matching jobs the action applies to, counted up to cap + 1")
    cap: int
    over_cap: bool


class JobEvent(Open):
    at: str | None = None
    at_ms: int
    event: str
    queue: str
    job_id: str
    run: int | None = None
    detail: str


class CancelResult(BaseModel):
    id: str
    queue: str
    outcome: Literal["cancelled", "cancelling"] = Field(
        description="cancelled at once, or cancelling: it runs and stops at its next check (or after the grace)")
