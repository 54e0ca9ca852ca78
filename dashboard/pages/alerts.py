"""Alerts: conditions firing now, alerts waiting for the webhook, and the alert history."""
from __future__ import annotations

if not __package__:  # executed as a script by Streamlit: make the repository root importable
    import sys
    from pathlib import Path

    _root = str(Path(__file__).resolve().parents[2])
    if _root not in sys.path:
        sys.path.insert(0, _root)

import pandas as pd
import streamlit as st

from dashboard import core
from dashboard.fmt import fmt_time
from engine import alert_delivery, alerts

LIMITS = (100, 500, 1000)
HISTORY = ["time", "state", "kind", "queue", "schedule", "count", "message", "delivery", "attempts"]


def _subject(row: dict) -> str:
    return row.get("queue") or row.get("schedule") or "server"


def _live() -> None:
    eng, tz = core.get_engine(), core.tz()
    limit = st.session_state.get("alerts_limit", LIMITS[0])
    firing, waiting, kept = alerts.firing(eng), alert_delivery.pending(eng), alerts.history(eng, limit=limit)
    a, b, c = st.columns(3)
    a.metric("Firing", len(firing))
    b.metric("Waiting for the webhook", len(waiting))
    c.metric("In the history", len(kept))
    st.subheader("Firing now")
    if firing:
        st.dataframe(pd.DataFrame([{"since": fmt_time(r["since"], tz), "kind": r["kind"], "on": _subject(r),
                                    "message": r["text"]} for r in firing]), hide_index=True, width="stretch")
    else:
        st.success("Nothing is firing.", icon=":material/check_circle:")
    if waiting:
        st.subheader("Waiting for the webhook")
        st.dataframe(pd.DataFrame([{"time": fmt_time(r["time"], tz), "kind": r["kind"], "on": _subject(r),
                                    "attempts": r["attempts"], "next attempt": fmt_time(r["next_attempt"], tz)
                                    if r["next_attempt"] else "now"} for r in waiting]),
                     hide_index=True, width="stretch")
    st.subheader("History")
    frame = pd.DataFrame([{"time": fmt_time(r["time"], tz), "state": r["state"], "kind": r["kind"],
                           "queue": r["queue"] or "", "schedule": r["schedule"] or "", "count": r["count"],
                           "message": r["text"], "delivery": r["outcome"], "attempts": r["attempts"]} for r in kept],
                         columns=HISTORY)
    st.dataframe(frame, hide_index=True, width="stretch")
    s = eng.settings
    target = "sent to ALERT_WEBHOOK_URL" if s.alert_webhook_url else "not sent: ALERT_WEBHOOK_URL is not set"
    st.caption(f"Newest first; kept {s.alert_history_days:g} days, at most {s.alert_history_max:,}. Alerts are {target}"
               f" by the scheduler. Refreshes every {core.refresh_s():g} s.")


def render() -> None:
    st.title("Alerts")
    st.selectbox("Show at most", LIMITS, key="alerts_limit")
    core.live(_live)


if __name__ == "__main__":
    from dashboard.shell import page_entry

    page_entry(render)
