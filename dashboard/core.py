"""What every page shares: the process's Engine, the signed-in user's Operator and the chosen time zone."""
from __future__ import annotations

import functools
import os
from typing import Callable

import streamlit as st

from engine.audit import Actor
from engine.errors import ServerUnavailableError
from engine.operator import Operator

from . import auth
from .backend import get_engine
from .fmt import zone

__all__ = ["TZ_KEY", "get_engine", "refresh_s", "live", "tz", "can_write", "operator"]

TZ_KEY = "tz"


def refresh_s() -> float:
    """Live parts (Overview, Workers) re-read this often; DASHBOARD_REFRESH_S, default 5 s."""
    try:
        return max(0.5, float(os.environ.get("DASHBOARD_REFRESH_S", "5")))
    except ValueError:
        return 5.0


def live(render: Callable[[], None]) -> None:
    """Run `render` as a fragment that re-runs every refresh_s(); a lost server shows a message, not a trace."""
    @functools.wraps(render)
    def body() -> None:
        try:
            render()
        except ServerUnavailableError:
            st.error("The queue server cannot be reached; trying again shortly.")

    st.fragment(run_every=refresh_s())(body)()


def tz() -> str:
    """The time zone chosen in the sidebar (default SCHEDULER_TZ)."""
    name = st.session_state.get(TZ_KEY) or get_engine().settings.scheduler_tz or "UTC"
    try:
        zone(name)
    except Exception:  # noqa: BLE001 - a bad zone name falls back to UTC
        return "UTC"
    return name


def can_write() -> bool:
    user = auth.current_user()
    return bool(user and user.can_write)


def operator() -> Operator:
    """An Operator for the signed-in user with exactly the role the user store gives them.

    The Operator checks the role again on the server side and writes the audit log, so a
    viewer's session can never act even if a control were reached.
    """
    user = auth.current_user()
    if user is None:
        raise auth.NotSignedIn()
    return Operator(get_engine(), Actor(user.name, "dashboard"), role=user.role)
