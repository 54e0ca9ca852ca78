"""Support desk pages: the sidebar search box, the order timeline, the retailer or phone view, job search with
bulk actions, and on the job page Cancel and Edit and retry. Real engine, real domain database (SQLite), and
the real whatsapp processor talking to a local stand-in for the WhatsApp Cloud API."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from domain.db import dispose_engines, engine_for, session_factory
from domain.settings import get_settings
from engine import audit, dead_letters, monitoring
from processors import helpers
from tests.dashboard.conftest import (buttons, click, confirm, drain, markdown_text, metrics, no_exception, texts,
                                      unescape, values)
from tests.domain_fixtures import build_world, error_reply, make_order
from tests.engine.support import put, wait_until

ORDER, RETAILER, SEARCH, JOBS, DEAD = ("pages/order.py", "pages/retailer.py", "pages/search.py", "pages/jobs.py",
                                       "pages/dead_letters.py")
WRONG_PHONE = "+9779820000009"
UNDELIVERABLE = "Message Undeliverable."


@pytest.fixture
def desk(dash, engine_factory, tmp_path, monkeypatch, cloud_api):
    """A retailer's order whose WhatsApp message the provider refused (invalid recipient), one that went out,
    and a message about another order; the whatsapp processor ran for real against the local Cloud API."""
    url = f"sqlite:///{tmp_path / 'support.sqlite3'}"
    env = {"DATABASE_URL": url, "WHATSAPP_PROVIDER": "cloud", "WHATSAPP_API_BASE_URL": cloud_api.base_url,
           "WHATSAPP_PHONE_NUMBER_ID": cloud_api.phone_number_id, "WHATSAPP_TOKEN": cloud_api.token,
           "WHATSAPP_TIMEOUT_S": "5"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    session = session_factory(engine_for(url))()
    world = build_world(session)
    order, other = make_order(session, world), make_order(session, world, total="90.00")
    session.close()
    eng = engine_factory(real_processors=True)  # the platform's whatsapp processor, as the dashboard's table
    cloud_api.replies = [error_reply(400, 131026, UNDELIVERABLE)]
    keys = {"reference": str(order.id), "order_id": str(order.id), "retailer_id": str(world.retailer.id)}
    failed = helpers.add_whatsapp_message(WRONG_PHONE, f"Order {order.id} is placed", engine=eng, **keys)
    drain(eng, ["whatsapp"])
    wait_until(lambda: dead_letters.exists(failed.id, engine=eng), timeout_s=20)
    sent = helpers.add_whatsapp_message(world.wholesalers[0].phone, f"New order {order.id}", engine=eng,
                                        reference=str(order.id), order_id=str(order.id),
                                        wholesaler_id=str(world.wholesalers[0].id))
    noise = helpers.add_whatsapp_message(world.retailer.phone, f"Order {other.id} is placed", engine=eng,
                                         reference=str(other.id), order_id=str(other.id))
    drain(eng, ["whatsapp"])
    wait_until(lambda: all(monitoring.get_job("whatsapp", j.id, engine=eng)["status"] == "finished"
                           for j in (sent, noise)), timeout_s=20)
    yield SimpleNamespace(engine=eng, world=world, order=order, other=other, failed=failed.id, sent=sent.id,
                          noise=noise.id, api=cloud_api)
    get_settings.cache_clear()
    dispose_engines()


def _events(at) -> list[tuple[str, str]]:
    frame = next(d.value for d in at.dataframe if "event" in d.value.columns)
    return list(zip(frame["job"], frame["event"]))


# -- order timeline --------------------------------------------------------------------------
def test_order_timeline_shows_the_record_the_failed_message_and_every_job_event(app, desk):
    at = no_exception(app.new(page=ORDER, query={"order": str(desk.order.id)}))
    m = metrics(at)
    assert m["Status"] == "pending" and m["Total"] == "2500.00 credit" and m["Messages"] == "2"
    assert m["Expired"].endswith(" ago")  # the world's orders expired in 2025
    page = texts(at)
    assert "Retailer: Sharma Kirana Pasal   ·   current wholesaler: Everest Traders" in page
    assert f"failed · to {WRONG_PHONE}" in page and UNDELIVERABLE in page and "131026" in page
    events = _events(at)
    failed = [e for j, e in events if j == desk.failed]
    assert failed[0] == "enqueued" and "dead-lettered" in failed and "failed" in failed
    assert (desk.sent, "completed") in events
    assert "Delivery: accepted (accepted " in page  # the Cloud API took it; no status webhook yet
    assert not [j for j, _ in events if j == desk.noise]  # another order's message never shows
    chain = next(d.value for d in at.dataframe if "wholesaler" in d.value.columns)
    assert list(chain["wholesaler"]) == ["Everest Traders"]


def test_selecting_an_event_opens_the_jobs_page(app, desk):
    at = app.new(page=ORDER, query={"order": str(desk.order.id)})
    table = next(d for d in at.dataframe if "event" in d.value.columns)
    row = list(table.value["job"]).index(desk.failed)
    at.session_state[table.key] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    at.run()
    no_exception(at)
    assert at.title[0].value == "Jobs"
    assert (at.query_params["queue"], at.query_params["job"]) == ("whatsapp", desk.failed)


def test_an_order_unknown_to_the_domain_still_shows_its_jobs_and_bad_ids_are_refused(app, desk, dash):
    ghost = put(dash, "orderExpiry", "ok", {"order_id": "98765"}).id
    at = no_exception(app.new(page=ORDER, query={"order": "98765"}))
    assert "Order 98765 is not in the domain store" in texts(at)
    assert (ghost, "enqueued") in _events(at)
    at = no_exception(app.new(page=ORDER, query={"order": "12; DROP"}))
    assert "An order id is a number" in texts(at)
    assert "Enter an order id" in texts(no_exception(app.new(page=ORDER)))


# -- retailer or phone -----------------------------------------------------------------------
def test_retailer_view_has_the_record_orders_and_the_retailers_jobs(app, desk):
    at = no_exception(app.new(page=RETAILER, query={"retailer": str(desk.world.retailer.id)}))
    assert metrics(at)["Retailer"] == "Sharma Kirana Pasal"
    assert metrics(at)["Credit available"] == "7410.00"  # 10,000 limit less the two pending orders' holds
    orders = next(d.value for d in at.dataframe if "order" in d.value.columns)
    assert set(orders["order"]) == {desk.order.id, desk.other.id}
    assert {j for j, _ in _events(at)} == {desk.failed}  # the only job recorded under the retailer's id


def test_phone_view_takes_a_local_format_and_shows_that_numbers_jobs(app, desk):
    at = no_exception(app.new(page=RETAILER, query={"phone": "982-000-0009"}))
    assert f"{WRONG_PHONE}: no retailer or wholesaler has this number" in texts(at)
    assert {j for j, _ in _events(at)} == {desk.failed}
    at = no_exception(app.new(page=RETAILER, query={"phone": desk.world.retailer.phone}))
    assert "retailer Sharma Kirana Pasal" in texts(at)
    assert {j for j, _ in _events(at)} == {desk.noise}
    assert "Not a phone number" in texts(no_exception(app.new(page=RETAILER, query={"phone": "12"})))


# -- the sidebar search box ------------------------------------------------------------------
def _search(at, text: str):
    at.sidebar.text_input(key="support_q").input(text)
    next(b for b in at.sidebar.button if b.label == "Search").click().run()
    return no_exception(at)


def test_the_sidebar_box_is_on_every_page_and_leads_to_order_phone_job_and_search(app, desk):
    at = app.new(page=DEAD)
    assert at.sidebar.text_input(key="support_q")
    _search(at, f"#{desk.order.id}")
    assert at.title[0].value == "Order timeline" and metrics(at)["Status"] == "pending"
    _search(at, "+977 982-000 0009")
    assert at.title[0].value == "Phone" and WRONG_PHONE in texts(at)
    _search(at, desk.failed.upper())
    assert at.title[0].value == "Jobs" and metrics(at)["State"] == "dead letter"
    # a bare prefix of digits only reads as an order id (the box offers the id reading too): take one with a letter
    prefix = next(desk.failed[:n] for n in range(8, 33) if not desk.failed[:n].isdigit())
    _search(at, prefix)
    assert at.title[0].value == "Search jobs"
    assert desk.failed in list(at.dataframe[0].value["id"])


def test_the_box_offers_the_other_readings_and_says_when_nothing_matches(app, desk):
    at = _search(app.new(page=JOBS), "4242")
    assert at.title[0].value == "Order timeline"
    links = [link.value for link in at.sidebar.page_link]
    assert any("Jobs with an id starting 4242" in unescape(link) for link in links), links
    at = _search(at, "f" * 32)
    assert "No job with id " + "f" * 32 in texts(at)


# -- search page and bulk actions -------------------------------------------------------------
def test_search_lists_one_page_at_a_time_newest_first(app, dash):
    def job():
        return put(dash, "whatsapp", "ok", {"phone": "+9779800000000", "message": "m", "order_id": "555"}).id

    def server_ms():
        seconds, micros = dash.conn.time()
        return seconds * 1000 + micros // 1000

    older = [job() for _ in range(5)]
    mark = server_ms()
    wait_until(lambda: server_ms() > mark + 1, timeout_s=2, interval_s=0.001)  # the next jobs are strictly newer
    newer = [job() for _ in range(50)]
    ids = older + newer
    at = no_exception(app.new(page=SEARCH, query={"order_id": "555"}))
    first = list(at.dataframe[0].value["id"])
    assert set(first) == set(newer)  # newest first
    assert "Page 1 · 50 job(s)" in texts(at) and at.button(key="search-prev").disabled
    click(at, "search-next")
    second = list(no_exception(at).dataframe[0].value["id"])
    assert len(second) == 5 and set(first) | set(second) == set(ids)
    assert at.button(key="search-next").disabled
    click(at, "search-prev")
    assert list(at.dataframe[0].value["id"]) == first


def test_bulk_cancel_shows_the_count_first_and_acts_on_the_whole_filtered_set(app, dash):
    ids = [put(dash, "whatsapp", "ok", {"phone": "+9779800000000", "message": "m", "order_id": "556"}).id
           for _ in range(60)]
    other = put(dash, "whatsapp", "ok", {"phone": "+9779800000000", "message": "m", "order_id": "557"}).id
    at = no_exception(app.new(page=SEARCH, query={"order_id": "556"}))
    assert len(at.dataframe[0].value) == 50  # one page shown; the action takes all 60
    click(at, "search-bulk-cancel-ask")
    assert "Cancel the 60 job(s) matching order_id = 556, on every page?" in values(at.warning)[0]
    assert all(monitoring.get_job("whatsapp", i, engine=dash)["state"] == "queued" for i in ids[:3])
    click(at, "search-bulk-cancel-yes")
    no_exception(at)
    assert all(monitoring.get_job("whatsapp", i, engine=dash)["status"] == "canceled" for i in ids)
    assert monitoring.get_job("whatsapp", other, engine=dash)["state"] == "queued"  # job_ops' raw status
    assert any("60 job(s) cancelled" in v for v in values(at.success))
    entry = audit.list_entries(engine=dash)[0]
    assert (entry["actor"], entry["action"], entry["details"]["count"]) == ("olga", "bulk_cancel_search", 60)
    assert entry["details"]["filter"] == {"order_id": "556"}


def test_bulk_retry_counts_only_the_dead_letters_among_the_matches(app, dash):
    data = {"phone": "+9779800000000", "message": "m", "order_id": "600"}
    dead = [put(dash, "whatsapp", "permanent", data).id for _ in range(2)]
    wait_until(lambda: (drain(dash, ["whatsapp"]), all(dead_letters.exists(i, engine=dash) for i in dead))[1],
               timeout_s=20)
    waiting = put(dash, "whatsapp", "ok", data).id
    at = app.new(page=SEARCH, query={"order_id": "600"})
    assert len(at.dataframe[0].value) == 3
    click(at, "search-bulk-retry-ask")
    assert "Retry the 2 job(s) matching order_id = 600" in values(at.warning)[0]
    click(at, "search-bulk-retry-yes")
    no_exception(at)
    assert not any(dead_letters.exists(i, engine=dash) for i in dead)
    assert monitoring.get_job("whatsapp", waiting, engine=dash)["state"] == "queued"
    entry = audit.list_entries(engine=dash)[0]
    assert (entry["action"], entry["details"]["count"]) == ("bulk_retry_search", 2)


def test_search_needs_a_key_and_refuses_a_bad_phone(app, dash):
    assert "Fill in at least one" in texts(no_exception(app.new(page=SEARCH, query={"queue": "whatsapp"})))
    assert "phone: not a phone number" in texts(no_exception(app.new(page=SEARCH, query={"phone": "abc"})))


# -- job page: cancel, edit and retry -------------------------------------------------------
def test_the_job_page_links_to_its_order_retailer_and_phone(app, desk):
    at = no_exception(app.new("vera", page=JOBS, query={"queue": "whatsapp", "job": desk.failed}))
    links = [unescape(link.value) for link in at.main.page_link]
    assert f"Order {desk.order.id} timeline" in links and f"Retailer {desk.world.retailer.id}" in links
    assert f"Jobs for {WRONG_PHONE}" in links


def test_the_job_page_shows_its_history(app, desk):
    at = no_exception(app.new(page=JOBS, query={"queue": "whatsapp", "job": desk.failed}))
    history = next(d.value for d in at.dataframe if "detail" in d.value.columns)
    assert list(history["event"])[0] == "enqueued" and "dead-lettered" in list(history["event"])
    assert any(UNDELIVERABLE in d for d in history["detail"])


def test_cancel_button_cancels_a_waiting_job_and_is_audited(app, dash):
    job = put(dash, "whatsapp", "ok", {"phone": "+9779800000000", "message": "m"}).id
    at = app.new(page=JOBS, query={"queue": "whatsapp", "job": job})
    confirm(at, "job-cancel")
    no_exception(at)
    assert monitoring.get_job("whatsapp", job, engine=dash)["status"] == "canceled"  # RQ's spelling
    assert metrics(at)["State"] == "cancelled" and at.button(key="job-cancel-ask").disabled
    assert audit.list_entries(engine=dash, action="cancel")[0]["target"] == job


def test_edit_and_retry_shows_the_error_beside_the_field_then_resends_with_the_new_number(app, desk):
    at = no_exception(app.new(page=JOBS, query={"queue": "whatsapp", "job": desk.failed}))
    key = f"job-edit-{desk.failed}"
    assert at.text_input(key=f"{key}-phone").value == WRONG_PHONE
    at.text_input(key=f"{key}-phone").input("98200")
    next(b for b in at.button if b.label == "Save and retry").click().run()
    assert any("pattern" in v or "phone" in v.lower() for v in values(at.error))
    assert "Nothing was changed" in texts(at)
    assert dead_letters.exists(desk.failed, engine=desk.engine)
    at.text_input(key=f"{key}-phone").input(desk.world.retailer.phone)
    next(b for b in at.button if b.label == "Save and retry").click().run()
    no_exception(at)
    assert f"Job {desk.failed} is back on whatsapp with the edited data." in values(at.success)
    job = monitoring.get_job("whatsapp", desk.failed, engine=desk.engine)
    assert job["data"]["phone"] == desk.world.retailer.phone and not job["dead_lettered"]
    entry = audit.list_entries(engine=desk.engine, action="retry")[0]
    assert entry["details"]["data_before"]["phone"] == WRONG_PHONE
    assert entry["details"]["data_after"]["phone"] == desk.world.retailer.phone
    drain(desk.engine, ["whatsapp"])
    assert monitoring.get_job("whatsapp", desk.failed, engine=desk.engine)["status"] == "finished"


def test_dead_letter_page_edit_and_retry_as_json(app, dash):
    dead = put(dash, "whatsapp", "permanent", {"phone": "+9779800000000", "message": "m", "i": 1})
    wait_until(lambda: (drain(dash, ["whatsapp"]), dead_letters.exists(dead.id, engine=dash))[1], timeout_s=20)
    at = no_exception(app.new(page=DEAD))
    area = next(t for t in at.text_area if t.label == "Job data (JSON)")  # "i" is not in the schema
    area.input("{not json")
    next(b for b in at.button if b.label == "Save and retry").click().run()
    assert any("not valid JSON" in v for v in values(at.error)) and dead_letters.exists(dead.id, engine=dash)
    area = next(t for t in at.text_area if t.label == "Job data (JSON)")
    area.input('{"phone": "+9779800000001", "message": "fixed"}')
    next(b for b in at.button if b.label == "Save and retry").click().run()
    no_exception(at)
    assert not dead_letters.exists(dead.id, engine=dash)
    assert monitoring.get_job("whatsapp", dead.id, engine=dash)["data"] == {"phone": "+9779800000001",
                                                                           "message": "fixed"}


def test_viewer_sees_no_cancel_no_edit_and_no_bulk_actions(app, desk):
    at = no_exception(app.new("vera", page=JOBS, query={"queue": "whatsapp", "job": desk.failed}))
    assert not [b for b in buttons(at) if b.startswith(("Cancel", "Save", "Retry", "Delete"))]
    assert not [t for t in at.text_input if str(t.key).startswith("job-edit-")]
    assert "Edit and retry" not in [e.label for e in at.expander]
    at = no_exception(app.new("vera", page=SEARCH, query={"order_id": str(desk.order.id)}))
    assert desk.failed in list(at.dataframe[0].value["id"])
    assert not [b for b in buttons(at) if b.startswith(("Retry", "Delete", "Cancel"))]


def test_hostile_job_data_and_errors_never_reach_markdown(app, dash):
    evil = "**bold** <img src=x onerror=alert(1)> [click](http://evil.example) ![i](http://evil.example/i.png)"
    job = put(dash, "whatsapp", "tests.dashboard.evil.fail", {"note": evil, "order_id": "666"})
    wait_until(lambda: (drain(dash, ["whatsapp"]), dead_letters.exists(job.id, engine=dash))[1], timeout_s=20)
    for page, query in ((ORDER, {"order": "666"}), (SEARCH, {"order_id": "666"}), (SEARCH, {"q": "evil"})):
        at = no_exception(app.new(page=page, query=query))
        assert "evil.example" not in markdown_text(at) and "onerror" not in markdown_text(at)
