"""The Overview page shows the job outbox's lag from the business database (unsent rows, oldest age)."""
from __future__ import annotations

from datetime import timedelta

from domain import job_outbox
from domain.clock import utcnow
from domain.db import dispose_engines, engine_for, session_scope
from tests.dashboard.conftest import metrics, no_exception, texts, values


def test_overview_shows_the_unsent_count_and_the_oldest_age(app, monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'domain.sqlite3'}"
    engine_for(url)
    with session_scope(url) as s:
        job_outbox.add(s, "orderExpiry", {"order_id": "1", "expires_at": utcnow().isoformat()}, "expiry-1-1",
                       utcnow() - timedelta(seconds=120))
        job_outbox.add(s, "orderExpiry", {"order_id": "2", "expires_at": utcnow().isoformat()}, "expiry-2-1",
                       utcnow())
        job_outbox.add(s, "orderExpiry", {"order_id": "3", "expires_at": utcnow().isoformat()}, "expiry-3-1",
                       utcnow())
        job_outbox.mark_sent(s, ["expiry-3-1"], utcnow())
    dispose_engines()
    monkeypatch.setenv("DATABASE_URL", url)
    at = no_exception(app.new(page="pages/overview.py"))
    box = at.container(key="outbox")
    m = metrics(box)
    assert m["Outbox unsent"] == "2" and m["Outbox refused"] == "0"
    assert 115 <= int(m["Oldest unsent"].removesuffix(" s")) <= 200
    assert any("relay is" in v for v in values(box.warning))


def test_overview_says_when_there_is_no_business_database(app):
    at = no_exception(app.new(page="pages/overview.py"))
    assert "Outbox: no domain database" in texts(at)
