"""Follow-up jobs carry the business keys of what they are about, so the support desk finds them."""
from __future__ import annotations

from datetime import timedelta

from domain.models import OutboxJob
from engine.search import SearchFilter, search
from processors import order_expiry, vendor_fallback

from tests.domain_fixtures import NOW, fetch_job, fresh, make_order


def by_order(engine, order_id):
    return {i["id"]: i for i in search(SearchFilter(order_id=str(order_id)), engine=engine)["items"]}


def test_the_fallback_notice_and_confirmation_timeout_are_found_by_the_order(engine, settings, session, world):
    w1, w2, _, _ = world.wholesalers
    order = make_order(session, world, wholesaler=0)
    vendor_fallback.run(str(order.id), str(w1.id), settings=settings, now=NOW + timedelta(minutes=15))
    notice_id, timeout_id = f"fallback-notice-{order.id}-{w2.id}", f"fallback-{order.id}-{w2.id}"
    kwargs = fetch_job(engine, notice_id).kwargs
    assert {k: kwargs.get(k) for k in ("order_id", "retailer_id", "wholesaler_id")} == {
        "order_id": str(order.id), "retailer_id": str(world.retailer.id), "wholesaler_id": str(w2.id)}
    found = by_order(engine, order.id)
    assert {notice_id, timeout_id} <= set(found)
    assert notice_id in {i["id"] for i in search(SearchFilter(wholesaler_id=str(w2.id)), engine=engine)["items"]}
    assert notice_id in {i["id"] for i in search(SearchFilter(phone=w2.phone), engine=engine)["items"]}


def test_the_expiry_notice_is_found_by_order_and_retailer(engine, settings, session, world):
    order = make_order(session, world)
    order_expiry.run(str(order.id), order.expires_at.isoformat(), settings=settings, now=order.expires_at)
    notice_id = f"expiry-notice-{order.id}"
    assert notice_id in by_order(engine, order.id)
    assert notice_id in {i["id"] for i in search(SearchFilter(retailer_id=str(world.retailer.id)),
                                                 engine=engine)["items"]}


def test_the_outbox_row_of_a_notice_carries_its_keys(engine, settings, session, world, db):
    order = make_order(session, world)
    order_expiry.run(str(order.id), order.expires_at.isoformat(), settings=settings, now=order.expires_at)
    with fresh(db) as s:
        row = s.get(OutboxJob, f"expiry-notice-{order.id}")
        assert row.sent_at is not None  # relayed at once (send_now)
        assert {k: row.data.get(k) for k in ("order_id", "retailer_id")} == {
            "order_id": str(order.id), "retailer_id": str(world.retailer.id)}
