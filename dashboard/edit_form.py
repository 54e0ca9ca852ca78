"""'Edit and retry': a form prefilled with a job's data, one field per property of the queue's schema.

The engine validates the new data (the queue's schema) and retries with it; a ValidationError is shown
under the field it names and nothing changes. Data that the schema form cannot show (keys outside
the schema, nested values) is edited as JSON instead.
"""
from __future__ import annotations

import json
from typing import Any, Callable

import streamlit as st

from engine.errors import EngineError, PermissionDenied, ValidationError
from engine.schemas import SCHEMAS

from . import ui
from .fmt import escape_md

SIMPLE = {"string", "integer", "number"}


def schema_fields(queue: str) -> tuple[list[dict[str, Any]], bool]:
    """The queue schema's properties as [{name, title, type, required, help}], and whether extra keys are refused."""
    model = SCHEMAS.get(queue)
    if model is None:
        return [], False
    js = model.model_json_schema()
    required = set(js.get("required", []))
    fields = []
    for name, prop in js.get("properties", {}).items():
        kinds = [p.get("type") for p in prop.get("anyOf", [prop])]
        kind = next((k for k in kinds if k and k != "null"), "string")
        fmt = next((p.get("format") for p in prop.get("anyOf", [prop]) if p.get("format")), None)
        hint = prop.get("description") or (f"format: {fmt}" if fmt else None)
        fields.append({"name": name, "title": prop.get("title") or name, "type": kind, "required": name in required,
                       "help": hint})
    return fields, js.get("additionalProperties") is False


def fits_form(fields: list[dict[str, Any]], data: Any) -> bool:
    """True when every key of `data` is a simple field of the schema (so no value would be lost)."""
    names = {f["name"]: f for f in fields if f["type"] in SIMPLE}
    return bool(names) and isinstance(data, dict) and all(
        k in names and (v is None or isinstance(v, (str, int, float))) for k, v in data.items())


def _coerce(field: dict[str, Any], text: str) -> Any:
    if field["type"] == "integer":
        try:
            return int(text)
        except ValueError:
            return text  # the engine's validation names the field
    if field["type"] == "number":
        try:
            return float(text)
        except ValueError:
            return text
    return text


def form_data(fields: list[dict[str, Any]], raw: dict[str, str]) -> dict[str, Any]:
    """The form's text inputs as job data: empty optional fields are left out."""
    data = {}
    for f in fields:
        text = (raw.get(f["name"]) or "").strip()
        if not text and not f["required"]:
            continue
        data[f["name"]] = _coerce(f, text)
    return data


def edit_and_retry(key: str, queue: str, data: Any, submit: Callable[[dict[str, Any]], Any],
                   success: Callable[[Any], str]) -> bool:
    """Render the form; on submit call `submit(new_data)`. Returns True when the retry went through."""
    fields, _strict = schema_fields(queue)
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
                if f["type"] not in SIMPLE:
                    continue
                value = data.get(f["name"]) if isinstance(data, dict) else None
                label = f["title"] + ("" if f["required"] else " (optional)")
                widget = st.text_area if f["name"] == "message" else st.text_input
                raw[f["name"]] = widget(label, value="" if value is None else str(value), help=f["help"],
                                        key=f"{key}-{f['name']}")
                slots[f["name"]] = st.empty()
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
