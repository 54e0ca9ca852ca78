"""Enqueue: one form per job type. Validation is the engine's (Operator.enqueue -> helpers.add_job ->
schemas); its message is shown under the field it names. Operators only."""
from __future__ import annotations

if not __package__:  # executed as a script by Streamlit: make the repository root importable
    import sys
    from pathlib import Path

    _root = str(Path(__file__).resolve().parents[2])
    if _root not in sys.path:
        sys.path.insert(0, _root)

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import streamlit as st

from dashboard import core, nav, ui
from dashboard.fmt import escape_md, zone
from engine.enqueue import PRIORITIES
from engine.errors import EngineError, PermissionDenied, ValidationError

NOW, DELAY, AT, AT_EXPIRY = "Now", "After a delay", "At a date and time", "At the expiry time"


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str = "text"  # text | area | datetime | date
    optional: bool = False
    placeholder: str = ""
    help: str | None = None


FORMS: dict[str, tuple[str, list[Field]]] = {
    "whatsapp": ("WhatsApp message", [
        Field("phone", "Phone", placeholder="+9779800000000", help="E.164: + country code and number"),
        Field("message", "Message", "area", help="1 to 4096 characters"),
        Field("reference", "Reference (optional)", optional=True, placeholder="order-42",
              help="What the message is about, e.g. an order id"),
        # the business keys the support desk finds the message by
        Field("order_id", "Order id (optional)", optional=True, placeholder="4242"),
        Field("retailer_id", "Retailer id (optional)", optional=True, placeholder="12"),
        Field("wholesaler_id", "Wholesaler id (optional)", optional=True, placeholder="7"),
        Field("account_id", "Credit account id (optional)", optional=True, placeholder="3"),
    ]),
    "orderExpiry": ("Order expiry", [
        Field("order_id", "Order id", placeholder="42"),
        Field("expires_at", "Expires at", "datetime"),
    ]),
    "vendorFallback": ("Vendor fallback", [
        Field("order_id", "Order id", placeholder="42"),
        Field("failed_wholesaler_id", "Failed wholesaler id", placeholder="7"),
    ]),
    "dailyReports": ("Daily report", [
        Field("report_date", "Report date (empty: yesterday)", "date", optional=True),
    ]),
    "creditReconciliation": ("Credit reconciliation", [
        Field("account_id", "Credit account id (empty: every account)", optional=True),
    ]),
}


def _input(queue: str, f: Field, tz: str) -> Any:
    key = f"enq-{queue}-{f.name}"
    if f.kind == "area":
        return st.text_area(f.label, key=key, help=f.help, max_chars=None, height=100)
    if f.kind == "date":
        return st.date_input(f.label, value=None, key=key, help=f.help)
    if f.kind == "datetime":
        soon = datetime.now(zone(tz)) + timedelta(minutes=30)
        left, right = st.columns(2)
        day = left.date_input(f"{f.label} (date)", value=soon.date(), key=f"{key}-date")
        clock = right.time_input(f"{f.label} (time, {tz})", value=soon.time().replace(second=0, microsecond=0),
                                 key=f"{key}-time", step=60)
        return (day, clock)
    return st.text_input(f.label, key=key, placeholder=f.placeholder, help=f.help)


def _value(f: Field, raw: Any, tz: str) -> Any:
    """The form's value as job data; None means 'leave the field out'."""
    if f.kind == "datetime":
        day, clock = raw
        if not isinstance(day, date) or not isinstance(clock, time):
            return None
        return datetime.combine(day, clock, zone(tz)).isoformat()
    if f.kind == "date":
        return raw.isoformat() if isinstance(raw, date) else None
    text = (raw or "").strip()
    return None if (f.optional and not text) else text


def _local(day: Any, clock: Any, tz: str) -> datetime | None:
    if not isinstance(day, date) or not isinstance(clock, time):
        return None
    return datetime.combine(day, clock, zone(tz))


def _form(queue: str, title: str, fields: list[Field], tz: str) -> None:
    whens = [AT_EXPIRY, NOW, DELAY, AT] if queue == "orderExpiry" else [NOW, DELAY, AT]
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
        submitted = st.form_submit_button(f"Enqueue {title}", type="primary",
                                           icon=":material/send:")
    if not submitted:
        return
    data = {f.name: v for f in fields if (v := _value(f, raw[f.name], tz)) is not None}
    timing: dict[str, Any] = {}
    if when == DELAY:
        timing["delay"] = float(delay)
    elif when == AT:
        timing["run_at"] = _local(run_day, run_clock, tz)
    elif when == AT_EXPIRY and data.get("expires_at"):
        timing["run_at"] = datetime.fromisoformat(data["expires_at"])
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
    names = [q for q in FORMS if q in core.get_engine().table.names]
    for tab, queue in zip(st.tabs([FORMS[q][0] for q in names]), names):
        with tab:
            title, fields = FORMS[queue]
            _form(queue, title, fields, tz)


if __name__ == "__main__":
    from dashboard.shell import page_entry

    page_entry(render)
