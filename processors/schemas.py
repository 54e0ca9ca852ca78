"""The data of each of the platform's jobs, one pydantic model per queue (QueuePolicy.schema).

The API documents them, the dashboard builds its Enqueue forms from them (title, field
descriptions and constraints) and the engine checks every job against them."""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, ValidatorFunctionWrapHandler, field_validator

from domain.settings import get_settings
from domain.whatsapp import templates

from engine.schemas import SAFE_ID_PATTERN, RunAt

E164_PATTERN = r"^\+[1-9][0-9]{6,14}$"

# one character that is not Unicode White_Space (what str_strip_whitespace removes): a non-blank parameter
NOT_BLANK = "[^\\t\\n\\x0B\\x0C\\r \\x85\\xA0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]"
SafeId = Annotated[str, StringConstraints(pattern=SAFE_ID_PATTERN)]
Phone = Annotated[str, StringConstraints(pattern=E164_PATTERN)]


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def template_registry() -> templates.Registry:
    """The registry WHATSAPP_TEMPLATES names (the platform's own file by default), read once."""
    return templates.load(get_settings().whatsapp_templates)


def _registry_choices(schema: dict[str, Any]) -> None:
    """The JSON schema states the registry: one branch per template (its name, language, parameter count)."""
    schema["oneOf"] = [{"properties": {"name": {"const": t.name}, "language": {"const": t.language},
                                       "params": {"minItems": t.params, "maxItems": t.params}}}
                       for t in template_registry().templates.values()]


class TemplateRef(_Data):
    """An approved template by name with its body parameters, checked against the registry."""

    model_config = ConfigDict(title="WhatsApp template", json_schema_extra=_registry_choices)

    name: str = Field(min_length=1, max_length=512, description="a template of the registry, e.g. order_expired")
    language: str = Field(min_length=2, max_length=15, description="its approved language code, e.g. en")
    params: list[Annotated[str, StringConstraints(min_length=1, max_length=templates.MAX_PARAM_CHARS,
                                                  pattern=NOT_BLANK)]] = Field(
        description="the body parameters {{1}}, {{2}}, ... in order ([] for none)")

    @field_validator("name")
    @classmethod
    def _known(cls, value: str) -> str:
        registry = template_registry()
        if registry.get(value) is None:
            raise ValueError(f"unknown template {value!r}; known: {', '.join(sorted(registry.templates))}")
        return value

    @field_validator("language")
    @classmethod
    def _approved_language(cls, value: str, info: ValidationInfo) -> str:
        template = template_registry().get(info.data.get("name", ""))
        if template is not None and template.language != value:
            raise ValueError(f"template {template.name!r} is approved in {template.language!r}, not {value!r}")
        return value

    @field_validator("params")
    @classmethod
    def _count(cls, value: list[str], info: ValidationInfo) -> list[str]:
        template = template_registry().get(info.data.get("name", ""))
        if template is not None and len(value) != template.params:
            raise ValueError(f"template {template.name!r} takes {template.params} parameter(s), got {len(value)}")
        return value


class WhatsAppData(_Data):
    model_config = ConfigDict(title="WhatsApp message",
                              json_schema_extra={"oneOf": [{"required": ["message"]}, {"required": ["template"]}]})

    phone: Phone = Field(description="recipient in E.164: + country code and number, e.g. +9779800000000")
    template: TemplateRef = Field(default=None, description=(
        'an approved template instead of free text, e.g. {"name": "order_failed", "language": "en", '
        '"params": ["Sharma Kirana", "1042"]}'))
    # str with a None default (not `str | None`): absent is allowed, an explicit null is not
    message: str = Field(default=None, validate_default=True, min_length=1, max_length=4096,
                         description="free text (only within 24 h of the recipient's last message); "
                                     "or give a template instead")
    reference: SafeId | None = Field(default=None, description="what the message is about, e.g. an order id")
    # business keys the support desk finds the message by (engine/search_index.py)
    order_id: SafeId | None = Field(default=None, description="the order the message is about")
    retailer_id: SafeId | None = Field(default=None, description="the retailer it is about")
    wholesaler_id: SafeId | None = Field(default=None, description="the wholesaler it is about")
    account_id: SafeId | None = Field(default=None, description="the credit account it is about")

    @field_validator("message", mode="wrap")
    @classmethod
    def _exactly_one(cls, value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo) -> str | None:
        if "template" not in info.data:  # the template itself is invalid: that is the error to show
            return value if value is None else handler(value)
        if (value is None) == (info.data["template"] is None):
            raise ValueError("give exactly one of message (free text) or template")
        return None if value is None else handler(value)


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
