"""One real-browser run: Debian's Chromium, driven by Playwright, against `streamlit run dashboard/app.py`
with a real worker process on the whatsapp queue (the real processor, sandbox provider, SQLite).

Screenshots and the downloaded CSV are saved under test-artifacts/dashboard/.
"""
from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from engine import audit, dead_letters, monitoring
from engine.enqueue import EnqueueRequest, enqueue
from tests.dashboard.conftest import PASSWORDS, ROOT
from tests.debian import ensure_tool
from tests.engine.support import spawn_worker, wait_until

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts" / "dashboard"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]


def ensure_chromium() -> str:
    return ensure_tool("chromium", str(CHROMIUM))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(url: str, timeout_s: float, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"streamlit exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout_s} s:\n{log.read_text()[-3000:]}")


@pytest.fixture
def live(dash, engine_factory, redis_url, user_table, tmp_path, monkeypatch):
    """The dashboard and a whatsapp worker running the real processor, as separate processes, on the test server."""
    chromium = ensure_chromium()
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'domain.sqlite3'}")
    monkeypatch.setenv("WHATSAPP_PROVIDER", "sandbox")
    real = engine_factory(real_processors=True)
    worker = spawn_worker(real, ["whatsapp"])
    port = free_port()
    log = tmp_path / "streamlit.log"
    env = {**os.environ, "REDIS_URL": redis_url, "DASHBOARD_REFRESH_S": "1",
           "DASHBOARD_USERS": json.dumps({"olga": user_table["olga"]}), "PYTHONPATH": str(ROOT)}
    with open(log, "w") as out:
        app = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "dashboard/app.py", "--server.port",
                                str(port), "--server.headless", "true"], cwd=ROOT, env=env, stdout=out,
                               stderr=subprocess.STDOUT)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/_stcore/health", 60, app, log)
        yield {"url": f"http://127.0.0.1:{port}", "chromium": chromium, "engine": real, "log": log}
    finally:
        for proc in (app, worker):
            proc.terminate()
        for proc in (app, worker):
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_operator_enqueues_sees_completion_retries_a_dead_letter_and_downloads_csv(live):
    from playwright.sync_api import expect, sync_playwright

    eng = live["engine"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # the real processor refuses an invalid phone number for good (engine.enqueue does not validate)
    failing = enqueue(eng, EnqueueRequest("whatsapp", {"phone": "12345", "message": "never sent"}))
    wait_until(lambda: dead_letters.exists(failing.id, engine=eng), timeout_s=20)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=live["chromium"], args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1000}, accept_downloads=True)
            page.set_default_timeout(20_000)
            nav = lambda title: page.locator('[data-testid="stSidebarNav"]').get_by_role(  # noqa: E731
                "link", name=title, exact=True).click()

            # log in
            page.goto(live["url"] + "/")
            page.get_by_label("User name").fill("olga")
            page.get_by_label("Password", exact=True).fill(PASSWORDS["olga"])
            page.screenshot(path=str(ARTIFACTS / "01-login.png"))
            page.get_by_role("button", name="Log in").click()
            expect(page.get_by_text("Signed in as")).to_be_visible()

            # enqueue a WhatsApp message from the form
            nav("Enqueue")
            page.get_by_role("textbox", name="Phone", exact=True).fill("+9779800000000")
            page.get_by_role("textbox", name="Message (optional)", exact=True).fill("Namaste from the dashboard test")
            page.get_by_role("button", name="Enqueue WhatsApp message").click()
            notice = page.get_by_text(re.compile(r"Enqueued job [0-9a-f]{32} on whatsapp"))
            expect(notice).to_be_visible()
            job_id = re.search(r"[0-9a-f]{32}", notice.inner_text()).group(0)
            link = page.get_by_role("link", name="Open the job's page")
            expect(link).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "02-enqueued.png"))

            # its page is linkable: ?queue=whatsapp&job=<id>
            link.click()
            expect(page.get_by_text(f"{job_id}  on  whatsapp")).to_be_visible()
            expect(page).to_have_url(re.compile(rf"/jobs\?queue=whatsapp&job={job_id}$"))

            # see it complete on the Overview (live-refreshing card)
            nav("Overview")
            card = page.locator(".st-key-card-whatsapp")
            completed = card.locator('[data-testid="stMetric"]').filter(has_text="Completed")
            expect(completed.locator('[data-testid="stMetricValue"]')).to_have_text("1", timeout=30_000)
            job = monitoring.get_job("whatsapp", job_id, engine=eng)
            assert job["status"] == "finished" and job["result"]["provider"] == "sandbox"
            page.screenshot(path=str(ARTIFACTS / "03-overview.png"))

            # retry the dead-letter entry
            nav("Dead letters")
            expect(page.get_by_role("button", name="Retry this entry")).to_be_visible()
            page.get_by_role("button", name="Retry this entry").click()
            page.get_by_role("button", name="Confirm").click()
            expect(page.get_by_text(f"Retried {failing.id}.")).to_be_visible()
            retry = audit.list_entries(engine=eng, action="dead_letter_retry")[0]
            assert (retry["actor"], retry["target"], retry["outcome"]) == ("olga", failing.id, "ok")
            page.locator('[data-testid="stMain"]').evaluate("e => e.scrollTo(0, 0)")
            page.screenshot(path=str(ARTIFACTS / "04-dead-letters.png"))

            # download a CSV
            with page.expect_download() as download_info:
                page.get_by_role("button", name="Download CSV (all matching)").click()
            target = ARTIFACTS / "dead-letters.csv"
            download_info.value.save_as(str(target))
            lines = target.read_text().splitlines()
            assert lines[0].startswith("id,queue,job_type,runs,error_type")
            assert any(failing.id in line for line in lines[1:]) or len(lines) == 1
            wait_until(lambda: audit.list_entries(engine=eng, action="export"), timeout_s=5)
            assert audit.list_entries(engine=eng, action="export")[0]["actor"] == "olga"
        finally:
            browser.close()
