"""The data of each of the platform's jobs, one pydantic model per queue (QueuePolicy.schema).

The API documents them, the dashboard builds its Enqueue forms from them (title, field
descriptions and constraints) and the engine checks every job against them."""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from engine.schemas import SAFE_ID_PATTERN, RunAt

E164_PATTERN = r"^\+[1-9][0-9]{6,14}$"

SafeId = Annotated[str, StringConstraints(pattern=SAFE_ID_PATTERN)]
Phone = Annotated[str, StringConstraints(pattern=E164_PATTERN)]


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class WhatsAppData(_Data):
    model_config = ConfigDict(title="WhatsApp message")

    phone: Phone = Field(description="recipient in E.164: + country code and number, e.g. +9779800000000")
    message: str = Field(min_length=1, max_length=4096, description="the text to send")
    reference: SafeId | None = Field(default=None, description="what the message is about, e.g. an order id")
    # business keys the support desk finds the message by (engine/search_index.py)
    order_id: SafeId | None = Field(default=None, description="the order the message is about")
    retailer_id: SafeId | None = Field(default=None, description="the retailer it is about")
    wholesaler_id: SafeId | None = Field(default=None, description="the wholesaler it is about")
    account_id: SafeId | None = Field(default=None, description="the credit account it is about")


class OrderExpiryData(_Data):
    model_config = ConfigDict(title="Order expiry")

    order_id: SafeId = Field(description="the order to expire if it is still pending")
    expires_at: Annotated[datetime, RunAt("At the expiry time")] = Field(
        description="when the order expires (the expiry helper runs the job then)")

    @field_validator("expires_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("must be timezone-aware")
        return value


class VendorFallbackData(_Data):
    model_config = ConfigDict(title="Vendor fallback")

    order_id: SafeId = Field(description="the order its wholesaler did not confirm")
    failed_wholesaler_id: SafeId = Field(description="the wholesaler that did not confirm")


class DailyReportData(_Data):
    model_config = ConfigDict(title="Daily report")

    report_date: date | None = Field(default=None, description="the day to report on; empty: yesterday")


class CreditReconciliationData(_Data):
    model_config = ConfigDict(title="Credit reconciliation")

    account_id: SafeId | None = Field(default=None, description="one credit account; empty: every account")
