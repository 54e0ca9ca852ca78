"""The dashboard's entry point: `streamlit run dashboard/app.py`.

Signs the user in, then shows the pages their role allows (dashboard/nav.py). Every page reads
through engine functions and acts only through an engine Operator built with the user's role.
"""
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:  # `streamlit run dashboard/app.py` puts only dashboard/ on the path
    sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
import streamlit as st  # noqa: E402

from dashboard import auth, core, nav, search_box, shell, ui  # noqa: E402
from dashboard.fmt import escape_md, zone_names  # noqa: E402
from engine.errors import ServerUnavailableError  # noqa: E402


def _pages(specs: list[nav.PageSpec]) -> dict[str, list]:
    sections: dict[str, list] = {}
    for i, spec in enumerate(specs):
        page = st.Page(str(HERE / spec.file), title=spec.title, icon=spec.icon, url_path=spec.url_path, default=i == 0)
        sections.setdefault(spec.section, []).append(page)
    return sections


def _sidebar(user) -> None:
    with st.sidebar:
        st.caption(f"Signed in as **{escape_md(user.name)}** ({user.role})")
        search_box.render()
        default = core.get_engine().settings.scheduler_tz or "UTC"
        names = zone_names()
        options = [default] + [z for z in ("UTC",) if z != default] + [z for z in names if z not in (default, "UTC")]
        st.selectbox("Time zone", options, key=core.TZ_KEY, help="Times on every page are shown in this zone.")
        if st.button("Log out", key="logout", icon=":material/logout:"):
            auth.logout(user)


def main() -> None:
    st.set_page_config(page_title="Job queue", page_icon=":material/stacks:", layout="wide")
    try:
        user = auth.current_user()
        if user is None:
            # Register every page (hidden) so that a deep link such as /jobs?queue=...&job=... survives
            # the log-in and opens once the user is signed in.
            st.navigation(_pages(list(nav.PAGES)), position="hidden")
            auth.login_form()
            return
        page = st.navigation(_pages(nav.visible(user.can_write)))
        if st.session_state.get("_page") != page.url_path:  # a confirmation asked on another page lapses
            st.session_state["_page"] = page.url_path
            ui.forget_confirmation()
        _sidebar(user)
        ui.show_flash()
        with shell.inside():
            page.run()
    except (ServerUnavailableError, redis.ConnectionError, redis.TimeoutError) as exc:
        st.error("The queue server cannot be reached; showing nothing until it is back.")
        st.code(str(exc), language=None)


if __name__ == "__main__":
    main()
