"""Failures: failure groups (errors that differ only in ids and numbers) with counts, first and last
seen, sample jobs, and retry or delete of a group's dead letters."""
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
from engine import export, failure_groups, monitoring
from engine.dead_letters import Filter
from engine.errors import NotFoundError

LIMIT = 100
DETAIL_PAGE = 10  # groups shown in detail per page


def job_queue(eng, job_id: str, queues: list[str]) -> str | None:
    """The queue a sample job is on (a group can span queues); None when the job is gone."""
    for q in queues:
        try:
            monitoring.get_job(q, job_id, engine=eng)
            return q
        except NotFoundError:
            continue
    return None


def _group(eng, g: dict, tz: str, can_write: bool) -> None:
    sig = g["signature"]
    with st.container(border=True, key=f"group-{sig}"):
        st.code(f"{g['type']}: {g['message']}", language=None, wrap_lines=True)
        a, b, c = st.columns([1, 1, 2])
        a.metric("Failures", g["count"])
        b.metric("In dead letters", g["dead_lettered"])
        c.text(f"First seen {fmt_time(g['first_seen'], tz)}\nLast seen  {fmt_time(g['last_seen'], tz)}")
        st.text(f"Function: {g['function']} · queues: "
                + ", ".join(f"{q} ({n})" for q, n in sorted(g["queues"].items())) + f" · signature {sig}")
        samples = g["sample_job_ids"][:5]
        if samples:
            cols = st.columns(len(samples) + 1)
            cols[0].caption("Sample jobs:")
            for col, job_id in zip(cols[1:], samples):
                if col.button(job_id[:12], key=f"sample-{sig}-{job_id}", help=job_id):
                    queue = job_queue(eng, job_id, list(g["queues"]))
                    if queue is None:
                        ui.flash("warning", f"Job {job_id} is no longer kept.")
                        st.rerun()
                    st.switch_page(nav.path("pages/jobs.py"), query_params={"queue": queue, "job": job_id})
        if st.button("Show its dead letters", key=f"show-{sig}", icon=":material/filter_alt:"):
            st.session_state.pop("dl_group", None)
            st.switch_page(nav.path("pages/dead_letters.py"), query_params={"group": sig})
        if can_write and g["dead_lettered"]:
            left, right = st.columns(2)
            n = g["dead_lettered"]
            with left:
                ui.confirm(f"group-retry-{sig}", f"Retry group ({n})", f"Retry the {n} dead letters of this group?",
                           lambda _: ui.act(lambda: core.operator().bulk_retry_dead_letters(Filter(group=sig)),
                                            lambda moved: f"Retried {moved} dead letters of group {sig}."),
                           primary=True)
            with right:
                ui.confirm(f"group-delete-{sig}", f"Delete group ({n})",
                           f"Delete the {n} dead letters of this group for good?",
                           lambda _: ui.act(lambda: core.operator().bulk_delete_dead_letters(Filter(group=sig)),
                                            lambda gone: f"Deleted {gone} dead letters of group {sig}."))


def render() -> None:
    st.title("Failures")
    eng, tz = core.get_engine(), core.tz()
    groups = failure_groups.list_groups(limit=LIMIT, engine=eng)
    if not groups:
        st.info("No failures recorded.")
        return
    st.dataframe(pd.DataFrame([{"type": g["type"], "message": g["message"][:200], "failures": g["count"],
                                "dead letters": g["dead_lettered"], "first seen": fmt_time(g["first_seen"], tz),
                                "last seen": fmt_time(g["last_seen"], tz), "signature": g["signature"]}
                               for g in groups]), hide_index=True, width="stretch")
    ui.download_csv("Download CSV", lambda: export.failure_groups_csv(engine=eng), file_name="failure-groups.csv",
                    key="fg_csv", what="failure_groups")
    can_write = core.can_write()
    shown, _total, _offset = ui.paged(lambda o, n: (groups[o:o + n], len(groups)), key="fg_page", page_size=DETAIL_PAGE)
    for g in shown:
        _group(eng, g, tz, can_write)


if __name__ == "__main__":
    from dashboard.shell import page_entry

    page_entry(render)
