"""The support flow in a real browser: Debian's Chromium driven by Playwright against `streamlit run
dashboard/app.py`, a real whatsapp worker process, the domain store in SQLite, and a local stand-in for the
WhatsApp Cloud API that refuses the first message (invalid recipient, permanent).

Search the phone in the sidebar, open the order timeline, see the failed message and the provider's error,
open the job, edit the number, resend, see the job finish. Screenshots go to test-artifacts/dashboard/.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from domain.db import dispose_engines, engine_for, session_factory
from domain.settings import get_settings
from engine import audit, dead_letters, monitoring
from processors import helpers
from tests.dashboard.conftest import PASSWORDS, ROOT
from tests.dashboard.test_browser import ARTIFACTS, CHROMIUM_ARGS, ensure_chromium, free_port, wait_for_http
from tests.domain_fixtures import build_world, error_reply, make_order
from tests.engine.support import spawn_worker, wait_until

WRONG_PHONE = "+9779820000009"
UNDELIVERABLE = "Message Undeliverable."


@pytest.fixture
def support_live(dash, redis_url, user_table, tmp_path, monkeypatch, cloud_api, engine_factory):
    """The dashboard and a whatsapp worker (cloud provider at the local API) over one domain database."""
    chromium = ensure_chromium()
    url = f"sqlite:///{tmp_path / 'domain.sqlite3'}"
    env = {"DATABASE_URL": url, "WHATSAPP_PROVIDER": "cloud", "WHATSAPP_API_BASE_URL": cloud_api.base_url,
           "WHATSAPP_PHONE_NUMBER_ID": cloud_api.phone_number_id, "WHATSAPP_TOKEN": cloud_api.token,
           "WHATSAPP_TIMEOUT_S": "5"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    session = session_factory(engine_for(url))()
    world = build_world(session)
    order = make_order(session, world)
    session.close()
    cloud_api.replies = [error_reply(400, 131026, UNDELIVERABLE, err_type="OAuthException")]
    real = engine_factory(real_processors=True)  # the worker runs the platform's whatsapp processor
    worker = spawn_worker(real, ["whatsapp"])
    port = free_port()
    log = tmp_path / "streamlit.log"
    app_env = {**os.environ, "REDIS_URL": redis_url, "DASHBOARD_USERS": json.dumps({"olga": user_table["olga"]}),
               "PYTHONPATH": str(ROOT)}
    with open(log, "w") as out:
        app = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "dashboard/app.py", "--server.port",
                                str(port), "--server.headless", "true"], cwd=ROOT, env=app_env, stdout=out,
                               stderr=subprocess.STDOUT)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/_stcore/health", 60, app, log)
        yield {"url": f"http://127.0.0.1:{port}", "chromium": chromium, "engine": real, "world": world,
               "order": order, "api": cloud_api}
    finally:
        for proc in (app, worker):
            proc.terminate()
        for proc in (app, worker):
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        get_settings.cache_clear()
        dispose_engines()


def test_support_agent_finds_the_failed_message_fixes_the_number_and_resends(support_live):
    from playwright.sync_api import expect, sync_playwright

    live, eng = support_live, support_live["engine"]
    order, retailer = live["order"], live["world"].retailer
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    job = helpers.add_whatsapp_message(WRONG_PHONE, f"Namaste! Your order {order.id} is placed.", engine=eng,
                                       reference=str(order.id), order_id=str(order.id),
                                       retailer_id=str(retailer.id))
    wait_until(lambda: dead_letters.exists(job.id, engine=eng), timeout_s=30)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=live["chromium"], args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1100})
            page.set_default_timeout(20_000)
            main = page.locator('[data-testid="stMain"]')
            top = lambda: main.evaluate("e => e.scrollTo(0, 0)")  # noqa: E731

            def settled(name: str, tables: int = 0) -> None:
                """Screenshot once the script run is over and its tables have drawn."""
                expect(page.locator('[data-testid="stStatusWidget"]')).to_be_hidden()
                grids = main.locator('[data-testid="stDataFrame"] canvas')
                if tables:
                    expect(grids.nth(tables - 1)).to_be_visible()
                page.wait_for_timeout(400)  # the grids paint their cells on the next frames
                page.screenshot(path=str(ARTIFACTS / name))

            page.goto(live["url"] + "/")
            page.get_by_label("User name").fill("olga")
            page.get_by_label("Password", exact=True).fill(PASSWORDS["olga"])
            page.get_by_role("button", name="Log in").click()
            expect(page.get_by_text("Signed in as")).to_be_visible()

            # the retailer calls from the number the message went to, written the local way
            sidebar = page.locator('[data-testid="stSidebar"]')
            sidebar.get_by_role("textbox", name="Find an order, phone or job").fill("982-000-0009")
            sidebar.get_by_role("button", name="Search").click()
            expect(page.get_by_role("heading", name="Phone")).to_be_visible()
            expect(page.get_by_text(f"failed · to {WRONG_PHONE}", exact=False).first).to_be_visible()
            expect(main.get_by_text(UNDELIVERABLE, exact=False).first).to_be_visible()
            settled("11-phone-search.png", tables=1)

            # the order's timeline: record, the failed message with the provider's error, every job event
            main.get_by_role("link", name=f"Order {order.id} timeline").first.click()
            expect(page.get_by_role("heading", name="Order timeline")).to_be_visible()
            expect(page).to_have_url(f"{live['url']}/order?order={order.id}")
            expect(main.get_by_text("Sharma Kirana Pasal").first).to_be_visible()
            card = main.locator('[class*="st-key-msg-"]').filter(has_text=f"to {WRONG_PHONE}")
            expect(card.get_by_text(UNDELIVERABLE, exact=False)).to_be_visible()
            expect(card.get_by_text("131026", exact=False).first).to_be_visible()
            page.set_viewport_size({"width": 1440, "height": 2000})  # the whole page in one picture
            settled("12-order-timeline.png", tables=3)
            page.set_viewport_size({"width": 1440, "height": 1100})

            # open the job, correct the number, resend
            card.get_by_role("link", name="Open the job's page").click()
            expect(page.get_by_text(f"{job.id}  on  whatsapp")).to_be_visible()
            phone = main.get_by_role("textbox", name="Phone", exact=True)
            expect(phone).to_have_value(WRONG_PHONE)
            phone.fill(retailer.phone)
            phone.evaluate("e => e.scrollIntoView({block: 'center'})")
            settled("13-edit-the-number.png")
            page.get_by_role("button", name="Save and retry").click()
            expect(page.get_by_text(f"Job {job.id} is back on whatsapp with the edited data.")).to_be_visible()

            # the worker sends it to the new number; the job page shows it completed
            state = page.locator('[data-testid="stMetric"]').filter(has_text="State")
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and "completed" not in state.inner_text():
                page.get_by_role("button", name="Refresh").click()
                page.wait_for_timeout(300)
            expect(state).to_contain_text("completed")
            top()
            settled("14-resent-and-finished.png", tables=1)
        finally:
            browser.close()

    done = monitoring.get_job("whatsapp", job.id, engine=eng)
    assert done["status"] == "finished" and done["data"]["phone"] == retailer.phone
    assert [r["json"]["to"] for r in live["api"].requests] == [WRONG_PHONE[1:], retailer.phone[1:]]
    entry = audit.list_entries(engine=eng, action="retry")[0]
    assert entry["actor"] == "olga" and entry["details"]["data_before"]["phone"] == WRONG_PHONE
