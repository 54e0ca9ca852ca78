"""Least privilege, the dashboard: every page renders, as an operator, with the engine connected as the ACL
user of deploy/valkey/engine.acl, and the server refuses it nothing (its ACL LOG stays empty)."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine.app import Engine
from engine.enqueue import EnqueueRequest, enqueue
from engine.settings import Settings
from tests.acl_server import PASSWORD, USER, acl_valkey, denials
from tests.dashboard.conftest import App, metrics, no_exception

PAGES = sorted(p.name for p in (Path(__file__).resolve().parents[2] / "dashboard" / "pages").glob("*.py")
               if p.name != "__init__.py")


@pytest.fixture
def acl_dash(tmp_path, monkeypatch, user_table):
    from dashboard import core

    with acl_valkey(tmp_path) as (port, admin):
        url = f"redis://127.0.0.1:{port}"
        for name, value in (("REDIS_URL", url), ("REDIS_USERNAME", USER), ("REDIS_PASSWORD", PASSWORD),
                            ("DATABASE_URL", f"sqlite:///{tmp_path / 'no-such.sqlite3'}")):
            monkeypatch.setenv(name, value)
        for name in ("DASHBOARD_USERS", "SCHEDULER_TZ", "ENGINE_QUEUES", "QUEUE_OVERRIDES"):
            monkeypatch.delenv(name, raising=False)
        core.get_engine.clear()
        eng = Engine.from_settings(Settings(redis_url=url, redis_username=USER, redis_password=PASSWORD))
        for n in range(3):
            enqueue(eng, EnqueueRequest("whatsapp", {"phone": "+9779800000000", "message": f"hi {n}"}))
        enqueue(eng, EnqueueRequest("orderExpiry", {"order_id": "42"}, delay=600))
        yield App(user_table), admin
        core.get_engine.clear()


def test_every_page_renders_as_the_engine_acl_user(acl_dash):
    app, admin = acl_dash
    assert len(PAGES) >= 10
    for page in PAGES:
        no_exception(app.new(page=f"pages/{page}"))
    overview = no_exception(app.new(page="pages/overview.py"))  # it did read the server, as that user
    assert metrics(overview.container(key="card-whatsapp"))["Waiting"] == "3"
    assert metrics(overview.container(key="card-orderExpiry"))["Scheduled"] == "1"
    assert denials(admin) == []
