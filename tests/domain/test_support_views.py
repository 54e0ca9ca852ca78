"""Support views: an order's record, chain, hold and messages; a retailer; a phone. Read-only, bounded."""
from __future__ import annotations

from datetime import timedelta

from domain import delivery, outbox
from domain.delivery import StatusUpdate
from domain.fallback import fall_back
from domain.models import OutboundMessage
from domain.support_views import order_view, phone_view, retailer_view

from tests.domain_fixtures import NOW, make_order


def _message(session, key: str, phone: str, reference: str | None, *, failed: str | None = None, at=NOW):
    outbox.claim(session, key, phone=phone, body=f"body {key}", reference=reference, provider="cloud",
                 resend_is_harmless=False, now=at)
    if failed:
        outbox.mark_failed(session, key, code="131026", error=failed, retryable=False, now=at)
    else:
        outbox.mark_sent(session, key, f"wamid.{key}", "sent", now=at)
    session.commit()


def test_order_view_has_the_record_chain_hold_and_only_its_messages(session, world):
    order = make_order(session, world)
    other = make_order(session, world, total="100.00")
    fall_back(session, order.id, world.wholesalers[0].id, NOW + timedelta(minutes=20), 900)
    session.commit()
    _message(session, "a" * 32, world.wholesalers[0].phone, str(order.id), at=NOW)
    _message(session, "b" * 32, world.retailer.phone, str(order.id), failed="HTTP 400 code 131026: undeliverable",
             at=NOW + timedelta(minutes=1))
    _message(session, "c" * 32, world.retailer.phone, str(other.id))

    view = order_view(session, order.id)
    assert view["id"] == order.id and view["status"] == "pending" and view["payment_method"] == "credit"
    assert view["retailer"] == {"id": world.retailer.id, "name": "Sharma Kirana Pasal", "phone": "+9779820000001"}
    assert view["wholesaler"]["name"] == "Bagmati Wholesale"
    assert [(c["wholesaler"]["name"], c["current"], bool(c["failed_at"])) for c in view["chain"]] == [
        ("Everest Traders", False, True), ("Bagmati Wholesale", True, False)]
    assert view["credit_hold"]["amount"] == "2500.00" and view["credit_hold"]["status"] == "active"
    assert view["expires_at"].startswith("2025-03-10T11:00")
    assert [m["job_id"] for m in view["messages"]] == ["b" * 32, "a" * 32]  # newest first, not the other order's
    failed = view["messages"][0]
    assert (failed["status"], failed["error_code"], failed["error"]) == (
        "failed", "131026", "HTTP 400 code 131026: undeliverable")


def test_order_view_of_a_cash_order_has_no_hold_and_of_an_unknown_order_is_none(session, world):
    order = make_order(session, world, credit=False)
    assert order_view(session, order.id)["credit_hold"] is None
    assert order_view(session, 4242) is None


def test_retailer_view_counts_orders_and_is_bounded(session, world):
    orders = [make_order(session, world, total="10.00", at=NOW + timedelta(seconds=i)) for i in range(5)]
    make_order(session, world, credit=False)  # another retailer's
    view = retailer_view(session, world.retailer.id, limit=3)
    assert view["name"] == "Sharma Kirana Pasal" and view["order_counts"] == {"pending": 5}
    assert [o["id"] for o in view["orders"]] == [o.id for o in orders[::-1][:3]]
    assert view["credit"]["held"] == "50.00" and view["credit"]["available"] == "9950.00"
    assert retailer_view(session, world.cash_retailer.id)["credit"] is None
    assert retailer_view(session, 999) is None


def test_phone_view_finds_the_parties_and_messages_of_that_phone_only(session, world):
    _message(session, "d" * 32, world.retailer.phone, None)
    _message(session, "e" * 32, world.cash_retailer.phone, None)
    view = phone_view(session, world.retailer.phone)
    assert [r["name"] for r in view["retailers"]] == ["Sharma Kirana Pasal"] and view["wholesalers"] == []
    assert [m["job_id"] for m in view["messages"]] == ["d" * 32]
    nobody = phone_view(session, "+9779899999999")
    assert nobody == {"phone": "+9779899999999", "retailers": [], "wholesalers": [], "messages": []}


def test_views_never_write(session, world):
    order = make_order(session, world)
    before = session.query(OutboundMessage).count()
    order_view(session, order.id)
    retailer_view(session, world.retailer.id)
    phone_view(session, world.retailer.phone)
    assert not session.new and not session.dirty and session.query(OutboundMessage).count() == before


def test_order_view_messages_carry_their_delivery_from_the_status_webhooks(session, world):
    order = make_order(session, world)
    _message(session, "d" * 32, world.retailer.phone, str(order.id), at=NOW)
    _message(session, "e" * 32, world.wholesalers[0].phone, str(order.id), at=NOW + timedelta(minutes=1))
    _message(session, "f" * 32, world.wholesalers[1].phone, str(order.id), at=NOW + timedelta(minutes=2))
    delivery.accepted(session, "wamid.old", "d" * 32, world.retailer.phone, NOW)
    delivery.accepted(session, "wamid.resent", "d" * 32, world.retailer.phone, NOW + timedelta(minutes=5))
    delivery.apply_status(session, StatusUpdate("wamid.resent", "read", NOW + timedelta(minutes=7)))
    delivery.apply_status(session, StatusUpdate("wamid.resent", "delivered", NOW + timedelta(minutes=6)))  # late
    delivery.accepted(session, "wamid.e", "e" * 32, world.wholesalers[0].phone, NOW + timedelta(minutes=1))
    delivery.apply_status(session, StatusUpdate("wamid.e", "failed", NOW + timedelta(minutes=2),
                                                error_code="131026", error="Message undeliverable"))
    session.commit()

    by_job = {m["job_id"]: m["delivery"] for m in order_view(session, order.id)["messages"]}
    assert by_job["d" * 32]["wamid"] == "wamid.resent" and by_job["d" * 32]["state"] == "read"  # the latest send
    assert by_job["d" * 32]["read_at"].startswith("2025-03-10T09:07")
    assert (by_job["e" * 32]["state"], by_job["e" * 32]["error_code"]) == ("failed", "131026")
    assert by_job["f" * 32] is None  # no status record: the card shows the outbox's own state only
