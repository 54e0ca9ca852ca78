"""Audit log: every operator action (and log-ins and exports), filterable, with CSV export."""
from __future__ import annotations

if not __package__:  # executed as a script by Streamlit: make the repository root importable
    import sys
    from pathlib import Path

    _root = str(Path(__file__).resolve().parents[2])
    if _root not in sys.path:
        sys.path.insert(0, _root)

import json
from datetime import datetime, time, timedelta

import pandas as pd
import streamlit as st

from dashboard import core, ui
from dashboard.fmt import fmt_time, zone
from engine import audit, export

ALL = "(all)"
ACTIONS = ("enqueue", "retry", "delete", "dead_letter_retry", "dead_letter_delete", "bulk_retry", "bulk_delete",
           "pause", "resume", "rate_limit", "schedule_pause", "schedule_resume", "schedule_run_now", "login",
           "logout", "export")
LIMITS = (100, 500, 2000)


def filters(tz: str) -> tuple[dict, int]:
    """The chosen filters as audit.list_entries keywords, and how many entries to show."""
    a, b, c, d, e, f = st.columns(6)
    since = a.date_input("From", value=None, key="audit_from")
    until = b.date_input("To (inclusive)", value=None, key="audit_to")
    actor = c.text_input("User", key="audit_actor").strip()
    queue = d.selectbox("Queue", [ALL, *core.get_engine().table.names], key="audit_queue")
    action = e.selectbox("Action", [ALL, *ACTIONS], key="audit_action")
    limit = f.selectbox("Show at most", LIMITS, key="audit_limit")
    out: dict = {}
    if since:
        out["since"] = datetime.combine(since, time.min, zone(tz))
    if until:
        out["until"] = datetime.combine(until + timedelta(days=1), time.min, zone(tz)) - timedelta(milliseconds=1)
    if actor:
        out["actor"] = actor
    if queue != ALL:
        out["queue"] = queue
    if action != ALL:
        out["action"] = action
    return out, limit


def render() -> None:
    st.title("Audit log")
    eng, tz = core.get_engine(), core.tz()
    flt, limit = filters(tz)
    rows = audit.list_entries(engine=eng, limit=limit, **flt)
    frame = pd.DataFrame([{"time": fmt_time(r["time"], tz), "user": r["actor"], "from": r["source"],
                           "action": r["action"], "queue": r["queue"], "target": r["target"], "outcome": r["outcome"],
                           "details": json.dumps(r["details"], default=str) if r["details"] else ""} for r in rows],
                         columns=["time", "user", "from", "action", "queue", "target", "outcome", "details"])
    st.dataframe(frame, hide_index=True, width="stretch")
    st.caption(f"{len(rows)} entr{'y' if len(rows) == 1 else 'ies'} shown, newest first; kept 365 days.")
    ui.download_csv("Download CSV (all matching)", lambda: export.audit_csv(engine=eng, **flt),
                    file_name="audit-log.csv", key="audit_csv", what="audit_log")


if __name__ == "__main__":
    from dashboard.shell import page_entry

    page_entry(render)
