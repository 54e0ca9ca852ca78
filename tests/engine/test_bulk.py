"""Bulk cancel, retry and delete on a whole filtered set (search or dead letters), capped and audited once."""
from __future__ import annotations

import pytest

from engine import audit, bulk, dead_letters, keys
from engine.audit import Actor
from engine.errors import ConflictError
from engine.operator import Operator
from engine.search import SearchFilter, search

from tests.engine.support import put, thread_workers, wait_until

OP = Actor("ann", "api")


def states(engine, **kw):
    return sorted(i["state"] for i in search(SearchFilter(**kw), limit=500, engine=engine)["items"])


@pytest.fixture
def mixed(engine):
    """Order 7: two waiting, one scheduled, two dead-lettered, one finished; order 8: the same noise."""
    dead, done = [], []
    for order in ("7", "8"):
        data = {"phone": "+9779800000007", "message": "m", "order_id": order}
        dead += [put(engine, "whatsapp", "permanent", data).id for _ in range(2)]
        done.append(put(engine, "whatsapp", "ok", data).id)
    with thread_workers(engine, ["whatsapp"]):
        wait_until(lambda: all(dead_letters.exists(d, engine=engine) for d in dead)
                   and all(engine.conn.hget(keys.job(j), "status") == b"finished" for j in done))
    for order in ("7", "8"):
        data = {"phone": "+9779800000007", "message": "m", "order_id": order}
        put(engine, "whatsapp", "ok", data)
        put(engine, "whatsapp", "ok", data)
        put(engine, "orderExpiry", "ok", {"order_id": order}, delay=3600)


def test_bulk_cancel_on_a_search_touches_exactly_the_filtered_set_and_is_audited_once(engine, mixed):
    flt = SearchFilter(order_id="7")
    assert bulk.count_search(flt, "cancel", engine=engine) == 3
    assert Operator(engine, OP, role="write").bulk_search("cancel", flt) == 3
    assert states(engine, order_id="7") == ["cancelled"] * 3 + ["dead_lettered"] * 2 + ["finished"]
    assert states(engine, order_id="8") == ["dead_lettered"] * 2 + ["finished", "scheduled", "waiting", "waiting"]
    [entry] = audit.list_entries(action="bulk_cancel_search", engine=engine)
    assert entry["details"] == {"filter": {"order_id": "7"}, "count": 3}


def test_bulk_retry_and_delete_on_a_search(engine, mixed):
    op = Operator(engine, OP, role="write")
    assert op.bulk_search("retry", SearchFilter(order_id="7", state="dead_lettered")) == 2
    assert states(engine, order_id="7").count("waiting") == 4
    assert op.bulk_search("delete", SearchFilter(order_id="7")) == 6
    assert states(engine, order_id="7") == [] and len(states(engine, order_id="8")) == 6


def test_a_set_over_the_cap_is_refused_before_anything_changes(engine, mixed):
    with pytest.raises(ConflictError, match="at most 2"):
        bulk.bulk_search("cancel", SearchFilter(order_id="7"), cap=2, engine=engine)
    assert states(engine, order_id="7").count("waiting") == 2
    assert bulk.count_search(SearchFilter(order_id="7"), "delete", cap=2, engine=engine) == 3  # "more than 2"
    with pytest.raises(ConflictError):
        bulk.bulk_dead_letters("retry", dead_letters.Filter(queue="whatsapp"), cap=3, engine=engine)
    assert dead_letters.count(dead_letters.Filter(queue="whatsapp"), engine=engine) == 4


def test_dead_letter_bulk_actions_are_capped_and_audited_with_the_count(engine, mixed):
    op = Operator(engine, OP, role="write")
    assert dead_letters.count(dead_letters.Filter(queue="whatsapp"), engine=engine) == 4
    assert op.bulk_retry_dead_letters(dead_letters.Filter(queue="whatsapp")) == 4
    [entry] = audit.list_entries(action="bulk_retry", engine=engine)
    assert entry["details"] == {"filter": {"queue": "whatsapp"}, "count": 4}
    assert bulk.BULK_CAP == 10_000
