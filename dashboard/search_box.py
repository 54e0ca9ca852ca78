"""The sidebar search box (rendered by app.py on every page): an order id, a phone or a job id opens
the order timeline, the phone's jobs or the job's page; other readings are offered under the box."""
from __future__ import annotations

from typing import Any

import streamlit as st

from . import core, lookup, nav
from .fmt import escape_md
from .timeline import ORDER_PAGE, RETAILER_PAGE, SEARCH_PAGE, job_params

KEY = "support_q"
ALTS_KEY = "_support_alternatives"
MESSAGE_KEY = "_support_message"
HELP = ("An order id (4242 or #4242), a phone number in any common format, a job id or the start of one, "
        "or words of an error message. Prefixes force a reading: order:, retailer:, phone:, job:.")


def to_e164(text: str) -> str:
    """The engine's phone normaliser (the one that indexes jobs at enqueue)."""
    from engine.phones import to_e164 as normalise

    return normalise(text)


def destination(target: lookup.Target) -> tuple[str, dict[str, str]] | None:
    """The page file and query parameters a target opens; None for a job id whose queue is unknown."""
    if target.kind == "order":
        return ORDER_PAGE, {"order": target.value}
    if target.kind == "retailer":
        return RETAILER_PAGE, {"retailer": target.value}
    if target.kind == "phone":
        return RETAILER_PAGE, {"phone": target.value}
    if target.kind == "job":
        queue = _queue_of(target.value)
        return ("pages/jobs.py", job_params(queue, target.value)) if queue else None
    return SEARCH_PAGE, {"q": target.value}


def _queue_of(job_id: str) -> str | None:
    from engine import search

    items = search.search(search.SearchFilter(q=job_id), limit=1, engine=core.get_engine())["items"]
    return items[0]["queue"] if items else None


def _go(text: str) -> None:
    targets = lookup.parse(text, to_e164)
    st.session_state.pop(ALTS_KEY, None)
    if not targets:
        st.session_state[MESSAGE_KEY] = "Nothing to search for: enter an order id, a phone number or a job id."
        return
    first = destination(targets[0])
    if first is None:
        st.session_state[MESSAGE_KEY] = f"No job with id {targets[0].value} is kept."
        return
    st.session_state[ALTS_KEY] = [(t.label, t.kind, t.value) for t in targets[1:]]
    st.session_state.pop(MESSAGE_KEY, None)
    page, params = first
    st.switch_page(nav.path(page), query_params=params)


def _alternatives(alts: list[Any]) -> None:
    st.caption("Or open:")
    for label, kind, value in alts:
        where = destination(lookup.Target(kind, value))
        if where:
            st.page_link(nav.path(where[0]), label=escape_md(label), query_params=where[1],
                         icon=":material/arrow_forward:")


def render() -> None:
    """The box; call inside `with st.sidebar`."""
    with st.form("support_search", border=False):
        text = st.text_input("Find an order, phone or job", key=KEY, placeholder="order id, phone or job id",
                             help=HELP)
        submitted = st.form_submit_button("Search", icon=":material/search:", width="stretch")
    if submitted:
        _go(text)
    message = st.session_state.pop(MESSAGE_KEY, None)
    if message:
        st.warning(escape_md(message))
    if st.session_state.get(ALTS_KEY):
        _alternatives(st.session_state[ALTS_KEY])
