"""Overview: one live card per queue, with alerts for dead-letter growth, SLA breaches and queues without workers."""
from __future__ import annotations

if not __package__:  # executed as a script by Streamlit: make the repository root importable
    import sys
    from pathlib import Path

    _root = str(Path(__file__).resolve().parents[2])
    if _root not in sys.path:
        sys.path.insert(0, _root)

import streamlit as st

from dashboard import core, nav, reports_data
from dashboard.fmt import escape_md, fmt_pct, fmt_time
from engine import monitoring

PER_ROW = 2
OUTBOX_LAG_ALERT_S = 60


def _card(m: dict) -> None:
    with st.container(border=True, key=f"card-{m['queue']}"):
        title, state = st.columns([3, 1], vertical_alignment="center")
        title.markdown(f"#### {m['queue']}")
        with state:
            if m["paused"]:
                st.badge("paused", icon=":material/pause:", color="orange")
            elif m["workers"]:
                st.badge("running", icon=":material/play_arrow:", color="green")
            else:
                st.badge("no workers", icon=":material/warning:", color="red")
        w = m["waiting"]
        a, b, c, d = st.columns(4)
        a.metric("Waiting", w["total"])
        b.metric("Active", m["active"])
        c.metric("Scheduled", m["scheduled"])
        d.metric("Workers", m["workers"])
        st.caption(f"Waiting by priority: high {w['high']} · normal {w['normal']} · low {w['low']}")
        a, b, c = st.columns(3)
        a.metric("Completed", m["completed"], help="Completed jobs still kept (1 day by default)")
        b.metric("Failed", m["failed"], help="Failed jobs still kept")
        c.metric("Dead letters", m["dead_lettered"], delta=m["dead_lettered_last_hour"] or None,
                 delta_color="inverse", help="Entries in the dead-letter queue; the delta is the last hour")
        limit, used = m["rate_limit"], m["rate_used"]
        st.progress(min(1.0, used / limit) if limit else 0.0,
                    text=f"Rate limit: {used} / {limit} starts per {m['rate_window_s']:g} s")
        if m["back_pressure_s"]:
            st.caption(f"Provider back-pressure: no starts for {m['back_pressure_s']:.0f} s more")
        sla = m.get("sla")
        if sla:
            st.caption(f"SLA: {fmt_pct(sla['target_ratio'])} start within {sla['start_within_s']:g} s — "
                       f"last hour {fmt_pct(sla['compliance_last_hour'])}, last day {fmt_pct(sla['compliance_last_day'])}")
        for alert in m["alerts"]:
            st.warning(escape_md(alert), icon=":material/warning:")


def _outbox() -> None:
    """The business database's job outbox: rows committed and not yet handed to the queue."""
    try:
        lag = reports_data.outbox_lag(reports_data.database_url())
    except reports_data.ReportsUnavailable as exc:
        st.caption(escape_md(f"Outbox: {exc}"), help="Jobs the business database has asked for")
        return
    with st.container(border=True, key="outbox"):
        a, b, c = st.columns(3)
        a.metric("Outbox unsent", lag["unsent"], help="Jobs committed in the business database, not yet enqueued")
        age = lag["oldest_age_s"]
        b.metric("Oldest unsent", "–" if age is None else f"{age:.0f} s", help="The relay's lag")
        c.metric("Outbox refused", lag["refused"], help="Rows the queue refused for good (invalid data)")
        if age is not None and age > OUTBOX_LAG_ALERT_S:
            st.warning(f"The outbox relay is {age:.0f} s behind: is `python -m processors.outbox_relay` running?",
                       icon=":material/warning:")


def _live() -> None:
    eng, tz = core.get_engine(), core.tz()
    data = monitoring.get_all_metrics(engine=eng)
    queues = data["queues"]
    totals = data["totals"]
    cols = st.columns(6)
    for col, (label, value) in zip(cols, [("Waiting", totals["waiting"]), ("Active", totals["active"]),
                                          ("Scheduled", totals["scheduled"]), ("Failed", totals["failed"]),
                                          ("Dead-lettered", totals["dead_lettered"]), ("Workers", totals["workers"])]):
        col.metric(label, value)
    alerting = [(q, a) for q, m in queues.items() for a in m["alerts"]]
    if alerting:
        st.error(f"{len(alerting)} alert(s): " + "; ".join(f"{q}: {a}" for q, a in alerting), icon=":material/error:")
    else:
        st.success("No alerts.", icon=":material/check_circle:")
    st.page_link(nav.path("pages/alerts.py"), label="Alerts sent and their history", icon=":material/notifications:")
    _outbox()
    names = list(queues)
    for row in range(0, len(names), PER_ROW):
        cols = st.columns(PER_ROW)
        for col, name in zip(cols, names[row:row + PER_ROW]):
            with col:
                _card(queues[name])
    st.caption(f"Updated {fmt_time(data['generated_at'], tz)} · refreshes every {core.refresh_s():g} s")


def render() -> None:
    st.title("Overview")
    core.live(_live)


if __name__ == "__main__":
    from dashboard.shell import page_entry

    page_entry(render)
