"""A job schema (QueuePolicy.schema) as form fields: kind, label, help with the constraints, required or not.

Pure functions, so the Enqueue page can generate a form for any queue of any table."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from engine.schemas import RunAt

LONG_TEXT = 200  # text fields allowing more characters than this get a text area


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    kind: str  # text | area | date | datetime | integer | number | flag | choice | json
    required: bool
    help: str | None = None
    choices: tuple[Any, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    default: Any = None


def title(schema: type[BaseModel], queue: str) -> str:
    """The schema's own title (model_config title) when it has one, else the queue's name."""
    return schema.model_config.get("title") or queue


def run_at_field(schema: type[BaseModel]) -> tuple[str, str] | None:
    """(field name, choice label) of the field marked RunAt, if any."""
    for name, info in schema.model_fields.items():
        for meta in info.metadata:
            if isinstance(meta, RunAt):
                return name, meta.label
    return None


def humanize(name: str) -> str:
    """order_id -> "Order id", failedWholesalerId -> "Failed wholesaler id"."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).replace("_", " ").split()
    text = " ".join(words).lower()
    return text[:1].upper() + text[1:]


def fields(schema: type[BaseModel]) -> list[FormField]:
    """One FormField per field of the schema, in declaration order."""
    doc = schema.model_json_schema()
    required = set(doc.get("required", ()))
    out = []
    for name, prop in doc.get("properties", {}).items():
        info = schema.model_fields.get(name)
        explicit = info.title if info is not None and info.title else None
        body = _non_null(prop)
        kind, choices = _kind(body)
        help_text = "; ".join(p for p in (prop.get("description"), _constraints(body)) if p) or None
        label = explicit or humanize(name)
        out.append(FormField(name=name, label=label if name in required else f"{label} (optional)", kind=kind,
                             required=name in required, help=help_text, choices=choices,
                             minimum=_bound(body, "minimum", "exclusiveMinimum"),
                             maximum=_bound(body, "maximum", "exclusiveMaximum"), default=prop.get("default")))
    return out


def _non_null(prop: dict[str, Any]) -> dict[str, Any]:
    """The property's schema without the `null` branch of an optional field."""
    branches = [b for b in prop.get("anyOf", ()) if b.get("type") != "null"]
    return {**prop, **branches[0]} if len(branches) == 1 else prop


def _kind(body: dict[str, Any]) -> tuple[str, tuple[Any, ...]]:
    if "enum" in body:
        return "choice", tuple(body["enum"])
    kind = body.get("type")
    if kind == "string":
        fmt = body.get("format")
        if fmt in ("date", "date-time"):
            return ("date" if fmt == "date" else "datetime"), ()
        return ("area" if body.get("maxLength", LONG_TEXT + 1) > LONG_TEXT and "pattern" not in body
                else "text"), ()
    if kind in ("integer", "number"):
        return kind, ()
    if kind == "boolean":
        return "flag", ()
    return "json", ()


def _bound(body: dict[str, Any], inclusive: str, exclusive: str) -> float | None:
    return body.get(inclusive, body.get(exclusive))


def _constraints(body: dict[str, Any]) -> str | None:
    """The schema's constraints in words, so the form says what the engine will check."""
    parts = []
    low, high = body.get("minLength"), body.get("maxLength")
    if low is not None and high is not None:
        parts.append(f"{low} to {high} characters")
    elif low is not None:
        parts.append(f"at least {low} characters")
    elif high is not None:
        parts.append(f"at most {high} characters")
    if "pattern" in body:
        parts.append(f"must match {body['pattern']}")
    for key, word in (("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="), ("exclusiveMaximum", "<")):
        if key in body:
            parts.append(f"{word} {body[key]}")
    if body.get("format") == "date-time":
        parts.append("a date and time")
    if body.get("type") in ("object", "array"):
        parts.append(f"JSON {body['type']}")
    return ", ".join(parts) or None
