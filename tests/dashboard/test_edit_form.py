"""The 'Edit and retry' form's fields come from the queue's schema (as the Enqueue page derives them);
data the form cannot hold goes to JSON."""
from __future__ import annotations

from dashboard.edit_form import fits_form, form_data, schema_fields
from processors.schemas import DailyReportData, WhatsAppData


def test_fields_follow_the_queue_schema():
    by_name = {f.name: f for f in schema_fields(WhatsAppData)}
    assert {"phone", "message", "reference", "order_id", "retailer_id", "wholesaler_id", "account_id"} <= set(by_name)
    assert by_name["phone"].required and not by_name["reference"].required
    assert "E.164" in by_name["phone"].help
    date_field = schema_fields(DailyReportData)[0]
    assert (date_field.name, date_field.kind, date_field.required) == ("report_date", "date", False)
    assert schema_fields(None) == []


def test_data_outside_the_schema_or_nested_is_edited_as_json():
    fields = schema_fields(WhatsAppData)
    assert fits_form(fields, {"phone": "+9779800000000", "message": "hi"})
    assert not fits_form(fields, {"phone": "+9779800000000", "i": 0})  # a key the schema does not know
    assert not fits_form(fields, {"phone": {"nested": True}})
    assert not fits_form(fields, ["not", "an", "object"])


def test_empty_optional_fields_are_left_out_and_required_ones_kept_for_the_engine_to_name():
    fields = schema_fields(WhatsAppData)
    data = form_data(fields, {"phone": " +9779800000001 ", "message": "", "reference": "  "})
    assert data == {"phone": "+9779800000001"}  # message is optional now (a template may stand in for it)
    assert form_data(fields, {"phone": "  ", "message": "hi"}) == {"phone": "", "message": "hi"}
