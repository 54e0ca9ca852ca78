"""Every page runs inside the app shell (dashboard/app.py: sign-in, role, navigation).

Streamlit has a legacy mode for a `pages/` folder beside the entry script: until some run of the
process has called st.navigation, a request for a page URL executes that page's file directly,
without the entry script. The first request after a restart could then skip the sign-in. Each page
file therefore renders through page_entry(), which sends such a run through the shell instead.
"""
from __future__ import annotations

import contextvars
from contextlib import contextmanager
from typing import Callable, Iterator

_inside = contextvars.ContextVar("dashboard_shell", default=False)


@contextmanager
def inside() -> Iterator[None]:
    token = _inside.set(True)
    try:
        yield
    finally:
        _inside.reset(token)


def page_entry(render: Callable[[], None]) -> None:
    if _inside.get():
        render()
        return
    from dashboard.app import main  # run directly by Streamlit: go through sign-in and navigation

    main()
