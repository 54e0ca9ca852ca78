"""The sidebar box reads an order id, a phone in any common format, a job id or prefix, or words."""
from __future__ import annotations

import pytest

from dashboard.lookup import Target, parse
from engine.phones import to_e164

JOB = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize("text", ["+977 980-000 0000", "9800000000", "00977 9800000000", "+977 (980) 000.0000",
                                  "phone: 980 000 0000", " +9779800000000 "])
def test_a_phone_in_any_common_format_becomes_e164(text):
    assert parse(text, to_e164)[0] == Target("phone", "+9779800000000")


def test_a_short_number_is_an_order_and_may_be_a_job_id_prefix():
    assert parse("4242", to_e164) == [Target("order", "4242"), Target("job_prefix", "4242")]
    assert parse("42", to_e164) == [Target("order", "42")]
    assert parse("#4242", to_e164) == parse("order: 4242", to_e164)[:1] == [Target("order", "4242")]
    assert parse("o#7", to_e164) == [Target("order", "7")]


def test_a_long_number_is_a_phone_first_and_an_order_second():
    assert parse("9812345678", to_e164) == [Target("phone", "+9779812345678"), Target("order", "9812345678")]


def test_job_ids_and_prefixes():
    assert parse(JOB.upper(), to_e164) == [Target("job", JOB)]
    assert parse(f"job:{JOB}", to_e164) == [Target("job", JOB)]
    assert parse("0123ab", to_e164) == [Target("job_prefix", "0123ab"), Target("text", "0123ab")]
    assert parse("job: 0123ab", to_e164) == [Target("job_prefix", "0123ab")]
    assert parse(f"{{orderExpiry}}{JOB}", to_e164) == [Target("job", f"{{orderExpiry}}{JOB}")]  # cluster mode
    assert parse("{orderExpiry}order-17-expiry", to_e164) == [Target("job", "{orderExpiry}order-17-expiry")]


def test_retailers_words_and_nonsense():
    assert parse("retailer: 12", to_e164) == [Target("retailer", "12")]
    assert parse("r:12", to_e164) == [Target("retailer", "12")]
    assert parse("undeliverable recipient", to_e164) == [Target("text", "undeliverable recipient")]
    assert parse("", to_e164) == parse("   ", to_e164) == []
    assert parse("order: abc", to_e164) == [] and parse("phone: 12", to_e164) == []
    assert len(parse("x" * 5000, to_e164)[0].value) == 200  # bounded


def test_labels_say_what_opens():
    assert Target("order", "4242").label == "Order 4242"
    assert Target("job_prefix", "ab12").label == "Jobs with an id starting ab12"
