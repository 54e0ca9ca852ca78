"""Search by business key, job-id prefix and error words; the index follows jobs and goes with them."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from engine import dead_letters, keys, search_index
from processors import helpers
from engine.errors import ValidationError
from engine.search import SearchFilter, count, search

from tests.engine.support import put, thread_workers, wait_until


def find(engine, **kw):
    """Every matching item across pages."""
    items, cursor = [], None
    for _ in range(50):
        page = search(SearchFilter(**kw), limit=50, cursor=cursor, engine=engine)
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("search did not end")


def ids(items):
    return {i["id"] for i in items}


@pytest.fixture
def order_42(engine):
    """Jobs about order 42 in every state on four queues, plus noise about orders 420, 4242 and 4."""
    made = {}
    made["finished"] = put(engine, "whatsapp", "ok", {"phone": "+9779800000042", "message": "m", "order_id": "42",
                                                      "retailer_id": "7"}).id
    made["dead"] = put(engine, "vendorFallback", "permanent", {"order_id": "42", "failed_wholesaler_id": "3"}).id
    noise = [put(engine, "whatsapp", "ok", {"phone": "+9779800000420", "message": "m", "order_id": oid}).id
             for oid in ("420", "4242", "4")]
    noise.append(put(engine, "vendorFallback", "permanent", {"order_id": "4242", "failed_wholesaler_id": "3"}).id)
    with thread_workers(engine, ["whatsapp", "vendorFallback"]):
        wait_until(lambda: dead_letters.exists(made["dead"], engine=engine)
                   and engine.conn.hget(keys.job(made["finished"]), "status") == b"finished")
    made["waiting"] = put(engine, "whatsapp", "ok", {"phone": "+9779800000042", "message": "m", "order_id": "42"}).id
    in_a_month = datetime.now(timezone.utc) + timedelta(days=30)  # due later than the test: stays scheduled
    made["scheduled"] = helpers.add_order_expiry_job("42", in_a_month, engine=engine).id
    made["noise"] = noise
    return made


def test_an_order_finds_exactly_its_jobs_across_queues_and_states(engine, order_42):
    items = find(engine, order_id="42")
    assert ids(items) == {order_42[k] for k in ("finished", "dead", "waiting", "scheduled")}
    states = {i["id"]: i["state"] for i in items}
    assert states[order_42["dead"]] == "dead_lettered" and states[order_42["finished"]] == "finished"
    assert states[order_42["waiting"]] == "waiting" and states[order_42["scheduled"]] == "scheduled"
    assert {i["queue"] for i in items} == {"whatsapp", "vendorFallback", "orderExpiry"}
    dead = next(i for i in items if i["id"] == order_42["dead"])
    assert dead["last_error"]["type"] == "PermanentError" and dead["runs"] == 1
    assert set(dead) >= {"queue", "id", "state", "priority", "runs", "enqueued_at", "started_at", "ended_at", "data",
                         "last_error"}


def test_results_are_newest_first_and_pages_neither_repeat_nor_skip(engine):
    made = [put(engine, "whatsapp", "ok", {"phone": "+9779800000001", "message": str(i), "order_id": "9"}).id
            for i in range(23)]
    seen, cursor = [], None
    for _ in range(10):
        page = search(SearchFilter(order_id="9"), limit=5, cursor=cursor, engine=engine)
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(made) and len(seen) == 23
    stamps = [engine.conn.zscore(keys.index("order", "9"), j) for j in seen]
    assert stamps == sorted(stamps, reverse=True)


def test_a_phone_in_any_common_format_finds_its_jobs(engine, order_42):
    expected = {order_42["finished"], order_42["waiting"]}
    for spelled in ("+9779800000042", "+977 980-000 0042", "9800000042", "00977 9800000042"):
        assert ids(find(engine, phone=spelled)) == expected


def test_retailer_wholesaler_and_account_keys(engine, order_42):
    helpers.add_credit_reconciliation_job("55", engine=engine)
    helpers.add_whatsapp_message("+9779800000099", "alert", account_id="55", engine=engine)
    assert ids(find(engine, retailer_id="7")) == {order_42["finished"]}
    assert order_42["dead"] in ids(find(engine, wholesaler_id="3"))
    assert {i["queue"] for i in find(engine, account_id="55")} == {"creditReconciliation", "whatsapp"}


def test_keys_combine_and_queue_and_state_narrow(engine, order_42):
    assert ids(find(engine, order_id="42", phone="9800000042")) == {order_42["finished"], order_42["waiting"]}
    assert ids(find(engine, order_id="42", state="dead_lettered")) == {order_42["dead"]}
    assert ids(find(engine, order_id="42", queue="orderExpiry")) == {order_42["scheduled"]}
    assert find(engine, order_id="42", queue="dailyReports") == []
    assert count(SearchFilter(order_id="42"), engine=engine) == 4


def test_q_finds_a_job_by_id_prefix_and_dead_letters_by_error_words(engine, order_42):
    dead = order_42["dead"]
    assert ids(find(engine, q=dead)) == {dead}
    assert dead in ids(find(engine, q=dead[:8]))
    words = find(engine, q="recipient invalid")
    assert dead in ids(words) and all(i["state"] == "dead_lettered" for i in words)
    assert ids(find(engine, order_id="42", q="recipient")) == {dead}
    assert find(engine, q="no-such-words-anywhere") == []


@pytest.mark.parametrize("kw, field", [
    ({}, "q"), ({"order_id": "4 2"}, "order_id"), ({"phone": "call me"}, "phone"), ({"order_id": "1", "state": "odd"}, "state"),
    ({"order_id": "1", "queue": "nope"}, "queue"), ({"q": "x" * 201}, "q"), ({"retailer_id": ""}, "retailer_id"),
])
def test_bad_parameters_name_the_parameter(engine, kw, field):
    with pytest.raises(ValidationError) as err:
        search(SearchFilter(**kw), engine=engine)
    assert err.value.field == field


def test_a_phone_shaped_value_that_is_no_possible_number_finds_nothing_rather_than_failing(engine):
    assert search(SearchFilter(phone="12"), engine=engine) == {"items": [], "next_cursor": None}


def test_bad_limit_and_cursor_are_refused(engine):
    for limit in (0, 501):
        with pytest.raises(ValidationError) as err:
            search(SearchFilter(order_id="1"), limit=limit, engine=engine)
        assert err.value.field == "limit"
    with pytest.raises(ValidationError) as err:
        search(SearchFilter(order_id="1"), cursor="garbage", engine=engine)
    assert err.value.field == "cursor"


def test_index_entries_go_with_the_jobs_retention(engine_factory):
    eng = engine_factory(queue_overrides={"whatsapp": {"keep_completed_s": 1}})
    eng.conn.flushdb()
    made = [put(eng, "whatsapp", "ok", {"phone": f"+97798000001{i:02d}", "message": "m", "order_id": str(i)}).id
            for i in range(20)]
    with thread_workers(eng, ["whatsapp"]):
        wait_until(lambda: all(eng.conn.hget(keys.job(j), "status") == b"finished" for j in made))
    assert len(eng.conn.keys(f"{keys.INDEX_PREFIX}*")) == 40
    wait_until(lambda: not any(eng.conn.exists(keys.job(j)) for j in made), timeout_s=5)
    for _ in range(5):
        search_index.trim(eng)
    assert eng.conn.keys(f"{keys.INDEX_PREFIX}*") == []


def test_a_search_drops_entries_of_vanished_jobs_on_the_way(engine):
    kept = put(engine, "whatsapp", "ok", {"phone": "+9779800000001", "message": "m", "order_id": "5"}).id
    gone = put(engine, "whatsapp", "ok", {"phone": "+9779800000001", "message": "m", "order_id": "5"}).id
    engine.conn.delete(keys.job(gone))  # as its retention would
    assert ids(find(engine, order_id="5")) == {kept}
    assert engine.conn.zrange(keys.index("order", "5"), 0, -1) == [kept.encode()]


def test_the_index_never_outgrows_the_jobs_it_indexes(engine):
    made = [put(engine, "whatsapp", "ok", {"phone": "+9779800000001", "message": "m", "order_id": str(i % 7)}).id
            for i in range(60)]
    for j in made[:45]:
        engine.conn.delete(keys.job(j))
    for _ in range(5):
        search_index.trim(engine)
    entries = sum(engine.conn.zcard(k) for k in engine.conn.keys(f"{keys.INDEX_PREFIX}*"))
    assert entries == 15 * 2  # each live job: one order entry and one phone entry, nothing else


def test_a_dead_lettered_job_keeps_its_index_entries_while_its_entry_exists(engine, order_42):
    engine.conn.delete(keys.job(order_42["dead"]))  # the entry alone is left
    for _ in range(3):
        search_index.trim(engine)
    found = find(engine, order_id="42", state="dead_lettered")
    assert ids(found) == {order_42["dead"]} and found[0]["data"]["order_id"] == "42"


def test_a_job_id_prefix_search_pages_through_a_large_keyspace_to_the_end(engine):
    made = {put(engine, "whatsapp", "ok", {"phone": "+9779800000001", "message": "m"}, job_id=f"pfx-{i:03d}").id
            for i in range(30)}
    pipe = engine.conn.pipeline(transaction=False)
    for i in range(60_000):  # other keys the SCAN must walk past: several pages' budget
        pipe.set(f"test:noise:{i}", 1)
    pipe.execute()
    seen, cursor, pages = set(), None, 0
    while pages < 100:
        page = search(SearchFilter(q="pfx-"), limit=50, cursor=cursor, engine=engine)
        seen |= {i["id"] for i in page["items"]}
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == made and cursor is None and pages > 1  # one page's bounded scan cannot cover it all
    assert count(SearchFilter(q="pfx-"), engine=engine) == 30


def test_running_and_cancelled_jobs_are_found_in_their_states(engine):
    from engine.cancel import cancel_job

    running = put(engine, "whatsapp", "cooperative", {"phone": "+9779800000001", "message": "m", "order_id": "77"})
    with thread_workers(engine, ["whatsapp"]):
        wait_until(lambda: engine.conn.hget(keys.job(running.id), "status") == b"started")
        [item] = find(engine, order_id="77")
        assert item["state"] == "active" and item["started_at"] is not None
        cancel_job("whatsapp", running.id, engine=engine)
        assert find(engine, order_id="77")[0]["cancel_requested"] is True
        wait_until(lambda: engine.conn.hget(keys.job(running.id), "status") == b"canceled")
    assert [i["state"] for i in find(engine, order_id="77", state="cancelled")] == ["cancelled"]
