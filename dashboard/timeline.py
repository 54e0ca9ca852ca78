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
STATE_NAMES = {"active": "running", "finished": "completed", "dead_lettered": "dead letter"}
EVENT_LABELS = {"retry_scheduled": "retry scheduled", "dead_lettered": "dead-lettered",
                "cancel_requested": "cancel requested", "data_edited": "data edited"}
MAX_JOBS = 200  # the timeline reads the events of at most this many jobs (the newest)


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
                 hide_index=True, width="stretch", height=35 * (len(rows) + 1) + 3)  # every row, no scrolling


DELIVERY_STEPS = ("accepted", "sent", "delivered", "read", "failed")


def messages(msgs: list[dict[str, Any]], tz: str, *, queue: str = "whatsapp", link_orders: bool = True) -> None:
    """One card per WhatsApp message: delivery state, recipient, the provider's error, links to its job and
    (when its reference is an order id and `link_orders`) to the order's timeline."""
    if not msgs:
        st.caption("No WhatsApp messages recorded.")
        return
    for m in msgs:
        with st.container(border=True, key=f"msg-{m['id']}"):
            st.text(f"{m['status']} · to {m['recipient']} · {m['attempts']} attempt(s) · via {m['provider']}"
                    f" · last change {fmt_time(m['updated_at'], tz)}")
            if m.get("delivery"):
                d = m["delivery"]
                steps = " · ".join(f"{k} {fmt_time(d[f'{k}_at'], tz)}" for k in DELIVERY_STEPS if d.get(f"{k}_at"))
                st.text(f"Delivery: {d['state']}" + (f" ({steps})" if steps else ""))
                if d.get("error_code") or d.get("error"):
                    st.code(f"failed after acceptance {d.get('error_code') or ''}: {d.get('error') or ''}",
                            language=None, wrap_lines=True)
            st.text(f"Message: {m['body'][:300]}")
            if m.get("error"):
                st.code(f"provider error {m.get('error_code') or ''}: {m['error']}".replace(" :", ":"),
                        language=None, wrap_lines=True)
            links = st.columns(2)
            if not str(m["job_id"]).startswith("direct-"):
                with links[0]:
                    job_link(queue, m["job_id"])
            if link_orders and str(m.get("reference") or "").isdigit():
                links[1].page_link(nav.path(ORDER_PAGE), label=f"Order {m['reference']} timeline",
                                   icon=":material/receipt_long:", query_params={"order": m["reference"]})


def events_frame(events: list[dict[str, Any]], tz: str) -> pd.DataFrame:
    return pd.DataFrame([{"time": fmt_time(e.get("at"), tz),
                          "event": EVENT_LABELS.get(e.get("event", ""), e.get("event", "")), "queue": e.get("queue", ""),
                          "job": e.get("job_id", ""), "run": "" if e.get("run") is None else str(e["run"]),
                          "detail": str(e.get("detail") or "")[:500]} for e in events],
                        columns=["time", "event", "queue", "job", "run", "detail"])


def job_history(queue: str, job_id: str, tz: str) -> None:
    """One job's events (enqueued, runs, failures, retries, cancel ...), oldest first."""
    from engine import timeline as job_timeline

    from .core import get_engine

    events = job_timeline.job_events(queue, job_id, engine=get_engine())
    if not events:
        st.caption("No events recorded.")
        return
    st.dataframe(events_frame(events, tz).drop(columns=["queue", "job"]), hide_index=True, width="stretch")


def events_table(events: list[dict[str, Any]], tz: str, *, key: str) -> None:
    """The job events in time order; selecting a row opens that job's page."""
    if not events:
        st.caption("No job events recorded.")
        return
    frame = events_frame(events, tz)
    picked = st.dataframe(frame, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
                          key=key)
    rows = list(picked.selection.rows) if picked else []
    if rows and rows[0] < len(events):
        e = events[rows[0]]
        open_job(e["queue"], e["job_id"])
    st.caption("Select a row to open its job.")


def _error_text(err: Any) -> str:
    if not err:
        return ""
    if isinstance(err, dict):
        return f"{err.get('type', '')}: {err.get('message', '')}"[:300]
    return str(err)[:300]


def key_events(kind: str, value: str, tz: str, *, key: str) -> None:
    """Every event of the jobs recorded under a business key (kind: order, phone, retailer ...), oldest first."""
    from engine import timeline as job_timeline

    from .core import get_engine

    events = job_timeline.key_events(kind, value, engine=get_engine(), max_jobs=MAX_JOBS)
    jobs = len({(e["queue"], e["job_id"]) for e in events})
    if jobs >= MAX_JOBS:
        st.caption(f"Showing the events of the newest {MAX_JOBS} jobs; the Search page lists them all.")
    events_table(events, tz, key=key)
    search_key = {"order": "order_id", "retailer": "retailer_id", "wholesaler": "wholesaler_id",
                  "account": "account_id"}.get(kind, kind)
    st.page_link(nav.path(SEARCH_PAGE), label="These jobs on the Search page (states, bulk actions)",
                 icon=":material/search:", query_params={search_key: value})


def jobs_frame(items: list[dict[str, Any]], tz: str) -> pd.DataFrame:
    """Search results as a table (one row per job)."""
    return pd.DataFrame([{"queue": i["queue"], "id": i["id"], "state": STATE_NAMES.get(i["state"], i["state"]),
                          "priority": i.get("priority", ""), "runs": i.get("runs", 0),
                          "enqueued": fmt_time(i.get("enqueued_at"), tz), "ended": fmt_time(i.get("ended_at"), tz),
                          "last error": _error_text(i.get("last_error"))} for i in items],
                        columns=["queue", "id", "state", "priority", "runs", "enqueued", "ended", "last error"])
