"""The Enqueue page builds its form from the schema of a table no project code names (ENGINE_QUEUES)."""
from __future__ import annotations

import pytest

from dashboard import core
from engine import monitoring
from tests.custom_app import write_app
from tests.dashboard.conftest import no_exception, unescape
from tests.dashboard.test_enqueue_page import error_after

ENQ = "pages/enqueue.py"


@pytest.fixture
def stock_app(app, tmp_path, monkeypatch):
    module = write_app(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("ENGINE_QUEUES", f"{module}:QUEUES")
    monkeypatch.setenv("ENGINE_SCHEDULES", f"{module}:SCHEDULES")
    core.get_engine.clear()
    yield app
    core.get_engine.clear()


def test_the_form_follows_the_loaded_tables_schema_and_shows_errors_beside_fields(stock_app):
    at = no_exception(stock_app.new(page=ENQ))
    assert [t.label for t in at.tabs] == ["Restock a shelf"]
    sku = at.text_input(key="enq-restock-sku")
    assert sku.label == "Sku" and "stock keeping unit" in sku.help and "must match" in sku.help
    quantity = at.number_input(key="enq-restock-quantity")
    assert "units to order" in quantity.help and ">= 1, <= 1000" in quantity.help

    sku.input("abc")
    quantity.set_value(3)
    next(b for b in at.button if b.label == "Enqueue Restock a shelf").click().run()
    no_exception(at)
    assert [unescape(e.value) for e in at.error] == [error_after(at, "restock", "enq-restock-sku")]
    assert "String should match pattern" in error_after(at, "restock", "enq-restock-sku")

    at.text_input(key="enq-restock-sku").input("ABC-123")
    next(b for b in at.button if b.label == "Enqueue Restock a shelf").click().run()
    no_exception(at)
    job_id = at.session_state["last_enqueued"]["job"]
    job = monitoring.get_job("restock", job_id, engine=core.get_engine())
    assert job["data"] == {"sku": "ABC-123", "quantity": 3} and job["state"] == "queued"
