"""Small shared widgets: messages that survive a rerun, confirmed actions, paging, CSV downloads.

Text that may come from job data, errors or users is passed through fmt.escape_md before it
reaches any Markdown-rendering element; raw content goes to st.code, st.json, st.text or tables.
"""
from __future__ import annotations

import logging
from typing import Any, Callable

import streamlit as st

from engine import audit
from engine.audit import Actor
from engine.errors import EngineError, PermissionDenied

from .fmt import escape_md, fmt_time

log = logging.getLogger("dashboard.ui")

FLASH_KEY = "_flash"
CONFIRM_KEY = "_confirm"
PAYLOAD_KEY = "_confirm_payload"


# -- messages --------------------------------------------------------------------------------
def flash(kind: str, text: str) -> None:
    """Show `text` (plain) at the top of the next run: kind is success, info, warning or error."""
    st.session_state.setdefault(FLASH_KEY, []).append((kind, str(text)))


def show_flash() -> None:
    for kind, text in st.session_state.pop(FLASH_KEY, []):
        getattr(st, kind)(escape_md(text))


def error(text: Any) -> None:
    st.error(escape_md(text))


def info(text: Any) -> None:
    st.info(escape_md(text))


def show_errors(errors: list[dict], tz: str) -> None:
    """Each failed run's error: a plain header line, the message and the traceback as code (never Markdown)."""
    if not errors:
        st.caption("No failed runs.")
        return
    for i, err in enumerate(errors, 1):
        with st.container(border=True):
            st.text(f"Run {err.get('run', i)} · {err.get('type', '?')} · {fmt_time(err.get('time'), tz)}"
                    f" · worker {err.get('worker', '?')}")
            st.code(str(err.get("message", "")), language=None, wrap_lines=True)
            if err.get("traceback"):
                st.code(str(err["traceback"]), language="python")


# -- acting ----------------------------------------------------------------------------------
def act(fn: Callable[[], Any], success: str | Callable[[Any], str]) -> tuple[bool, Any]:
    """Run one Operator call; flash its outcome. Returns (ok, result)."""
    try:
        result = fn()
    except PermissionDenied as exc:
        flash("error", f"Not allowed: {exc}")
        return False, None
    except EngineError as exc:
        flash("error", str(exc))
        return False, None
    flash("success", success(result) if callable(success) else success)
    return True, result


def confirm(key: str, label: str, prompt: str, on_confirm: Callable[[Any], None], *, payload: Any = None,
            disabled: bool = False, primary: bool = False, help: str | None = None) -> None:
    """A button that asks again before doing anything. `payload` is fixed when the button is
    pressed (what the user saw), then handed to `on_confirm` after Confirm."""
    if st.session_state.get(CONFIRM_KEY) != key:
        if st.button(label, key=f"{key}-ask", disabled=disabled, type="primary" if primary else "secondary",
                     help=help):
            st.session_state[CONFIRM_KEY] = key
            st.session_state[PAYLOAD_KEY] = payload
            st.rerun()
        return
    with st.container(border=True):
        st.warning(escape_md(prompt))
        yes, no = st.columns(2)
        if yes.button("Confirm", key=f"{key}-yes", type="primary"):
            saved = st.session_state.pop(PAYLOAD_KEY, None)
            st.session_state.pop(CONFIRM_KEY, None)
            on_confirm(saved)
            st.rerun()
        if no.button("Cancel", key=f"{key}-no"):
            forget_confirmation()
            st.rerun()


def forget_confirmation() -> None:
    st.session_state.pop(CONFIRM_KEY, None)
    st.session_state.pop(PAYLOAD_KEY, None)


# -- paging ----------------------------------------------------------------------------------
def paged(fetch: Callable[[int, int], tuple[list, int]], *, key: str, page_size: int) -> tuple[list, int, int]:
    """Fetch one page with `fetch(offset, limit) -> (rows, total)` and show a page number input.

    Returns (rows, total, offset). Only the page shown is ever read."""
    page = int(st.session_state.get(key, 1) or 1)
    rows, total = fetch((page - 1) * page_size, page_size)
    pages = max(1, -(-total // page_size))
    if page > pages:
        page = pages
        st.session_state[key] = page
        rows, total = fetch((page - 1) * page_size, page_size)
    offset = (page - 1) * page_size
    left, right = st.columns([1, 3], vertical_alignment="bottom")
    left.number_input(f"Page (of {pages})", min_value=1, max_value=pages, step=1, key=key)
    right.caption(f"{offset + 1 if rows else 0}–{offset + len(rows)} of {total}")
    return rows, total, offset


# -- CSV -------------------------------------------------------------------------------------
def download_csv(label: str, make: Callable[[], str], *, file_name: str, key: str, what: str) -> None:
    """A CSV download built only when clicked (in Streamlit's download thread), audited as an export."""
    from . import auth
    from .backend import get_engine

    user = auth.current_user()
    eng = get_engine()
    name = user.name if user else "?"

    def build() -> bytes:
        text = make()
        try:
            audit.record(Actor(name, "dashboard"), "export", target=what, engine=eng)
        except Exception:  # noqa: BLE001 - the download must not fail on the audit write
            log.warning("could not audit export %s", what, exc_info=True)
        return text.encode("utf-8")

    st.download_button(label, data=build, file_name=file_name, mime="text/csv", key=key, on_click="ignore",
                       icon=":material/download:")


def download_text(label: str, text: str, *, file_name: str, key: str) -> None:
    """A CSV download of data already on the page (small)."""
    st.download_button(label, data=text.encode("utf-8"), file_name=file_name, mime="text/csv", key=key,
                       on_click="ignore", icon=":material/download:")
