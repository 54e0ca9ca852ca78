"""Form fields derived from any job schema: kinds, labels, help with the constraints, required or optional."""
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from dashboard.schema_form import fields, humanize, run_at_field, title
from engine.schemas import RunAt


class Invoice(BaseModel):
    model_config = ConfigDict(title="Send an invoice")

    customerId: str = Field(pattern=r"^c[0-9]+$", description="who pays")
    note: str = Field(default="", max_length=2000)
    amount: float = Field(gt=0, le=10_000)
    copies: int = Field(default=1, ge=1, le=5)
    urgent: bool = False
    channel: Literal["email", "post"] = "email"
    due: Annotated[datetime, RunAt("When it is due")]
    period: date | None = None
    lines: list[dict] = Field(default_factory=list)


def test_each_field_gets_a_widget_kind_label_and_constraint_help():
    by_name = {f.name: f for f in fields(Invoice)}
    assert list(by_name) == list(Invoice.model_fields)
    customer = by_name["customerId"]
    assert (customer.kind, customer.label, customer.required) == ("text", "Customer id", True)
    assert customer.help == "who pays; must match ^c[0-9]+$"
    assert (by_name["note"].kind, by_name["note"].label, by_name["note"].help) == \
        ("area", "Note (optional)", "at most 2000 characters")
    amount = by_name["amount"]
    assert (amount.kind, amount.minimum, amount.maximum, amount.help) == ("number", 0, 10_000, "> 0, <= 10000")
    assert (by_name["copies"].kind, by_name["copies"].default) == ("integer", 1)
    assert by_name["urgent"].kind == "flag"
    assert (by_name["channel"].kind, by_name["channel"].choices) == ("choice", ("email", "post"))
    assert (by_name["due"].kind, by_name["due"].required) == ("datetime", True)
    assert (by_name["period"].kind, by_name["period"].required) == ("date", False)
    assert by_name["lines"].kind == "json"


def test_title_and_run_at_come_from_the_schema():
    assert title(Invoice, "invoices") == "Send an invoice"
    assert title(BaseModel, "invoices") == "invoices"
    assert run_at_field(Invoice) == ("due", "When it is due")
    assert humanize("failed_wholesaler_id") == "Failed wholesaler id"
