"""Enqueue: one form per queue of the engine's table, generated from the queue's schema (its fields,
descriptions and constraints: dashboard/schema_form.py). Validation is the engine's (Operator.enqueue ->
helpers.add_job -> the schema); its message is shown under the field it names. Operators only."""
from __future__ import annotations

if not __package__:  # executed as a script by Streamlit: make the repository root importable
    import sys
    from pathlib import Path

    _root = str(Path(__file__).resolve().parents[2])
    if _root not in sys.path:
        sys.path.insert(0, _root)

import json
from datetime import date, datetime, time, timedelta
from typing import Any

import streamlit as st

from dashboard import core, nav, ui
from dashboard.schema_form import FormField, fields as form_fields, run_at_field, title as form_title
from dashboard.fmt import escape_md, zone
from engine.enqueue import PRIORITIES
from engine.errors import EngineError, PermissionDenied, ServerFullError, ValidationError

NOW, DELAY, AT = "Now", "After a delay", "At a date and time"


class FieldError(ValueError):
    """A form value that cannot become job data (say, JSON that does not parse)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


ENVELOPE = ("priority", "job_id", "when", "delay", "run_day", "run_time")  # the form's own widgets


def _key(queue: str, name: str) -> str:
    """A data field's widget key; a field named like one of the form's own widgets gets its own."""
    return f"enq-{queue}-data-{name}" if name in ENVELOPE else f"enq-{queue}-{name}"


def _input(queue: str, f: FormField, tz: str) -> Any:
    key = _key(queue, f.name)
    if f.kind == "area":
        return st.text_area(f.label, key=key, help=f.help, height=100)
    if f.kind == "json":
        return st.text_area(f.label, key=key, help=f.help, height=100, placeholder="JSON")
    if f.kind == "date":
        return st.date_input(f.label, value=None, key=key, help=f.help)
    if f.kind == "datetime":
        soon = datetime.now(zone(tz)) + timedelta(minutes=30)
        left, right = st.columns(2)
        day = left.date_input(f"{f.label} (date)", value=soon.date() if f.required else None, key=f"{key}-date",
                              help=f.help)
        clock = right.time_input(f"{f.label} (time, {tz})", key=f"{key}-time", step=60,
                                 value=soon.time().replace(second=0, microsecond=0) if f.required else None)
        return (day, clock)
    if f.kind in ("integer", "number"):
        step = 1 if f.kind == "integer" else None
        return st.number_input(f.label, key=key, help=f.help, value=f.default if f.default is not None else None,
                               min_value=f.minimum, max_value=f.maximum, step=step)
    if f.kind == "flag":
        return st.checkbox(f.label, key=key, help=f.help, value=bool(f.default))
    if f.kind == "choice":
        options = list(f.choices) if f.required else [None, *f.choices]
        return st.selectbox(f.label, options, key=key, help=f.help,
                            format_func=lambda v: "(none)" if v is None else str(v))
    return st.text_input(f.label, key=key, help=f.help)


def _value(f: FormField, raw: Any, tz: str) -> Any:
    """The form's value as job data; None means 'leave the field out'."""
    if f.kind == "datetime":
        day, clock = raw
        if not isinstance(day, date) or not isinstance(clock, time):
            return None
        return datetime.combine(day, clock, zone(tz)).isoformat()
    if f.kind == "date":
        return raw.isoformat() if isinstance(raw, date) else None
    if f.kind in ("integer", "number", "choice"):
        return raw
    if f.kind == "flag":
        return bool(raw)
    text = (raw or "").strip()
    if f.kind == "json":
        if not text:
            return None
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise FieldError(f.name, f"not valid JSON ({exc.msg})") from None
    return None if (not f.required and not text) else text


def _local(day: Any, clock: Any, tz: str) -> datetime | None:
    if not isinstance(day, date) or not isinstance(clock, time):
        return None
    return datetime.combine(day, clock, zone(tz))


