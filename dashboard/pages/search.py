"""Search jobs by business key (order, phone, retailer, wholesaler, credit account), id prefix or error words,
across every queue and state, newest first, one page at a time (?order_id=...&q=... are linkable); bulk
retry, delete and cancel act on the whole filtered set, with its count shown first."""
from __future__ import annotations

if not __package__:  # executed as a script by Streamlit: make the repository root importable
    import sys
    from pathlib import Path

    _root = str(Path(__file__).resolve().parents[2])
    if _root not in sys.path:
        sys.path.insert(0, _root)

import streamlit as st

from dashboard import core, timeline, ui
from dashboard.fmt import escape_md
from engine import search
from engine import bulk
from engine.bulk import BULK_CAP
from engine.errors import ValidationError

ALL = "(all)"
PAGE_SIZE = 50
TEXT_FIELDS = (("order_id", "Order id"), ("phone", "Phone"), ("retailer_id", "Retailer id"),
               ("wholesaler_id", "Wholesaler id"), ("account_id", "Credit account id"),
               ("q", "Job id prefix or error words"))
CURSORS = "search_cursors"


def _filters(eng) -> dict[str, str]:
    """The filter widgets, seeded once from the query string; the chosen filter is written back to it."""
    for name, _label in TEXT_FIELDS + (("queue", ""), ("state", "")):
        wanted = st.query_params.get(name)
        if wanted and f"search_{name}" not in st.session_state:
            st.session_state[f"search_{name}"] = wanted
    cols = st.columns(3)
    values = {}
    for i, (name, label) in enumerate(TEXT_FIELDS):
        values[name] = cols[i % 3].text_input(label, key=f"search_{name}").strip()
    a, b = st.columns(2)
    values["queue"] = a.selectbox("Queue", [ALL, *eng.table.names], key="search_queue")
    values["state"] = b.selectbox("State", [ALL, *search.STATES], key="search_state")
    chosen = {k: v for k, v in values.items() if v and v != ALL}
    for name in [n for n, _ in TEXT_FIELDS] + ["queue", "state"]:
        if name in chosen:
            st.query_params[name] = chosen[name]
        else:
            st.query_params.pop(name, None)
    return chosen


def _filter(chosen: dict[str, str]) -> search.SearchFilter:
    return search.SearchFilter(**chosen)


def describe(chosen: dict[str, str]) -> str:
    """The filter in words, for the confirmation and the success message."""
    return ", ".join(f"{k} = {v}" for k, v in chosen.items())


DONE = {"retry": "retried", "delete": "deleted", "cancel": "cancelled"}
HELPS = {"retry": "Failed and dead-lettered jobs go back to their queue; others are skipped.",
         "delete": "Running jobs are skipped.", "cancel": "Waiting, scheduled and running jobs are cancelled."}
PENDING = "search_bulk_pending"


def _bulk(chosen: dict[str, str], eng) -> None:
    """Retry, delete or cancel every job matching the filter (not only this page). Counting may read up to
    BULK_CAP jobs, so it happens only once an action is chosen, and the count is shown before Confirm."""
    pending = st.session_state.get(PENDING)
    if pending and pending["filter"] != chosen:
        pending = None
        st.session_state.pop(PENDING, None)
    if not pending:
        for col, action in zip(st.columns(3), ("retry", "delete", "cancel")):
            if col.button(f"{action.capitalize()} all matching…", key=f"search-bulk-{action}-ask", help=HELPS[action],
                          type="primary" if action == "retry" else "secondary"):
                st.session_state[PENDING] = {"action": action, "filter": dict(chosen)}
                st.rerun()
        return
    action, flt = pending["action"], pending["filter"]
    if "count" not in pending:  # counted once per confirmation, not on every rerun
        pending["count"] = bulk.count_search(_filter(flt), action, cap=BULK_CAP, engine=eng)
    total = pending["count"]
    with st.container(border=True):
        if total > BULK_CAP:
            st.warning(escape_md(f"More than {BULK_CAP:,} jobs match {describe(flt)}; one action handles at most "
                                 f"{BULK_CAP:,}. Narrow the filter (a queue, a state) first."))
        elif not total:
            st.info(escape_md(f"No job matching {describe(flt)} can be {DONE[action]}."))
        else:
            st.warning(escape_md(f"{action.capitalize()} the {total:,} job(s) matching {describe(flt)}, on every "
                                 f"page? {HELPS[action]}"))
        yes, no = st.columns(2)
        if yes.button("Confirm", key=f"search-bulk-{action}-yes", type="primary",
                      disabled=not total or total > BULK_CAP):
            st.session_state.pop(PENDING, None)
            ui.act(lambda: core.operator().bulk_search(action, _filter(flt)),
                   lambda n: f"{n:,} job(s) {DONE[action]} (filter: {describe(flt)}).")
            _reset()
            st.rerun()
        if no.button("Cancel", key=f"search-bulk-{action}-no"):
            st.session_state.pop(PENDING, None)
            st.rerun()


def _reset() -> None:
    st.session_state.pop(CURSORS, None)


def render() -> None:
    st.title("Search jobs")
    eng, tz = core.get_engine(), core.tz()
    chosen = _filters(eng)
    if not any(name in chosen for name, _label in TEXT_FIELDS):
        st.caption("Fill in at least one of the fields above (a queue or a state alone is not a search), "
                   "or use the search box in the sidebar.")
        return
    signature = repr(sorted(chosen.items()))
    state = st.session_state.setdefault(CURSORS, {"filter": signature, "stack": [None]})
    if state["filter"] != signature:
        state.update(filter=signature, stack=[None])
    try:
        page = search.search(_filter(chosen), limit=PAGE_SIZE, cursor=state["stack"][-1], engine=eng)
    except ValidationError as exc:
        ui.error(f"{exc.field}: {exc.message}")
        return
    items = page["items"]
    picked = st.dataframe(timeline.jobs_frame(items, tz), hide_index=True, width="stretch",
                          on_select="rerun", selection_mode="single-row",
                          key=f"search-table-{signature}-{len(state['stack'])}")
    rows = list(picked.selection.rows) if picked else []
    if rows and rows[0] < len(items):
        timeline.open_job(items[rows[0]]["queue"], items[rows[0]]["id"])
    n = len(state["stack"])
    st.caption(escape_md(f"Page {n} · {len(items)} job(s) · newest first · select a row to open the job."))
    left, right, _ = st.columns([1, 1, 4])
    if left.button("Newer", disabled=n == 1, key="search-prev", icon=":material/chevron_left:"):
        state["stack"].pop()
        st.rerun()
    if right.button("Older", disabled=not page["next_cursor"], key="search-next", icon=":material/chevron_right:"):
        state["stack"].append(page["next_cursor"])
        st.rerun()
    if core.can_write():
        st.subheader("Act on every matching job", anchor=False)
        _bulk(chosen, eng)


if __name__ == "__main__":
    from dashboard.shell import page_entry

    page_entry(render)
