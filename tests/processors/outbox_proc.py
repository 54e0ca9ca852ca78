"""Processes for the outbox kill tests: `produce N` places N cash orders (each commit writes its
expiry job's outbox row) and relays each right after its commit; `relay` runs one relay pass.
DATABASE_URL, REDIS_URL and OUTBOX_RELAY_CRASH_AT come from the environment."""
from __future__ import annotations

import sys
import time
from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy import select

from domain.db import session_scope
from domain.models import PaymentMethod, Retailer, Wholesaler
from domain.orders import place_order
from domain.settings import DomainSettings
from engine.app import Engine, set_default_engine
from processors import outbox_relay

NOW = datetime(2025, 3, 10, 9, 0, tzinfo=timezone.utc)


def produce(n: int, settings: DomainSettings) -> None:
    for _ in range(n):
        with session_scope(settings.database_url) as s:
            retailer = s.scalar(select(Retailer).where(Retailer.phone == "+9779820000002"))
            wholesaler = s.scalar(select(Wholesaler).order_by(Wholesaler.rank.desc()).limit(1))
            order = place_order(s, retailer, wholesaler, Decimal("10.00"), NOW, payment_method=PaymentMethod.CASH)
            ids = [r.job_id for r in order_rows(s, order.id)]
        print(f"committed {ids[0]}", flush=True)  # a SIGKILL from here on leaves the row unsent
        time.sleep(0.005)
        outbox_relay.relay(settings, job_ids=ids)


def order_rows(session, order_id: int):
    from domain.models import OutboxJob

    return session.scalars(select(OutboxJob).where(OutboxJob.job_id.like(f"expiry-{order_id}-%"))).all()


def main(argv: list[str]) -> None:
    set_default_engine(Engine.from_settings())
    settings = DomainSettings()
    if argv[0] == "produce":
        produce(int(argv[1]), settings)
    else:
        outbox_relay.relay(settings)


if __name__ == "__main__":
    main(sys.argv[1:])
