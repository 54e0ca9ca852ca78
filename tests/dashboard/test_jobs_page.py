"""Jobs: the paginated list, the linkable detail, retry and delete with confirmation, safe display."""
from __future__ import annotations

import pytest

from engine import audit, dead_letters, monitoring
from engine.errors import NotFoundError
from tests.dashboard.conftest import (buttons, click, confirm, drain, markdown_text, metrics, no_exception, texts,
                                      values)
from tests.engine.support import put

JOBS = "pages/jobs.py"


def test_empty_queue_lists_nothing(app):
    at = no_exception(app.new(page=JOBS))
    assert at.dataframe[0].value.empty
    assert "0–0 of 0" in texts(at)
    assert at.query_params["queue"] == "whatsapp"


def test_waiting_jobs_in_priority_order_and_each_state(app, seeded):
    at = no_exception(app.new(page=JOBS))
    frame = at.dataframe[0].value
    assert list(frame["priority"]) == ["high", "normal", "low"]
    assert list(frame["id"]) == [seeded["waiting"][p] for p in ("high", "normal", "low")]
    expected = {"scheduled": [seeded["scheduled"]], "finished": None, "failed": seeded["dead_whatsapp"],
                "started": []}
    for state, ids in expected.items():
        at.selectbox(key="jobs_state").set_value(state).run()
        got = list(no_exception(at).dataframe[0].value["id"])
        if ids is None:
            assert set(got) == {*seeded["completed"], seeded["logged"]}
        else:
            assert sorted(got) == sorted(ids)
    at.selectbox(key="jobs_state").set_value("failed")
    at.selectbox(key="jobs_queue").set_value("orderExpiry").run()
    assert list(at.dataframe[0].value["id"]) == seeded["dead_order"]
    assert at.query_params["queue"] == "orderExpiry"


def test_pagination_reads_one_page_at_a_time(app, dash):
    ids = [put(dash, "vendorFallback", "ok", {"n": i}).id for i in range(60)]
    at = app.new(page=JOBS, query={"queue": "vendorFallback"})
    assert at.selectbox(key="jobs_queue").value == "vendorFallback"
    assert len(at.dataframe[0].value) == 50 and "1–50 of 60" in texts(at)
    page = next(n for n in at.number_input if n.label.startswith("Page"))
    assert page.label == "Page (of 2)"
    page.set_value(2).run()
    assert list(at.dataframe[0].value["id"]) == ids[50:]
    at.selectbox(key="jobs_size").set_value(25).run()
    assert len(at.dataframe[0].value) == 25


def test_selecting_a_row_opens_the_job_and_back_returns(app, seeded):
    at = app.new(page=JOBS)
    table = at.dataframe[0]
    at.session_state[table.key] = {"selection": {"rows": [1], "columns": [], "cells": []}}
    at.run()
    assert at.query_params["job"] == seeded["waiting"]["normal"]
    assert any(seeded["waiting"]["normal"] in c.value for c in at.code)
    at.button(key="job_back").click().run()
    assert "job" not in at.query_params and not at.dataframe[0].value.empty


def test_open_by_id(app, seeded):
    at = app.new(page=JOBS)
    at.text_input(key="jobs_open_id").input(seeded["scheduled"])
    next(b for b in at.button if b.label == "Open").click().run()
    assert at.query_params["job"] == seeded["scheduled"]
    assert metrics(at)["State"] == "scheduled"


def test_detail_shows_data_errors_tracebacks_progress_and_log(app, seeded):
    dead_id = seeded["dead_order"][0]
    at = no_exception(app.new(page=JOBS, query={"queue": "orderExpiry", "job": dead_id}))
    m = metrics(at)
    assert m["State"] == "dead letter" and m["Runs"] == "3 / 3" and m["Priority"] == "normal"
    assert at.json[0].value.replace(" ", "").replace("\n", "") == '{"fn":"always_fail","i":0,"order_id":77}'
    codes = [c for c in at.code if c.language == "python"]
    assert len(codes) == 3 and all("RuntimeError: boom for order 77" in c.value for c in codes)
    assert all("Traceback (most recent call last)" in c.value for c in codes)
    assert "boom for order 77" in [c.value for c in at.code if c.language in (None, "", "plaintext")][1]
    at = app.new(page=JOBS, query={"queue": "whatsapp", "job": seeded["logged"]})
    assert metrics(at)["Progress"] == "100 %" and metrics(at)["State"] == "completed"
    assert any("half way" in c.value for c in at.code)
    assert "done" in at.json[1].value  # the result


