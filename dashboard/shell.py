"""The app shell every page runs inside: sign-in, the role's navigation, the sidebar.

Streamlit has a legacy mode for a `pages/` folder beside the entry script: until some run of the
process has called st.navigation, a request for a page URL executes that page's file directly,
without the entry script. The first request after a restart could then skip the sign-in. Each page
file therefore renders through page_entry(), which sends such a run through the shell instead.
"""
from __future__ import annotations

import contextvars
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import streamlit as st

from engine.errors import ServerUnavailableError

from . import auth, core, nav, search_box, ui
from .fmt import escape_md, zone_names

HERE = Path(__file__).resolve().parent
_inside = contextvars.ContextVar("dashboard_shell", default=False)


@contextmanager
def inside() -> Iterator[None]:
    token = _inside.set(True)
    try:
        yield
    finally:
        _inside.reset(token)


def page_entry(render: Callable[[], None]) -> None:
    """Render a page inside the shell; a page file run directly by Streamlit goes through main()."""
    if _inside.get():
        render()
        return
    main()


def _pages(specs: list[nav.PageSpec]) -> dict[str, list]:
    sections: dict[str, list] = {}
    for i, spec in enumerate(specs):
        page = st.Page(str(HERE / spec.file), title=spec.title, icon=spec.icon, url_path=spec.url_path, default=i == 0)
        sections.setdefault(spec.section, []).append(page)
    return sections


def _sidebar(user) -> None:
    with st.sidebar:
        st.caption(f"Signed in as **{escape_md(user.name)}** ({user.role})")
        search_box.render()  # the support desk's search (order id, phone, job id, words) on every page
        default = core.get_engine().settings.scheduler_tz or "UTC"
        names = zone_names()
        options = [default] + [z for z in ("UTC",) if z != default] + [z for z in names if z not in (default, "UTC")]
        st.selectbox("Time zone", options, key=core.TZ_KEY, help="Times on every page are shown in this zone.")
        if st.button("Log out", key="logout", icon=":material/logout:"):
            auth.logout(user)


def main() -> None:
    """Sign the user in, then run the page they asked for among those their role allows."""
    st.set_page_config(page_title="Job queue", page_icon=":material/stacks:", layout="wide")
    try:
        user = auth.current_user()
        if user is None:
            # Register every page (hidden) so that a deep link such as /jobs?queue=...&job=... survives
            # the log-in and opens once the user is signed in.
            st.navigation(_pages(list(nav.PAGES)), position="hidden")
            auth.login_form()
            return
        # expanded: every page's link stays visible (the support pages took the list past Streamlit's fold)
        page = st.navigation(_pages(nav.visible(user.can_write)), expanded=True)
        if st.session_state.get("_page") != page.url_path:  # a confirmation asked on another page lapses
            st.session_state["_page"] = page.url_path
            ui.forget_confirmation()
        _sidebar(user)
        ui.show_flash()
        with inside():
            page.run()
    except ServerUnavailableError as exc:
        st.error("The queue server cannot be reached; showing nothing until it is back.")
        st.code(str(exc), language=None)