def _form(queue: str, schema: type, tz: str) -> None:
    fields = form_fields(schema)
    run_at = run_at_field(schema)
    whens = ([run_at[1]] if run_at else []) + [NOW, DELAY, AT]
    with st.form(f"enqueue-{queue}", border=True):
        raw, slots = {}, {}
        for f in fields:
            raw[f.name] = _input(queue, f, tz)
            slots[f.name] = st.empty()
        a, b = st.columns(2)
        priority = a.selectbox("Priority", PRIORITIES, index=PRIORITIES.index("normal"), key=f"enq-{queue}-priority")
        slots["priority"] = a.empty()
        job_id = b.text_input("Job id (optional; a pending job with this id is not enqueued twice)",
                              key=f"enq-{queue}-job_id")
        slots["job_id"] = b.empty()
        when = st.radio("When", whens, horizontal=True, key=f"enq-{queue}-when")
        c, d, e = st.columns(3)
        delay = c.number_input("Delay (seconds)", min_value=0, max_value=366 * 86400, value=60, step=1,
                               key=f"enq-{queue}-delay")
        soon = datetime.now(zone(tz)) + timedelta(minutes=10)
        run_day = d.date_input("Run on", value=soon.date(), key=f"enq-{queue}-run_day")
        run_clock = e.time_input(f"Run at ({tz})", value=soon.time().replace(second=0, microsecond=0), step=60,
                                 key=f"enq-{queue}-run_time")
        slots["delay"] = st.empty()
        slots["run_at"] = st.empty()
        general = st.empty()
        submitted = st.form_submit_button(f"Enqueue {form_title(schema, queue)}", type="primary",
                                           icon=":material/send:")
    if not submitted:
        return
    try:
        data = {f.name: v for f in fields if (v := _value(f, raw[f.name], tz)) is not None}
    except FieldError as exc:
        slots[exc.field].error(escape_md(exc.message), icon=":material/error:")
        general.caption("Not enqueued: correct the field marked above.")
        return
    timing: dict[str, Any] = {}
    if when == DELAY:
        timing["delay"] = float(delay)
    elif when == AT:
        timing["run_at"] = _local(run_day, run_clock, tz)
    elif run_at and when == run_at[1] and data.get(run_at[0]):
        timing["run_at"] = datetime.fromisoformat(data[run_at[0]])
    try:
        job = core.operator().enqueue(queue, data, priority=priority, job_id=(job_id or "").strip() or None, **timing)
    except ValidationError as exc:
        slot = slots.get(exc.field) or slots.get(exc.field.split(".")[0]) or general
        slot.error(escape_md(exc.message), icon=":material/error:")
        if slot is not general:
            general.caption("Not enqueued: correct the field marked above.")
        return
    except PermissionDenied as exc:
        ui.error(f"Not allowed: {exc}")
        return
    except ServerFullError as exc:
        general.error(escape_md(f"Not enqueued: the server is full. Workers are draining it; try again in "
                                f"{exc.retry_after_s} s. ({exc})"), icon=":material/error:")
        return
    except EngineError as exc:
        ui.error(exc)
        return
    st.success(escape_md(f"Enqueued job {job.id} on {queue}."), icon=":material/check_circle:")
    st.session_state["last_enqueued"] = {"queue": queue, "job": job.id}
    st.page_link(nav.path("pages/jobs.py"), label="Open the job's page", icon=":material/open_in_new:",
                 query_params={"queue": queue, "job": job.id})


def render() -> None:
    st.title("Enqueue")
    if not core.can_write():
        st.info("Only operators can enqueue jobs.")
        return
    tz = core.tz()
    policies = list(core.get_engine().table)
    for tab, policy in zip(st.tabs([form_title(p.schema, p.name) for p in policies]), policies):
        with tab:
            _form(policy.name, policy.schema, tz)


if __name__ == "__main__":
    from dashboard.shell import page_entry

    page_entry(render)
