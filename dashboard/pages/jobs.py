"""Jobs: a paginated list by queue and state, and one job's detail (linkable as ?queue=...&job=...)."""
from __future__ import annotations

if not __package__:  # executed as a script by Streamlit: make the repository root importable
    import sys
    from pathlib import Path

    _root = str(Path(__file__).resolve().parents[2])
    if _root not in sys.path:
        sys.path.insert(0, _root)

import re

import pandas as pd
import streamlit as st

from dashboard import core, edit_form, nav, timeline, ui
from dashboard.fmt import escape_md, fmt_time
from engine import monitoring
from engine.errors import NotFoundError, ValidationError
from engine.job_ops import STATES
from engine.schemas import check_job_id
from processors.whatsapp_delivery import job_delivery

PAGE_SIZES = (25, 50, 100)
STATE_NAMES = {"queued": "waiting", "started": "running", "finished": "completed", "dead_lettered": "dead letter",
               "canceled": "cancelled", "cancelled": "cancelled"}  # RQ spells its status "canceled"
CANCELLABLE = ("queued", "scheduled", "started")
STATE_LABELS = {"queued": "waiting", "scheduled": "scheduled", "started": "running", "finished": "completed",
                "failed": "failed (dead-lettered)", "cancelled": "cancelled"}


def open_job(queue: str, job_id: str) -> None:
    st.query_params["queue"] = queue
    st.query_params["job"] = job_id


def close_job() -> None:
    st.query_params.pop("job", None)
    st.session_state["jobs_nonce"] = st.session_state.get("jobs_nonce", 0) + 1


def _log(lines: list[dict], tz: str) -> None:
    if not lines:
        st.caption("The job wrote no log lines.")
        return
    text = "\n".join(f"{fmt_time(line.get('t'), tz)}  run {line.get('run', '?')}  {line.get('msg', '')}"
                     for line in lines)
    st.code(text, language=None, wrap_lines=True)


def _delivery(found: dict | None, tz: str) -> None:
    """A whatsapp job's message: its delivery state (accepted until the first status) and each status's time."""
    if found is None:
        return
    st.markdown(f"**Message delivery: {escape_md(str(found['state']))}**")
    times = [{"status": k, "time": fmt_time(found[f"{k}_at"], tz)}
             for k in ("accepted", "sent", "delivered", "read", "failed") if found.get(f"{k}_at")]
    if times:
        st.dataframe(pd.DataFrame(times), hide_index=True, width="content")
    if found.get("error_code") or found.get("error"):
        st.caption(escape_md(f"code {found.get('error_code') or '-'}: {found.get('error') or ''}"))


def detail(queue: str, job_id: str) -> None:
    eng, tz = core.get_engine(), core.tz()
    back, refresh, _ = st.columns([1, 1, 4])
    if back.button("Back to the list", icon=":material/arrow_back:", key="job_back"):
        close_job()
        st.rerun()
    refresh.button("Refresh", icon=":material/refresh:", key="job_refresh")
    try:
        eng.table[queue]
        check_job_id(job_id)
        job = monitoring.get_job(queue, job_id, engine=eng)
    except (NotFoundError, ValidationError) as exc:
        ui.error(exc)
        return
    st.subheader("Job", anchor=False)
    st.code(f"{job['id']}  on  {job['queue']}", language=None)
    a, b, c, d = st.columns([3, 2, 2, 2])
    a.metric("State", escape_md(STATE_NAMES.get(job["state"], job["state"])))
    b.metric("Runs", f"{job['runs']} / {job['max_runs']}")
    c.metric("Priority", escape_md(job["options"]["priority"]))
    d.metric("Progress", f"{job['progress']:g} %")
    st.progress(min(1.0, max(0.0, job["progress"] / 100)))
    times = {"enqueued": job["enqueued_at"], "due": job["due_at"], "started": job["started_at"],
             "ended": job["ended_at"]}
    st.dataframe(pd.DataFrame([{"event": k, "time": fmt_time(v, tz)} for k, v in times.items() if v]
                              + [{"event": "worker", "time": job["worker"] or ""}]),
                 hide_index=True, width="content")
    st.text(f"Function: {job['job_type']}")
    _about(job["data"])
    _delivery(job_delivery(queue, job_id), tz)
    left, right = st.columns(2)
    with left:
        st.markdown("**Data**")
        st.json(job["data"], expanded=True)
    with right:
        st.markdown("**Result**")
        if job["result"] is None:
            st.caption("No result.")
        else:
            st.json(job["result"], expanded=True)
    if core.can_write():  # before the errors and log, which can be long
        _actions(job)
    st.markdown("**History**")
    timeline.job_history(queue, job_id, tz)
    st.markdown("**Errors, one per failed run**")
    ui.show_errors(job["errors"], tz)
    st.markdown("**Log**")
    _log(job["log"], tz)


