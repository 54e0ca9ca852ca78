"""Dead letters: filter by queue, failure group and time; retry or delete selected rows or everything
matching; per-queue size and oldest age; one entry's errors; CSV export."""
from __future__ import annotations

if not __package__:  # executed as a script by Streamlit: make the repository root importable
    import sys
    from pathlib import Path

    _root = str(Path(__file__).resolve().parents[2])
    if _root not in sys.path:
        sys.path.insert(0, _root)

from datetime import datetime, time, timedelta, timezone

import pandas as pd
import streamlit as st

from dashboard import core, edit_form, nav, ui
from dashboard.fmt import fmt_age, fmt_time, zone
from engine import dead_letters, export, failure_groups
from engine.bulk import BULK_CAP
from engine.dead_letters import Filter
from engine.errors import NotFoundError

ALL = "(all)"
PAGE_SIZE = 50
PERIODS = {"Any time": None, "Last hour": timedelta(hours=1), "Last 24 h": timedelta(hours=24),
           "Last 7 days": timedelta(days=7), "Last 30 days": timedelta(days=30), "Between dates": "custom"}


def _bump() -> None:
    """Forget the table's selection (after an action changed what it shows)."""
    st.session_state["dl_nonce"] = st.session_state.get("dl_nonce", 0) + 1


def _stats(eng) -> None:
    stats = dead_letters.stats(engine=eng)
    frame = pd.DataFrame([{"queue": q, "entries": s["count"], "oldest": fmt_age(s["oldest_age_s"]),
                           "added last hour": s["added_last_hour"]} for q, s in stats.items()])
    st.dataframe(frame, hide_index=True, width="stretch")


def _filter(eng, tz: str) -> Filter:
    a, b, c = st.columns([1, 2, 1])
    queue = a.selectbox("Queue", [ALL, *eng.table.names], key="dl_queue")
    groups = failure_groups.list_groups(limit=200, engine=eng)
    labels = {g["signature"]: f"{g['type']}: {g['message'][:90]} ({g['dead_lettered']} dead)" for g in groups}
    wanted = st.query_params.get("group")
    if wanted in labels and "dl_group" not in st.session_state:
        st.session_state["dl_group"] = wanted
    group = b.selectbox("Failure group", [ALL, *labels], format_func=lambda s: labels.get(s, s), key="dl_group")
    period = c.selectbox("Dead-lettered", list(PERIODS), key="dl_period")
    since = until = None
    span = PERIODS[period]
    if span == "custom":
        today = datetime.now(zone(tz)).date()
        picked = st.date_input("Between (inclusive)", value=(today - timedelta(days=7), today), key="dl_dates")
        if isinstance(picked, (list, tuple)) and len(picked) == 2:
            since = datetime.combine(picked[0], time.min, zone(tz))
            until = datetime.combine(picked[1] + timedelta(days=1), time.min, zone(tz)) - timedelta(milliseconds=1)
    elif span is not None:
        since = datetime.now(timezone.utc) - span
    return Filter(queue=None if queue == ALL else queue, group=None if group == ALL else group, since=since,
                  until=until)


def _entry(entry_id: str, tz: str) -> None:
    eng = core.get_engine()
    try:
        entry = dead_letters.get_entry(entry_id, engine=eng)
    except NotFoundError as exc:
        ui.error(exc)
        return
    st.code(f"{entry['id']}  on  {entry['queue']}  ·  {entry['runs']} run(s)  ·  dead-lettered "
            f"{fmt_time(entry['dead_lettered_at'], tz)}", language=None)
    left, right = st.columns(2)
    with left:
        st.markdown("**Data**")
        st.json(entry["data"], expanded=True)
    with right:
        st.markdown("**Options**")
        st.json(entry["options"], expanded=False)
        if st.button("Open the job's page", key="dl_open_job", icon=":material/open_in_new:"):
            st.switch_page(nav.path("pages/jobs.py"), query_params={"queue": entry["queue"], "job": entry["id"]})
    st.markdown("**Errors, one per failed run**")
    ui.show_errors(entry.get("errors", []), tz)
    if core.can_write():
        left, right = st.columns(2)
        with left:
            ui.confirm("dl-entry-retry", "Retry this entry", f"Move {entry_id} back to {entry['queue']}?",
                       lambda _: (ui.act(lambda: core.operator().retry_dead_letter(entry_id),
                                         lambda moved: f"Retried {entry_id}." if moved else
                                         f"{entry_id} was already retried."), _bump()),
                       primary=True)
        with right:
            ui.confirm("dl-entry-delete", "Delete this entry", f"Delete {entry_id} and its job for good?",
                       lambda _: (ui.act(lambda: core.operator().delete_dead_letter(entry_id),
                                         f"Deleted {entry_id}."), _bump()))
        with st.expander("Edit and retry", icon=":material/edit:"):
            st.caption("Correct the entry's data and move it back to its queue; the queue's schema checks the "
                       "new data and the audit log keeps the data before and after.")
            if edit_form.edit_and_retry(f"dl-edit-{entry_id}", entry["queue"], entry["data"],
                                        lambda data: core.operator().retry_dead_letter(entry_id, data=data),
                                        lambda _moved: f"Retried {entry_id} with the edited data."):
                _bump()
                st.rerun()


