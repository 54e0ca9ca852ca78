"""Schedules: the recurring jobs with their next and last runs; pause, resume and run now (operators)."""
from __future__ import annotations

if not __package__:  # executed as a script by Streamlit: make the repository root importable
    import sys
    from pathlib import Path

    _root = str(Path(__file__).resolve().parents[2])
    if _root not in sys.path:
        sys.path.insert(0, _root)

import pandas as pd
import streamlit as st

from dashboard import core, nav, ui
from dashboard.fmt import fmt_time
from engine import schedule_state as schedules


def _row(s: dict, tz: str) -> dict:
    return {"schedule": s["name"], "kind": s["kind"], "target": s["target"], "cron": s["cron"],
            "cron zone": s["tz"], "state": "paused" if s["paused"] else ("on" if s["enabled"] else "disabled"),
            "next run": fmt_time(s["next_run"], tz), "last run": fmt_time(s["last_run"], tz),
            "last job": s["last_job_id"] or "", "catch up": s["catch_up"]}


def _controls(s: dict) -> None:
    name = s["name"]
    with st.container(border=True, key=f"sched-{name}"):
        a, b, c, d = st.columns([2, 1, 1, 1], vertical_alignment="center")
        a.markdown(f"**{name}** · `{s['cron']}`")  # configuration, not user input
        if s["paused"]:
            if b.button("Resume", key=f"sched-resume-{name}", icon=":material/play_arrow:"):
                ui.act(lambda: core.operator().resume_schedule(name), f"Schedule {name} resumed.")
                st.rerun()
        elif b.button("Pause", key=f"sched-pause-{name}", icon=":material/pause:", disabled=not s["enabled"]):
            ui.act(lambda: core.operator().pause_schedule(name), f"Schedule {name} paused.")
            st.rerun()
        if c.button("Run now", key=f"sched-run-{name}", icon=":material/bolt:"):
            ui.act(lambda: core.operator().run_schedule_now(name),
                   lambda jid: f"Schedule {name} ran now" + (f": job {jid}." if jid else "."))
            st.rerun()
        if s["last_job_id"] and s["kind"] == "job":
            d.page_link(nav.path("pages/jobs.py"), label="Last job", icon=":material/open_in_new:",
                        query_params={"queue": s["target"], "job": s["last_job_id"]})


def render() -> None:
    st.title("Schedules")
    eng, tz = core.get_engine(), core.tz()
    rows = schedules.list_schedules(eng)
    st.dataframe(pd.DataFrame([_row(s, tz) for s in rows]), hide_index=True, width="stretch")
    st.caption(f"Cron expressions run in their own zone; times shown in {tz}.")
    if core.can_write():
        for s in rows:
            _controls(s)


if __name__ == "__main__":
    from dashboard.shell import page_entry

    page_entry(render)
