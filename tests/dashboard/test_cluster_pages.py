"""Every dashboard page renders, as an operator, with the engine on a real 3-master Valkey Cluster
(REDIS_CLUSTER_NODES), and the cross-queue figures read every queue's slot."""
from __future__ import annotations

import pytest

from engine import keys
from engine.app import Engine
from engine.enqueue import EnqueueRequest, enqueue
from engine.settings import Settings
from tests.dashboard.conftest import App, metrics, no_exception
from tests.dashboard.test_acl_pages import PAGES


@pytest.fixture
def cluster_dash(valkey_cluster, tmp_path, monkeypatch, user_table):
    from dashboard import core

    for name, value in (("REDIS_CLUSTER_NODES", valkey_cluster.nodes_setting),
                        ("DATABASE_URL", f"sqlite:///{tmp_path / 'no-such.sqlite3'}")):
        monkeypatch.setenv(name, value)
    for name in ("DASHBOARD_USERS", "SCHEDULER_TZ", "ENGINE_QUEUES", "QUEUE_OVERRIDES", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    core.get_engine.clear()
    eng = Engine.from_settings(Settings(redis_cluster_nodes=valkey_cluster.nodes_setting))
    try:
        eng.conn.flushdb()
        for n in range(3):
            enqueue(eng, EnqueueRequest("whatsapp", {"phone": f"+977980000000{n}", "message": f"hi {n}"}))
        enqueue(eng, EnqueueRequest("orderExpiry", {"order_id": "42", "expires_at": "2030-01-01T00:00:00Z"},
                                    delay=600))
        yield App(user_table)
    finally:
        core.get_engine.clear()
        eng.conn.close()
        keys.set_cluster(False)


def test_every_page_renders_on_a_cluster(cluster_dash):
    app = cluster_dash
    for page in PAGES:
        no_exception(app.new(page=f"pages/{page}"))
    overview = no_exception(app.new(page="pages/overview.py"))
    assert metrics(overview.container(key="card-whatsapp"))["Waiting"] == "3"
    assert metrics(overview.container(key="card-orderExpiry"))["Scheduled"] == "1"
