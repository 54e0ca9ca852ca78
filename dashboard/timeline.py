"""Widgets the support pages share: the job page link, message cards, the job-event timeline, job tables.

Job data, errors and names reach the page only through st.text, st.code, st.json and tables.
"""
from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from . import nav
from .fmt import fmt_time

JOBS_PAGE = "pages/jobs.py"
ORDER_PAGE = "pages/order.py"
RETAILER_PAGE = "pages/retailer.py"
SEARCH_PAGE = "pages/search.py"
STATE_NAMES = {"queued": "waiting", "started": "running", "finished": "completed", "dead_lettered": "dead letter"}


def job_params(queue: str, job_id: str) -> dict[str, str]:
    """The Jobs page's link format: ?queue=...&job=..."""
    return {"queue": queue, "job": job_id}


def open_job(queue: str, job_id: str) -> None:
    st.switch_page(nav.path(JOBS_PAGE), query_params=job_params(queue, job_id))


def job_link(queue: str, job_id: str, label: str = "Open the job's page") -> None:
    st.page_link(nav.path(JOBS_PAGE), label=label, icon=":material/open_in_new:",
                 query_params=job_params(queue, job_id))


def record(rows: dict[str, Any]) -> None:
    """A two-column field/value table (values may be attacker-controlled: a table never renders Markdown)."""
    st.dataframe(pd.DataFrame([{"field": k, "value": "" if v is None else str(v)} for k, v in rows.items()]),
                 hide_index=True, width="stretch")


def messages(msgs: list[dict[str, Any]], tz: str, *, queue: str = "whatsapp") -> None:
    """One card per WhatsApp message: delivery state, recipient, the provider's error, a link to its job."""
    if not msgs:
        st.caption("No WhatsApp messages recorded.")
        return
    for m in msgs:
        with st.container(border=True, key=f"msg-{m['id']}"):
            st.text(f"{m['status']} · to {m['recipient']} · {m['attempts']} attempt(s) · via {m['provider']}"
                    f" · last change {fmt_time(m['updated_at'], tz)}")
            st.text(f"Message: {m['body'][:300]}")
            if m.get("error"):
                st.code(f"provider error {m.get('error_code') or ''}: {m['error']}".replace(" :", ":"),
                        language=None, wrap_lines=True)
            if not str(m["job_id"]).startswith("direct-"):
                job_link(queue, m["job_id"])


def events_table(events: list[dict[str, Any]], tz: str, *, key: str) -> None:
    """The job events in time order; selecting a row opens that job's page."""
    if not events:
        st.caption("No job events recorded.")
        return
    frame = pd.DataFrame([{"time": fmt_time(e.get("at"), tz), "event": e.get("event", ""), "queue": e.get("queue", ""),
                           "job": e.get("job_id", ""), "run": e.get("run") if e.get("run") is not None else "",
                           "detail": str(e.get("detail") or "")[:500]} for e in events],
                         columns=["time", "event", "queue", "job", "run", "detail"])
    picked = st.dataframe(frame, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
                          key=key)
    rows = list(picked.selection.rows) if picked else []
    if rows and rows[0] < len(events):
        e = events[rows[0]]
        open_job(e["queue"], e["job_id"])
    st.caption("Select a row to open its job.")


def jobs_frame(items: list[dict[str, Any]], tz: str) -> pd.DataFrame:
    """Search results as a table (one row per job)."""
    return pd.DataFrame([{"queue": i["queue"], "id": i["id"], "state": STATE_NAMES.get(i["state"], i["state"]),
                          "priority": i.get("priority", ""), "runs": i.get("runs", 0),
                          "enqueued": fmt_time(i.get("enqueued_at"), tz), "ended": fmt_time(i.get("ended_at"), tz),
                          "last error": str(i.get("last_error") or "")[:300]} for i in items],
                        columns=["queue", "id", "state", "priority", "runs", "enqueued", "ended", "last error"])