def _about(data) -> None:
    """Links to the support views of the order, retailer and phone the job's data names."""
    if not isinstance(data, dict):
        return
    links = []
    if re.fullmatch(r"[0-9]{1,18}", str(data.get("order_id", ""))):
        links.append((timeline.ORDER_PAGE, f"Order {data['order_id']} timeline", {"order": str(data["order_id"])}))
    if re.fullmatch(r"[0-9]{1,18}", str(data.get("retailer_id", ""))):
        links.append((timeline.RETAILER_PAGE, f"Retailer {data['retailer_id']}", {"retailer": str(data["retailer_id"])}))
    if re.fullmatch(r"\+[1-9][0-9]{6,14}", str(data.get("phone", ""))):
        links.append((timeline.RETAILER_PAGE, f"Jobs for {data['phone']}", {"phone": str(data["phone"])}))
    for col, (page, label, params) in zip(st.columns(max(1, len(links))), links):
        col.page_link(nav.path(page), label=escape_md(label), query_params=params, icon=":material/support_agent:")


def _actions(job: dict) -> None:
    queue, job_id = job["queue"], job["id"]
    left, middle, right = st.columns(3)
    with left:
        ui.confirm("job-retry", "Retry", f"Retry job {job_id} on {queue} with a fresh retry budget?",
                   lambda _: ui.act(lambda: core.operator().retry_job(queue, job_id),
                                    lambda moved: f"Job {job_id} is back on {queue}." if moved
                                    else f"Job {job_id} was already retried."),
                   disabled=not job["dead_lettered"], primary=True,
                   help="Only failed (dead-lettered) jobs can be retried.")
    with middle:
        ui.confirm("job-cancel", "Cancel job", f"Cancel job {job_id} on {queue}? A running job is asked to stop "
                   "and is recorded as cancelled; a cancelled job is never retried.",
                   lambda _: ui.act(lambda: core.operator().cancel(queue, job_id),
                                    lambda outcome: f"Job {job_id} is {outcome}."),
                   disabled=job["state"] not in CANCELLABLE, help="Only a waiting, scheduled or running job can be "
                   "cancelled.")
    with right:
        def delete(_):
            ok, _result = ui.act(lambda: core.operator().remove_job(queue, job_id), f"Job {job_id} deleted.")
            if ok:
                close_job()

        ui.confirm("job-delete", "Delete", f"Delete job {job_id} and everything kept about it? This cannot be undone.",
                   delete, disabled=job["status"] == "started", help="A running job cannot be deleted.")
    if job["dead_lettered"]:
        with st.expander("Edit and retry", expanded=True, icon=":material/edit:"):
            st.caption("Correct the job's data and retry it with a fresh retry budget. The queue's schema checks "
                       "the new data; the audit log keeps the data before and after.")
            if edit_form.edit_and_retry(f"job-edit-{job_id}", queue, job["data"],
                                        lambda data: core.operator().retry_job(queue, job_id, data=data),
                                        lambda _moved: f"Job {job_id} is back on {queue} with the edited data."):
                st.rerun()


def listing() -> None:
    eng, tz = core.get_engine(), core.tz()
    names = eng.table.names
    wanted = st.query_params.get("queue")
    if wanted in names and "jobs_queue" not in st.session_state:
        st.session_state["jobs_queue"] = wanted
    a, b, c = st.columns([2, 2, 1])
    queue = a.selectbox("Queue", names, key="jobs_queue")
    state = b.selectbox("State", STATES, format_func=lambda s: STATE_LABELS.get(s, s), key="jobs_state")
    size = c.selectbox("Per page", PAGE_SIZES, index=1, key="jobs_size")
    st.query_params["queue"] = queue
    rows, total, offset = ui.paged(lambda o, n: monitoring.list_jobs(queue, state, offset=o, limit=n, engine=eng),
                                   key=f"jobs_page-{queue}-{state}-{size}", page_size=size)
    frame = pd.DataFrame([{"id": r["id"], "status": r["status"], "priority": r["priority"], "runs": r["runs"],
                           "progress %": r["progress"], "enqueued": fmt_time(r["enqueued_at"], tz),
                           "started": fmt_time(r["started_at"], tz), "ended": fmt_time(r["ended_at"], tz)}
                          for r in rows],
                         columns=["id", "status", "priority", "runs", "progress %", "enqueued", "started", "ended"])
    nonce = st.session_state.get("jobs_nonce", 0)
    event = st.dataframe(frame, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
                         key=f"jobs_table-{queue}-{state}-{offset}-{nonce}")
    picked = list(event.selection.rows) if event else []
    if picked and picked[0] < len(rows):
        open_job(queue, rows[picked[0]]["id"])
        st.rerun()
    st.caption("Select a row to open the job.")
    with st.form("open_job", border=False):
        x, y = st.columns([3, 1], vertical_alignment="bottom")
        job_id = x.text_input("Open a job by id", key="jobs_open_id")
        if y.form_submit_button("Open") and job_id.strip():
            open_job(queue, job_id.strip())
            st.rerun()


def render() -> None:
    st.title("Jobs")
    queue, job_id = st.query_params.get("queue"), st.query_params.get("job")
    if queue and job_id:
        detail(queue, job_id)
    else:
        listing()


if __name__ == "__main__":
    from dashboard.shell import page_entry

    page_entry(render)