def _bulk(flt: Filter, selected: list[str], total: int) -> None:
    over = total > BULK_CAP
    if over:
        st.caption(f"{total:,} entries match; one action handles at most {BULK_CAP:,}: narrow the filter to act "
                   "on all of them.")
    a, b, c, d = st.columns(4)
    with a:
        ui.confirm("dl-retry-selected", f"Retry selected ({len(selected)})",
                   f"Retry the {len(selected)} selected entr{'y' if len(selected) == 1 else 'ies'}?",
                   lambda ids: (ui.act(lambda: core.operator().bulk_retry_dead_letters(ids=ids),
                                       lambda n: f"Retried {n} of {len(ids)} selected."), _bump()),
                   payload=selected, disabled=not selected, primary=True)
    with b:
        ui.confirm("dl-delete-selected", f"Delete selected ({len(selected)})",
                   f"Delete the {len(selected)} selected entr{'y' if len(selected) == 1 else 'ies'} for good?",
                   lambda ids: (ui.act(lambda: core.operator().bulk_delete_dead_letters(ids=ids),
                                       lambda n: f"Deleted {n} of {len(ids)} selected."), _bump()),
                   payload=selected, disabled=not selected)
    with c:
        ui.confirm("dl-retry-all", f"Retry all {total} matching",
                   f"Retry all {total} entries matching the filter?",
                   lambda f: (ui.act(lambda: core.operator().bulk_retry_dead_letters(f),
                                     lambda n: f"Retried {n} entries matching the filter."), _bump()),
                   payload=flt, disabled=not total or over)
    with d:
        ui.confirm("dl-delete-all", f"Delete all {total} matching",
                   f"Delete all {total} entries matching the filter for good?",
                   lambda f: (ui.act(lambda: core.operator().bulk_delete_dead_letters(f),
                                     lambda n: f"Deleted {n} entries matching the filter."), _bump()),
                   payload=flt, disabled=not total or over)


def render() -> None:
    st.title("Dead letters")
    eng, tz = core.get_engine(), core.tz()
    _stats(eng)
    flt = _filter(eng, tz)
    key = f"{flt.queue}|{flt.group}|{st.session_state.get('dl_period')}"
    entries, total, offset = ui.paged(lambda o, n: dead_letters.list_entries(flt, offset=o, limit=n, engine=eng),
                                      key=f"dl_page-{key}", page_size=PAGE_SIZE)
    frame = pd.DataFrame([{"id": e["id"], "queue": e["queue"], "runs": e["runs"], "error": e["error_type"],
                           "message": e["error_message"][:300], "dead-lettered": fmt_time(e["dead_lettered_at"], tz),
                           "enqueued": fmt_time(e["enqueued_at"], tz)} for e in entries],
                         columns=["id", "queue", "runs", "error", "message", "dead-lettered", "enqueued"])
    can_write = core.can_write()
    event = st.dataframe(frame, hide_index=True, width="stretch", key=f"dl_table-{key}-{offset}-"
                         f"{st.session_state.get('dl_nonce', 0)}",
                         on_select="rerun" if can_write else "ignore", selection_mode="multi-row")
    selected = [entries[i]["id"] for i in (event.selection.rows if can_write and event else []) if i < len(entries)]
    if can_write:
        _bulk(flt, selected, total)
    ui.download_csv("Download CSV (all matching)", lambda: export.dead_letters_csv(flt, engine=eng),
                    file_name="dead-letters.csv", key="dl_csv", what="dead_letters")
    if entries:
        st.subheader("Entry", anchor=False)
        ids = [e["id"] for e in entries]
        chosen = st.selectbox("Inspect entry", ids, key=f"dl_inspect-{key}-{offset}")
        _entry(chosen, tz)


if __name__ == "__main__":
    from dashboard.shell import page_entry

    page_entry(render)
