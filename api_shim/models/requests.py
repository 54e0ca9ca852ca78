"""Request models and the types they share. Request models are strict (no type coercion) so that what the
OpenAPI document calls invalid is exactly what the API refuses."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any, Literal

from pydantic import (BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, WithJsonSchema,
                      model_validator)

from engine.schemas import NEW_JOB_ID_PATTERN, SAFE_ID_PATTERN

# A queue of the app's table. The table is the engine's, so the names are known only when the app is
# created: create_app fills in this marker's enum (api_shim/openapi.py), and the routes check the name
# against the app's table (deps.known_queue).
QUEUE_NAME_MARK = "x-queue-name"
QueueName = Annotated[str, WithJsonSchema({"type": "string", QUEUE_NAME_MARK: True})]
Priority = Literal["high", "normal", "low"]
Resolution = Literal["m", "h", "d"]

SIGNATURE_PATTERN = r"^[0-9a-f]{8,64}$"
# A new job's id: the engine's safe id without '.', which RQ refuses in job ids (see the report).
SafeId = Annotated[str, StringConstraints(pattern=SAFE_ID_PATTERN)]
# An entry id in a bulk body: a safe id, in cluster mode opening with its queue's hash tag ({whatsapp}...)
EntryId = Annotated[str, StringConstraints(pattern=r"^(?:\{[A-Za-z][A-Za-z0-9_-]{0,63}\})?" + SAFE_ID_PATTERN[1:])]
NewJobId = Annotated[str, StringConstraints(pattern=NEW_JOB_ID_PATTERN)]
Signature = Annotated[str, StringConstraints(pattern=SIGNATURE_PATTERN)]

# Characters pydantic's str_strip_whitespace removes (Unicode White_Space): a field that must not be
# empty after stripping must contain one character outside this set.
WHITE = "\\t\\n\\x0B\\x0C\\r \\x85\\xA0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000"
NOT_BLANK = f"[^{WHITE}]"

MAX_PAGE = 500
MAX_OFFSET = 1_000_000
MAX_BULK_IDS = 200

# RFC 3339 date-times with an offset, every calendar day of every month (29 February left out, which
# the API still accepts in leap years), in a year range where every offset stays within Python's
# years 1-9999 in UTC: what the OpenAPI document calls valid is what the API accepts.
_MONTH_DAY = r"((0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])|(0[13-9]|1[0-2])-(29|30)|(0[13578]|1[02])-31)"
_TIME = r"[Tt]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"
YEARS_ANY = r"(000[2-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])"
YEARS_SINCE_1970 = r"(19[7-9][0-9]|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])"
_RFC3339 = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}" + _TIME)


def date_time_pattern(years: str) -> str:
    return f"^{years}-{_MONTH_DAY}{_TIME}$"


def parse_timestamp(value: Any, years: str = YEARS_ANY) -> datetime:
    """An RFC 3339 date-time with an offset (e.g. 2024-05-01T12:00:00Z) in the given years; nothing looser."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise ValueError("must be an RFC 3339 date-time with a time zone, e.g. 2024-05-01T12:00:00Z")
    try:
        parsed = datetime.fromisoformat(value.upper())
        parsed.astimezone(timezone.utc)  # must exist in UTC too (9999-12-31T23:59:59-23:59 does not)
    except (ValueError, OverflowError):
        raise ValueError("not a valid date-time, or outside years 1-9999 in UTC") from None
    if not re.fullmatch(years, value[:4]):
        raise ValueError("the year is outside the accepted range (see the pattern)")
    return parsed


def timestamp_type(years: str, description: str, *, accepted_years: str | None = None) -> Any:
    """A date-time parameter documented (pattern) for `years` and accepted for `accepted_years`
    (the same unless given)."""
    accepted = accepted_years or years
    return Annotated[datetime, BeforeValidator(lambda v: parse_timestamp(v, accepted)),
                     WithJsonSchema({"type": "string", "pattern": date_time_pattern(years), "description": description})]


def _years_up_to(last: int) -> str:
    return "(" + "|".join(str(y) for y in range(1970, last + 1)) + ")"


def _json_int(value: Any) -> Any:
    """JSON Schema counts 9.0 as an integer; strings and booleans stay invalid."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


JsonInt = Annotated[int, BeforeValidator(_json_int)]

Timestamp = timestamp_type(YEARS_ANY, "RFC 3339 date-time with an offset, years 0002-9998")
# Metrics exist only after 1970.
SinceEpoch = timestamp_type(YEARS_SINCE_1970, "RFC 3339 date-time with an offset, years 1970-9998")
# A job runs at most 366 days ahead (the engine checks that exactly): documented are the years up to
# the last one wholly within 365 days of this process's start; later ones the engine allows are accepted.
RunAt = timestamp_type(_years_up_to((datetime.now(timezone.utc) + timedelta(days=364)).year - 1),
                       "RFC 3339 date-time with an offset, at most 366 days ahead", accepted_years=YEARS_ANY)


class StrictModel(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


# ---------------------------------------------------------------- requests


class NewJobBase(StrictModel):
    """Envelope of a new job; `data` is documented and checked per queue."""

    model_config = ConfigDict(json_schema_extra={"not": {"required": ["delay_s", "run_at"]}})

    data: dict[str, Any]
    priority: Priority = "normal"
    delay_s: float = Field(default=None, ge=0, le=366 * 86400, allow_inf_nan=False,
                           description="start after this many seconds (not with run_at)")
    run_at: RunAt = Field(default=None, description="start at this time (not with delay_s), at most 366 days ahead")
    job_id: NewJobId = Field(default=None, description="caller-chosen id (letters, digits, '_', '-'); "
                                                      "a pending job with this id is returned")

    @model_validator(mode="after")
    def _one_timing(self):
        if self.delay_s is not None and self.run_at is not None:
            raise ValueError("give delay_s or run_at, not both")
        return self


class DeadLetterFilterBody(StrictModel):
    model_config = ConfigDict(json_schema_extra={"minProperties": 1})

    queue: QueueName = None
    group: Signature = Field(default=None, description="failure signature")
    error_type: str = Field(default=None, min_length=1, max_length=200)
    since: Timestamp = None
    until: Timestamp = None

    @model_validator(mode="after")
    def _not_empty(self):
        if not self.model_fields_set:
            raise ValueError("give at least one condition (queue, group, error_type, since, until)")
        return self


class BulkRequest(StrictModel):
    """Either a filter or a list of entry ids, not both."""

    model_config = ConfigDict(json_schema_extra={"oneOf": [{"required": ["filter"]}, {"required": ["ids"]}]})

    filter: DeadLetterFilterBody = None
    ids: list[EntryId] = Field(default=None, min_length=1, max_length=MAX_BULK_IDS)

    @model_validator(mode="after")
    def _exactly_one(self):
        if (self.filter is None) == (self.ids is None):
            raise ValueError("give either filter or ids")
        return self


class RateLimitBody(StrictModel):
    limit: JsonInt = Field(ge=1, le=1_000_000, description="job starts per rate window")
    window_ms: JsonInt = Field(default=None, ge=100, le=86_400_000, description="rate window; unchanged when absent")
