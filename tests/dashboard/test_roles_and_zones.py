"""Across every page: viewers never see a mutating control; times follow the chosen zone; page files
run directly by Streamlit still go through the sign-in."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import auth, nav
from tests.dashboard.conftest import DASHBOARD, PASSWORDS, buttons, no_exception, texts

MUTATING_WORDS = ("Retry", "Delete", "Pause", "Resume", "Run now", "Set limit", "Confirm", "Enqueue", "Cancel",
                  "Save")
READ_ONLY_FORMS = {"support_search", "open_job", "order_open"}  # the sidebar box, open a job or an order by id


@pytest.mark.parametrize("spec", nav.visible(False), ids=lambda s: s.url_path)
def test_viewer_sees_no_mutating_control_on_any_page(app, seeded, spec):
    at = no_exception(app.new("vera", page=spec.file))
    assert at.title[0].value == spec.title
    assert not [b for b in buttons(at) if b.startswith(MUTATING_WORDS)], buttons(at)
    assert {f.key for f in at.form} <= READ_ONLY_FORMS, [f.key for f in at.form]
    assert not at.number_input or all(n.label.startswith("Page") for n in at.number_input)


@pytest.mark.parametrize("spec", nav.PAGES, ids=lambda s: s.url_path)
def test_operator_page_renders_on_a_seeded_server(app, seeded, spec):
    at = no_exception(app.new(page=spec.file))
    assert at.title[0].value == spec.title


def test_times_default_to_the_scheduler_zone_and_follow_the_sidebar(app, seeded, monkeypatch):
    from dashboard import core

    monkeypatch.setenv("SCHEDULER_TZ", "Asia/Kathmandu")
    core.get_engine.clear()
    at = app.new(page="pages/jobs.py")
    assert at.sidebar.selectbox(key="tz").value == "Asia/Kathmandu"
    assert at.dataframe[0].value.iloc[0]["enqueued"].endswith("+0545")
    at.sidebar.selectbox(key="tz").set_value("America/New_York").run()
    assert at.dataframe[0].value.iloc[0]["enqueued"].endswith(("EST", "EDT"))
    at.switch_page("../../dashboard/pages/schedules.py").run()
    assert at.dataframe[0].value.iloc[0]["next run"].endswith(("EST", "EDT"))
    assert "times shown in America/New_York" in texts(at)


def test_a_page_file_run_directly_still_requires_sign_in(dash, user_table):
    """What a freshly started server does for a first request to /jobs (see dashboard/shell.py)."""
    at = AppTest.from_file(str(DASHBOARD / "app.py"), default_timeout=30)
    at.secrets["users"] = user_table
    at.switch_page("pages/jobs.py").run()  # the legacy pages/ mode: jobs.py is run without app.py
    no_exception(at)
    assert [t.label for t in at.text_input] == ["User name", "Password"] and not at.dataframe
    inputs = {t.label: t for t in at.text_input}
    inputs["User name"].input("vera")
    inputs["Password"].input(PASSWORDS["vera"])
    next(b for b in at.button if b.label == "Log in").click().run()
    no_exception(at)
    assert at.session_state[auth.SESSION_USER] == "vera" and at.title[0].value == "Jobs"


def test_an_unreachable_server_shows_a_message_not_a_trace(app, monkeypatch):
    from dashboard import core

    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    core.get_engine.clear()
    at = no_exception(app.new(page="pages/jobs.py"))
    assert "The queue server cannot be reached" in texts(at)
    core.get_engine.clear()
