"""Signing in and out, role-dependent navigation, and the server-side role check."""
from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import auth, nav
from engine import audit, control
from tests.dashboard.conftest import APP, PASSWORDS, buttons, no_exception, page_path, texts


def login(at: AppTest, name: str, password: str) -> AppTest:
    inputs = {t.label: t for t in at.text_input}
    inputs["User name"].input(name)
    inputs["Password"].input(password)
    return next(b for b in at.button if b.label == "Log in").click().run()


def fresh(user_table, query: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.secrets["users"] = user_table
    for k, v in (query or {}).items():
        at.query_params[k] = v
    return at.run()


def test_logged_out_sees_only_the_login_form(dash, user_table):
    at = no_exception(fresh(user_table))
    assert [t.label for t in at.text_input] == ["User name", "Password"]
    assert "Job queue dashboard" in texts(at)
    assert not at.metric and not at.dataframe and "Log out" not in buttons(at)


def test_wrong_password_is_refused_and_audited(dash, user_table):
    at = login(fresh(user_table), "olga", "not-the-password")
    assert "Wrong user name or password." in texts(at)
    assert auth.SESSION_USER not in at.session_state
    entry = audit.list_entries(engine=dash, action="login")[0]
    assert entry["actor"] == "olga" and entry["outcome"].startswith("denied")
    at = login(fresh(user_table), "nobody", "whatever-pw")
    assert "Wrong user name or password." in texts(at)


def test_operator_logs_in_sees_every_page_and_logs_out(dash, user_table):
    at = no_exception(login(fresh(user_table), "olga", PASSWORDS["olga"]))
    assert at.session_state[auth.SESSION_USER] == "olga"
    assert "Overview" in texts(at) and "Log out" in buttons(at)
    assert audit.list_entries(engine=dash, action="login")[0]["actor"] == "olga"
    at.switch_page(page_path("pages/enqueue.py")).run()  # registered for operators
    assert at.tabs and "WhatsApp message" in [t.label for t in at.tabs]
    at.button(key="logout").click().run()
    assert auth.SESSION_USER not in at.session_state
    assert [t.label for t in at.text_input] == ["User name", "Password"]
    assert audit.list_entries(engine=dash, action="logout")[0]["actor"] == "olga"


def test_viewer_navigation_has_no_enqueue_page(dash, user_table):
    at = no_exception(login(fresh(user_table), "vera", PASSWORDS["vera"]))
    assert at.session_state[auth.SESSION_USER] == "vera"
    with pytest.raises(ValueError):
        at.switch_page(page_path("pages/enqueue.py"))
    for spec in nav.visible(False):
        at.switch_page(page_path(spec.file)).run()
        no_exception(at)


def test_deep_link_survives_the_login(seeded, user_table):
    job_id = seeded["dead_whatsapp"][0]
    at = fresh(user_table, {"queue": "whatsapp", "job": job_id})
    at.switch_page(page_path("pages/jobs.py")).run()
    assert [t.label for t in at.text_input] == ["User name", "Password"]
    at = no_exception(login(at, "olga", PASSWORDS["olga"]))
    assert "Job" in [s.value for s in at.subheader]
    assert any(job_id in c.value for c in at.code)


def test_users_from_the_environment(dash, user_table, monkeypatch):
    monkeypatch.setenv("DASHBOARD_USERS", json.dumps({"erin": user_table["vera"]}))
    at = AppTest.from_file(str(APP), default_timeout=30).run()  # no secrets file users at all
    at = no_exception(login(at, "erin", PASSWORDS["vera"]))
    assert at.session_state[auth.SESSION_USER] == "erin" and "viewer" in texts(at) + str(at.sidebar.caption)


def test_no_users_configured_explains_how_to_add_one(dash):
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.secrets["users"] = {}
    at.run()
    assert "No dashboard users are configured." in texts(at)
    assert any("dashboard.users add" in c.value for c in at.code)


def test_removed_user_or_changed_password_ends_the_session(app, user_table):
    at = app.new("olga")
    assert "Log out" in buttons(at)
    at.secrets["users"] = {"vera": user_table["vera"]}
    at.run()
    assert auth.SESSION_USER not in at.session_state and "User name" in [t.label for t in at.text_input]
    at = app.new("vera")
    at.secrets["users"] = {"vera": {"role": "viewer", "hash": user_table["olga"]["hash"]}}
    at.run()
    assert auth.SESSION_USER not in at.session_state


def test_role_is_read_from_the_store_on_every_run(app, user_table):
    at = app.new("olga", page="pages/queues.py")
    assert "Pause" in buttons(at)
    at.secrets["users"] = {**user_table, "olga": {**user_table["olga"], "role": "viewer"}}
    at.run()
    assert "Pause" not in buttons(at)


def test_a_viewer_session_cannot_act_even_when_it_calls_the_operator(app, dash):
    """The server-side check: the Operator is built with the session's role and refuses."""
    def script():
        import streamlit as st

        from dashboard import core, ui

        ok, _ = ui.act(lambda: core.operator().pause("whatsapp"), "paused")
        st.text(f"ok={ok}")
        ui.show_flash()

    at = AppTest.from_function(script, default_timeout=30)
    at.secrets["users"] = app.users
    at.session_state[auth.SESSION_USER] = "vera"
    from dashboard.passwords import User
    at.session_state[auth.SESSION_TOKEN] = auth.session_token(User("vera", "viewer", app.users["vera"]["hash"]))
    at.run()
    assert at.text[0].value == "ok=False"
    assert "Not allowed" in at.error[0].value
    assert control.state("whatsapp", engine=dash)["paused"] is False
    entry = audit.list_entries(engine=dash, action="pause")[0]
    assert entry["actor"] == "vera" and entry["outcome"].startswith("denied")
