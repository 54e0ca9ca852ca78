import pytest

from engine.errors import ConfigError, UnknownQueueError
from engine.queues import QUEUE_NAMES, QueuePolicy, QueueTable

EXPECTED = {
    # queue: (concurrency, retries, backoff, waits in s, rate per minute)
    "whatsapp": (5, 3, "exponential", [2, 4, 8], 100),
    "orderExpiry": (3, 2, "fixed", [5, 5], 50),
    "vendorFallback": (2, 3, "exponential", [3, 6, 12], 20),
    "dailyReports": (1, 2, "fixed", [10, 10], 10),
    "creditReconciliation": (2, 3, "exponential", [5, 10, 20], 30),
}


def test_queue_names_are_the_five_public_names():
    assert QUEUE_NAMES == tuple(EXPECTED)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_each_queue_policy_matches_the_design_document(name):
    policy = QueueTable.build()[name]
    concurrency, retries, backoff, waits, rate = EXPECTED[name]
    assert policy.concurrency == concurrency
    assert policy.retries == retries and policy.max_runs == retries + 1
    assert policy.backoff == backoff
    assert [policy.wait_s(n) for n in range(1, retries + 1)] == waits
    assert policy.rate_limit_per_min == rate
    assert policy.keep_completed_s == 86400 and policy.keep_failed_s == 7 * 86400
    assert policy.jitter is False


def test_overrides_change_one_setting_and_keep_the_rest():
    table = QueueTable.build({"whatsapp": {"timeout_s": 90, "concurrency": 8}})
    assert table["whatsapp"].timeout_s == 90 and table["whatsapp"].concurrency == 8
    assert table["whatsapp"].retries == 3


@pytest.mark.parametrize("overrides, message", [
    ({"whatsapp": {"concurrency": 0}}, "concurrency"),
    ({"whatsapp": {"retries": -1}}, "retries"),
    ({"whatsapp": {"backoff": "linear"}}, "backoff"),
    ({"whatsapp": {"colour": "red"}}, "unknown setting"),
    ({"sms": {"concurrency": 1}}, "unknown queue"),
])
def test_bad_configuration_is_rejected_when_the_table_is_built(overrides, message):
    with pytest.raises(ConfigError, match=message):
        QueueTable.build(overrides)


def test_unknown_queue_lookup_is_a_clear_error_not_a_key_error():
    with pytest.raises(UnknownQueueError):
        QueueTable.build()["sms"]


def test_policy_validates_itself():
    with pytest.raises(ConfigError):
        QueuePolicy("x", "f", 1, 1, "fixed", 0, 10)
