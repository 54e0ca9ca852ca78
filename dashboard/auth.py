"""Signing in and out. The session keeps only the user's name (server side); the role is read from
the user store on every run, so removing a user or changing their role or password takes effect at
once."""
from __future__ import annotations

import hashlib
import logging
import math

import streamlit as st

from engine import audit
from engine.audit import Actor

from .backend import get_engine
from .passwords import NAME_PATTERN, User, authenticate, users_from_env, users_from_mapping
from .throttle import LoginThrottle

log = logging.getLogger("dashboard.auth")

SESSION_USER = "auth_user"
SESSION_TOKEN = "auth_token"


class NotSignedIn(Exception):
    pass


def _secret_users() -> dict:
    try:
        if not st.secrets.load_if_toml_exists():
            return {}
        table = st.secrets.get("users") or {}
        return table.to_dict() if hasattr(table, "to_dict") else dict(table)
    except Exception:  # noqa: BLE001 - an unreadable secrets file means no users from it
        log.warning("cannot read users from the secrets file", exc_info=True)
        return {}


def load_users() -> dict[str, User]:
    """Users from `.streamlit/secrets.toml` ([users.NAME]) and DASHBOARD_USERS (which wins)."""
    users = users_from_mapping(_secret_users())
    users.update(users_from_env())
    return users


def session_token(user: User) -> str:
    """Ties a session to the user's current password hash: a changed password signs sessions out."""
    return hashlib.sha256(f"{user.name}|{user.password_hash}".encode()).hexdigest()[:32]


def sign_in(user: User) -> None:
    st.session_state[SESSION_USER] = user.name
    st.session_state[SESSION_TOKEN] = session_token(user)


def current_user() -> User | None:
    name = st.session_state.get(SESSION_USER)
    if not name:
        return None
    user = load_users().get(name)
    if user is None or st.session_state.get(SESSION_TOKEN) != session_token(user):
        st.session_state.pop(SESSION_USER, None)
        st.session_state.pop(SESSION_TOKEN, None)
        return None
    return user


# -- throttling of failed log-ins (per process, per client address and user name) --------------
@st.cache_resource(show_spinner=False)
def _failures() -> LoginThrottle:
    return LoginThrottle()


def client_address() -> str:
    """The connecting client's address as the server saw it (never a header the client can set)."""
    try:
        return st.context.ip_address or "unknown"
    except Exception:  # noqa: BLE001 - no request context (bare runs)
        return "unknown"


def _audit(name: str, action: str, outcome: str = "ok") -> None:
    try:
        audit.record(Actor(name, "dashboard"), action, outcome=outcome, engine=get_engine())
    except Exception:  # noqa: BLE001 - signing in must not depend on the audit write
        log.warning("could not write the audit entry for %s %s", action, name, exc_info=True)


def login_form() -> None:
    with st.columns([1, 2, 1])[1]:
        _login_form()


def _login_form() -> None:
    st.title("Job queue dashboard")
    users = load_users()
    if not users:
        st.warning("No dashboard users are configured.")
        st.code("python -m dashboard.users add NAME --role operator", language="bash")
        return
    with st.form("login"):
        name = st.text_input("User name", autocomplete="username")
        password = st.text_input("Password", type="password", autocomplete="current-password")
        submitted = st.form_submit_button("Log in", type="primary")
    if not submitted:
        return
    name = (name or "").strip()
    safe_name = name if NAME_PATTERN.match(name) else "(invalid name)"
    throttle, client = _failures(), client_address()
    wait = throttle.wait_s(client, safe_name)
    if wait > 0:  # not checked, and not counted: the attempt after the wait is
        st.error(f"Too many failed log-ins for this user name. Try again in {math.ceil(wait)} s.")
        return
    user = authenticate(users, name, password or "")
    if user is None:
        owed = throttle.failed(client, safe_name)
        _audit(safe_name, "login", "denied: wrong user name or password")
        st.error("Wrong user name or password." + (f" Wait {math.ceil(owed)} s before the next try." if owed else ""))
        return
    throttle.succeeded(client, safe_name)
    sign_in(user)
    _audit(user.name, "login")
    st.rerun()


def logout(user: User) -> None:
    _audit(user.name, "logout")
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    st.rerun()