def test_retry_needs_confirmation_and_is_audited(app, seeded):
    dead_id = seeded["dead_whatsapp"][0]
    at = app.new(page=JOBS, query={"queue": "whatsapp", "job": dead_id})
    click(at, "job-retry-ask")
    assert "Retry job" in values(at.warning)[0] and dead_letters.exists(dead_id)
    click(at, "job-retry-no")  # cancel: nothing happens
    assert dead_letters.exists(dead_id) and not at.button(key="job-retry-ask").disabled
    confirm(at, "job-retry")
    no_exception(at)
    assert not dead_letters.exists(dead_id)
    assert monitoring.get_job("whatsapp", dead_id)["state"] == "queued"
    assert f"Job {dead_id} is back on whatsapp." in values(at.success)
    entry = audit.list_entries(action="retry")[0]
    assert (entry["actor"], entry["source"], entry["target"], entry["outcome"]) == ("olga", "dashboard", dead_id, "ok")
    assert at.button(key="job-retry-ask").disabled  # no longer dead-lettered


def test_delete_needs_confirmation_and_closes_the_detail(app, seeded):
    job_id = seeded["waiting"]["low"]
    at = app.new(page=JOBS, query={"queue": "whatsapp", "job": job_id})
    assert at.button(key="job-retry-ask").disabled  # a waiting job cannot be retried
    confirm(at, "job-delete")
    no_exception(at)
    with pytest.raises(NotFoundError):
        monitoring.get_job("whatsapp", job_id)
    assert "job" not in at.query_params and f"Job {job_id} deleted." in values(at.success)
    assert audit.list_entries(action="delete")[0]["target"] == job_id


def test_bad_links_show_an_error_not_a_crash(app, seeded):
    at = no_exception(app.new(page=JOBS, query={"queue": "whatsapp", "job": "![x](http://evil.example/p.png)"}))
    assert at.error and "![x](" not in at.error[0].value  # escaped: no image, no link
    at = no_exception(app.new(page=JOBS, query={"queue": "whatsapp", "job": "no-such-job"}))
    assert "not found" in values(at.error)[0]
    at = no_exception(app.new(page=JOBS, query={"queue": "nope", "job": "abc"}))
    assert "unknown queue" in values(at.error)[0]


def test_attacker_controlled_data_and_errors_never_reach_markdown(app, dash):
    evil = "**bold** <img src=x onerror=alert(1)> [click](http://evil.example) ![i](http://evil.example/i.png)"
    job = put(dash, "whatsapp", "tests.dashboard.evil.fail", {"note": evil})
    drain(dash, ["whatsapp"])
    assert dead_letters.exists(job.id)
    at = no_exception(app.new(page=JOBS, query={"queue": "whatsapp", "job": job.id}))
    assert evil in at.json[0].value
    assert any(evil in c.value for c in at.code)  # the error message and traceback, as code
    assert "evil.example" not in markdown_text(at) and "onerror" not in markdown_text(at)
    at = no_exception(app.new(page="pages/dead_letters.py"))
    assert "evil.example" not in markdown_text(at)
    at = no_exception(app.new(page="pages/failures.py"))
    assert "evil.example" not in markdown_text(at)


def test_viewer_sees_the_detail_without_actions(app, seeded):
    at = no_exception(app.new("vera", page=JOBS, query={"queue": "whatsapp", "job": seeded["dead_whatsapp"][0]}))
    assert metrics(at)["State"] == "dead letter"
    assert set(buttons(at)) == {"Log out", "Back to the list", "Refresh"}


def test_a_pending_confirmation_lapses_when_the_page_changes(app, seeded):
    from tests.dashboard.conftest import page_path

    at = app.new(page="pages/dead_letters.py")
    click(at, "dl-delete-all-ask")
    assert at.button(key="dl-delete-all-yes")
    at.switch_page(page_path("pages/overview.py")).run()
    at.switch_page(page_path("pages/dead_letters.py")).run()
    assert "dl-delete-all-yes" not in [b.key for b in at.button]
    assert dead_letters.stats()["whatsapp"]["count"] == 2


def test_a_whatsapp_job_shows_its_message_delivery_state_and_times(app, dash):
    from datetime import datetime, timezone

    from domain import delivery, outbox
    from domain.db import session_scope
    from domain.settings import get_settings

    get_settings.cache_clear()  # the dash fixture's DATABASE_URL
    job = put(dash, "whatsapp", "ok")
    at_ = datetime(2025, 3, 10, 9, 0, tzinfo=timezone.utc)
    with session_scope(get_settings().database_url) as s:
        outbox.claim(s, job.id, phone="+9779820000001", body="hi", reference=None, provider="cloud",
                     resend_is_harmless=False, now=at_)
        outbox.mark_sent(s, job.id, "wamid.DASH1", "sent", at_)
        delivery.accepted(s, "wamid.DASH1", job.id, "+9779820000001", at_)
    at = no_exception(app.new(page=JOBS, query={"queue": "whatsapp", "job": job.id}))
    assert "Message delivery: accepted" in markdown_text(at)
    with session_scope(get_settings().database_url) as s:
        delivery.apply_status(s, delivery.StatusUpdate("wamid.DASH1", "read", at_))
    at = no_exception(app.new(page=JOBS, query={"queue": "whatsapp", "job": job.id}))
    assert "Message delivery: read" in markdown_text(at)
    get_settings.cache_clear()
