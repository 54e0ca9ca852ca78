"""The platform's queue table (processors/table.py) is the design document's, and the engine loads it by default."""
import pytest

from engine.app import table_from_settings
from engine.queues import QueueTable
from engine.settings import Settings
from processors import schemas
from processors.table import QUEUE_NAMES, QUEUES

EXPECTED = {
    # queue: (concurrency, retries, backoff, waits in s, rate per minute, schema)
    "whatsapp": (5, 3, "exponential", [2, 4, 8], 100, schemas.WhatsAppData),
    "orderExpiry": (3, 2, "fixed", [5, 5], 50, schemas.OrderExpiryData),
    "vendorFallback": (2, 3, "exponential", [3, 6, 12], 20, schemas.VendorFallbackData),
    "dailyReports": (1, 2, "fixed", [10, 10], 10, schemas.DailyReportData),
    "creditReconciliation": (2, 3, "exponential", [5, 10, 20], 30, schemas.CreditReconciliationData),
}


def test_queue_names_are_the_five_public_names():
    assert QUEUE_NAMES == tuple(EXPECTED)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_each_queue_policy_matches_the_design_document(name):
    policy = QueueTable.build(QUEUES)[name]
    concurrency, retries, backoff, waits, rate, schema = EXPECTED[name]
    assert policy.concurrency == concurrency
    assert policy.retries == retries and policy.max_runs == retries + 1
    assert policy.backoff == backoff
    assert [policy.wait_s(n) for n in range(1, retries + 1)] == waits
    assert policy.rate_limit_per_min == rate
    assert policy.keep_completed_s == 86400 and policy.keep_failed_s == 7 * 86400
    assert policy.jitter is False
    assert policy.schema is schema


def test_the_engine_loads_the_platform_table_by_default():
    assert Settings().engine_queues == "processors.table:QUEUES"
    assert table_from_settings(Settings()).names == list(QUEUE_NAMES)


def test_queue_overrides_apply_to_the_platform_table(monkeypatch):
    monkeypatch.setenv("QUEUE_OVERRIDES", '{"whatsapp": {"timeout_s": 90, "concurrency": 8}}')
    table = table_from_settings(Settings())
    assert table["whatsapp"].timeout_s == 90 and table["whatsapp"].concurrency == 8
    assert table["whatsapp"].schema is schemas.WhatsAppData


def test_whatsapp_runs_the_sync_processor_and_accepts_jobs_naming_the_async_one():
    policy = QueueTable.build(QUEUES)["whatsapp"]
    assert policy.func == "processors.whatsapp.run"
    assert policy.accepts("processors.whatsapp.arun") and not policy.accepts("processors.order_expiry.run")


def test_the_documented_opt_in_to_the_async_processor_keeps_run_jobs_running(monkeypatch):
    monkeypatch.setenv("QUEUE_OVERRIDES", '{"whatsapp": {"func": "processors.whatsapp.arun"}}')
    policy = table_from_settings(Settings())["whatsapp"]
    assert policy.func == "processors.whatsapp.arun" and policy.accepts("processors.whatsapp.run")
