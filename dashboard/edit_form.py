"""'Edit and retry': a form prefilled with a job's data, one field per property of the queue's schema.

The engine validates the new data (the queue's schema) and retries with it; a ValidationError is shown
under the field it names and nothing changes. Data that the schema form cannot show (keys outside
the schema, nested values) is edited as JSON instead.
"""
from __future__ import annotations

import json
from typing import Any, Callable

import streamlit as st
from pydantic import BaseModel

from engine.errors import EngineError, PermissionDenied, ValidationError

from . import core, schema_form, ui
from .fmt import escape_md
from .schema_form import FormField

# Field kinds (dashboard/schema_form.py) the form edits as one line or area of text
SIMPLE = {"text", "area", "date", "datetime", "integer", "number"}


def schema_fields(schema: type[BaseModel] | None) -> list[FormField]:
    """The schema's fields as the Enqueue page derives them (schema_form.fields); none without a schema."""
    return [] if schema is None else schema_form.fields(schema)


def fits_form(fields: list[FormField], data: Any) -> bool:
    """True when every key of `data` is a simple field of the schema (so no value would be lost)."""
    names = {f.name for f in fields if f.kind in SIMPLE}
    return bool(names) and isinstance(data, dict) and all(
        k in names and (v is None or isinstance(v, (str, int, float))) for k, v in data.items())


def _coerce(field: FormField, text: str) -> Any:
    if field.kind == "integer":
        try:
            return int(text)
        except ValueError:
            return text  # the engine's validation names the field
    if field.kind == "number":
        try:
            return float(text)
        except ValueError:
            return text
    return text


def form_data(fields: list[FormField], raw: dict[str, str]) -> dict[str, Any]:
    """The form's text inputs as job data: empty optional fields are left out."""
    data = {}
    for f in fields:
        if f.name not in raw:
            continue
        text = (raw.get(f.name) or "").strip()
        if not text and not f.required:
            continue
        data[f.name] = _coerce(f, text)
    return data


def edit_and_retry(key: str, queue: str, data: Any, submit: Callable[[dict[str, Any]], Any],
                   success: Callable[[Any], str]) -> bool:
    """Render the form for the queue's schema; on submit call `submit(new_data)`. Returns True when the
    retry went through."""
    policy = core.get_engine().table.policies.get(queue)
    fields = schema_fields(policy.schema if policy is not None else None)
    as_json = not fits_form(fields, data) or st.toggle("Edit as JSON", key=f"{key}-json")
    with st.form(key, border=True):
        slots: dict[str, Any] = {}
        if as_json:
            text = st.text_area("Job data (JSON)", value=json.dumps(data, indent=2, ensure_ascii=False), height=180,
                                key=f"{key}-text")
            slots["data"] = st.empty()
            raw = None
        else:
            raw = {}
            for f in fields:
                if f.kind not in SIMPLE:
                    continue
                value = data.get(f.name) if isinstance(data, dict) else None
                widget = st.text_area if f.kind == "area" else st.text_input
                raw[f.name] = widget(f.label, value="" if value is None else str(value), help=f.help,
                                     key=f"{key}-{f.name}")
                slots[f.name] = st.empty()
        general = st.empty()
        submitted = st.form_submit_button("Save and retry", type="primary", icon=":material/replay:")
    if not submitted:
        return False
    if as_json:
        try:
            new = json.loads(text)
        except json.JSONDecodeError as exc:
            slots["data"].error(escape_md(f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"),
                                icon=":material/error:")
            return False
    else:
        new = form_data(fields, raw)
    try:
        result = submit(new)
    except ValidationError as exc:
        field = exc.field.removeprefix("data.")
        slot = slots.get(field) or slots.get(field.split(".")[0]) or slots.get("data") or general
        slot.error(escape_md(f"{exc.field}: {exc.message}" if slot is general else exc.message),
                   icon=":material/error:")
        if slot is not general:
            general.caption("Nothing was changed: correct the field marked above.")
        return False
    except PermissionDenied as exc:
        general.error(escape_md(f"Not allowed: {exc}"))
        return False
    except EngineError as exc:
        general.error(escape_md(exc))
        return False

    ui.flash("success", success(result))
    return True
