"""One data schema per queue, shared by the helpers, the API and the dashboard forms."""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import pydantic
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from .errors import UnknownQueueError, ValidationError

SAFE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"
# RQ 3 accepts only letters, digits, '_' and '-' in a job id
JOB_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$"
E164_PATTERN = r"^\+[1-9][0-9]{6,14}$"

SafeId = Annotated[str, StringConstraints(pattern=SAFE_ID_PATTERN)]
Phone = Annotated[str, StringConstraints(pattern=E164_PATTERN)]


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class WhatsAppData(_Data):
    phone: Phone = Field(description="recipient in E.164, e.g. +9779800000000")
    message: str = Field(min_length=1, max_length=4096)
    reference: SafeId | None = Field(default=None, description="what the message is about, e.g. an order id")
    # business keys the support desk finds the message by (engine/search_index.py)
    order_id: SafeId | None = Field(default=None, description="the order the message is about")
    retailer_id: SafeId | None = Field(default=None, description="the retailer it is about")
    wholesaler_id: SafeId | None = Field(default=None, description="the wholesaler it is about")
    account_id: SafeId | None = Field(default=None, description="the credit account it is about")


class OrderExpiryData(_Data):
    order_id: SafeId
    expires_at: datetime

    @field_validator("expires_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("must be timezone-aware")
        return value


class VendorFallbackData(_Data):
    order_id: SafeId
    failed_wholesaler_id: SafeId


class DailyReportData(_Data):
    report_date: date | None = None


class CreditReconciliationData(_Data):
    account_id: SafeId | None = None


SCHEMAS: dict[str, type[_Data]] = {
    "whatsapp": WhatsAppData,
    "orderExpiry": OrderExpiryData,
    "vendorFallback": VendorFallbackData,
    "dailyReports": DailyReportData,
    "creditReconciliation": CreditReconciliationData,
}


def validate_data(queue: str, data: Any) -> dict[str, Any]:
    """Check `data` against the queue's schema; return it as JSON-ready values.

    Raises ValidationError naming the first bad field, or UnknownQueueError.
    """
    schema = SCHEMAS.get(queue)
    if schema is None:
        raise UnknownQueueError(queue)
    if not isinstance(data, dict):
        raise ValidationError("data", "must be an object")
    try:
        model = schema.model_validate(data)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "data"
        raise ValidationError(field, first["msg"]) from None
    return model.model_dump(mode="json", exclude_none=True)


def check_job_id(job_id: str) -> str:
    import re

    if not isinstance(job_id, str) or not re.fullmatch(JOB_ID_PATTERN, job_id):
        raise ValidationError("job_id", "must be 1-128 letters, digits, '_' or '-', starting with a letter or digit")
    return job_id
