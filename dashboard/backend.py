"""The process's Engine, built once from the environment; shared by sign-in (dashboard/auth.py) and pages."""
from __future__ import annotations

import streamlit as st

from engine.app import Engine
from engine.settings import Settings


@st.cache_resource(show_spinner=False)
def get_engine() -> Engine:
    """Built once per process from the environment (REDIS_URL ...); not cached while the server is down."""
    return Engine.from_settings(Settings())
