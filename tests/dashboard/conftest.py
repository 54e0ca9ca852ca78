"""Fixtures for the dashboard tests: AppTest sessions signed in as an operator or a viewer."""
from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import passwords
from tests.domain_fixtures import cloud_api  # noqa: F401 - a local WhatsApp Cloud API for the support tests

# AppTest writes session state outside a script run by design; its warning about that is noise here.
logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").setLevel(logging.ERROR)

ROOT = Path(__file__).resolve().parents[2]
APP = Path(__file__).resolve().parent / "entry.py"
DASHBOARD = ROOT / "dashboard"
PASSWORDS = {"olga": "operator-password-1", "vera": "viewer-password-1"}
ROLES = {"olga": "operator", "vera": "viewer"}


@pytest.fixture(scope="session")
def user_table() -> dict:
    """Two users with real hashes (hashing is slow on purpose, so once per session)."""
    return {name: {"role": ROLES[name], "hash": passwords.hash_password(pw)} for name, pw in PASSWORDS.items()}


@pytest.fixture(autouse=True)
def _fresh_login_throttle():
    """Failed log-ins are counted per process; start every test with none."""
    from dashboard import auth

    auth._failures.clear()
    yield


@pytest.fixture
def dash(engine, redis_url, monkeypatch, tmp_path, user_table):
    """The dashboard's environment: the test server, no users from the environment, an empty database."""
    from dashboard import core

    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.delenv("DASHBOARD_USERS", raising=False)
    monkeypatch.delenv("SCHEDULER_TZ", raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'no-such.sqlite3'}")
    core.get_engine.clear()
    yield engine
    core.get_engine.clear()


def page_path(file: str) -> str:
    """A dashboard page file ("pages/jobs.py") relative to the AppTest entry script, for switch_page."""
    return os.path.relpath(DASHBOARD / file, APP.parent)


class App:
    """Builds AppTest sessions for the dashboard."""

    def __init__(self, users: dict):
        self.users = users

    def new(self, user: str | None = "olga", page: str | None = None, query: dict | None = None,
            timeout: float = 30) -> AppTest:
        from dashboard import auth

        at = AppTest.from_file(str(APP), default_timeout=timeout)
        at.secrets["users"] = self.users
        if user is not None:
            entry = self.users[user]
            at.session_state[auth.SESSION_USER] = user
            at.session_state[auth.SESSION_TOKEN] = auth.session_token(
                passwords.User(user, entry["role"], entry["hash"]))
        for k, v in (query or {}).items():
            at.query_params[k] = v
        if page:
            at.switch_page(page_path(page))  # the file's name is its URL path (dashboard/nav.py)
        return at.run()


@pytest.fixture
def app(dash, user_table) -> App:
    return App(user_table)


def unescape(text: str) -> str:
    """Markdown source as read (dashboard.fmt.escape_md undone)."""
    return re.sub(r"\\(.)", r"\1", str(text))


def values(elements) -> list[str]:
    return [unescape(e.value) for e in elements]


def texts(at: AppTest) -> str:
    """Everything readable on the page, joined and unescaped (for `in` checks)."""
    parts = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "text", "code", "success", "info",
                 "warning", "error", "metric"):
        for el in getattr(at, kind):
            parts.append(str(getattr(el, "value", "")))
            if kind == "metric":
                parts.append(str(el.label))
    return unescape("\n".join(parts))


def no_exception(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


# -- seeding through the real engine ---------------------------------------------------------
def drain(eng, queues: list[str]) -> None:
    """Run a burst worker (in a thread, so that no signal handler is installed in pytest)."""
    import threading

    from engine.worker import Worker

    t = threading.Thread(target=Worker(eng, queues, burst=True).run)
    t.start()
    t.join(timeout=30)


def dead(eng, queue: str, n: int, func: str = "permanent", **data) -> list[str]:
    """`n` jobs on `queue` that end in the dead-letter queue; their ids."""
    from engine import dead_letters
    from tests.engine.support import put, wait_until

    ids = [put(eng, queue, func, {"i": i, **data}).id for i in range(n)]

    def all_dead():
        drain(eng, [queue])
        return all(dead_letters.exists(i, engine=eng) for i in ids)

    wait_until(all_dead, timeout_s=20, interval_s=0.05)
    return ids


@pytest.fixture
def seeded(dash):
    """A small, known state: completed, waiting, scheduled, dead-lettered and retried jobs."""
    from tests.engine.support import put

    eng = dash
    done = [put(eng, "whatsapp", "ok", {"n": i}).id for i in range(2)]
    logged = put(eng, "whatsapp", "progress").id
    drain(eng, ["whatsapp"])
    dead_wa = dead(eng, "whatsapp", 2)
    dead_oe = dead(eng, "orderExpiry", 1, func="always_fail", order_id=77)
    waiting = {p: put(eng, "whatsapp", "ok", {"p": p}, priority=p).id for p in ("high", "normal", "low")}
    later = put(eng, "whatsapp", "ok", delay=3600).id
    return {"engine": eng, "completed": done, "logged": logged, "dead_whatsapp": dead_wa, "dead_order": dead_oe,
            "waiting": waiting, "scheduled": later}


SEARCH_BOX_BUTTON = "FormSubmitter:support_search-Search"  # the sidebar search box, on every page


def buttons(at: AppTest) -> list[str]:
    """Every button's label except the sidebar search box's."""
    return [b.label for b in at.button if b.key != SEARCH_BOX_BUTTON]


def click(at: AppTest, key: str) -> AppTest:
    return at.button(key=key).click().run()


def confirm(at: AppTest, key: str) -> AppTest:
    """Press a confirmed action's button, then Confirm."""
    click(at, f"{key}-ask")
    assert at.button(key=f"{key}-yes"), "no Confirm button"
    return click(at, f"{key}-yes")


def metrics(block) -> dict[str, str]:
    """{label: value} of the metrics in a block (or a whole AppTest)."""
    return {m.label: unescape(m.value) for m in block.metric}


def markdown_text(at: AppTest) -> str:
    """Everything rendered through Markdown (where attacker-controlled text must never appear)."""
    parts = [str(m.value) for m in at.markdown] + [str(c.value) for c in at.caption]
    for kind in ("success", "info", "warning", "error", "title", "header", "subheader"):
        parts += [str(e.value) for e in getattr(at, kind)]
    return "\n".join(parts)
