"""A realistic demo data set: wholesalers, retailers, two weeks of orders, credit ledgers, messages.

Built through the same services the processors use, from a fixed random seed, with times
relative to `now` so the pending orders are really pending. A few accounts get deliberate
balance errors for the reconciliation job to find.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import credit, notices
from .errors import CreditLimitExceeded
from .expiry import EXPIRY_REASON
from .fallback import NO_WHOLESALER_REASON, fall_back
from .models import (CreditAccount, Direction, EntryKind, LedgerEntry, MessageStatus, Order, OrderStatus,
                     OutboundMessage, PaymentMethod, Retailer, Wholesaler)
from .orders import cancel_order, close_order, confirm_order, place_order

SEED = 20240601
CITIES = ["Kathmandu", "Lalitpur", "Bhaktapur", "Pokhara", "Biratnagar", "Birgunj", "Butwal", "Dharan",
          "Hetauda", "Nepalgunj", "Itahari", "Janakpur", "Dhangadhi", "Bharatpur"]
W_NAMES = ["Shree Ganesh", "Himalayan", "Everest", "Annapurna", "Bagmati", "Gandaki", "Koshi", "Lumbini",
           "Janaki", "Machhapuchhre", "Sagarmatha", "Pashupati", "Laxmi", "Kantipur", "Mahalaxmi", "Bishal",
           "Siddhartha", "Tara", "Nilgiri", "Manakamana"]
W_KINDS = ["Traders", "Distributors", "Wholesale", "Suppliers", "Trading Concern", "Enterprises", "Udhyog"]
R_NAMES = ["Sharma", "Shrestha", "Gurung", "Tamang", "Rai", "Limbu", "Magar", "Thapa", "Karki", "Adhikari",
           "Maharjan", "Joshi", "Yadav", "Chaudhary", "Poudel", "Bhandari", "KC", "Basnet", "Khadka", "Pandey"]
R_KINDS = ["Kirana Pasal", "General Store", "Mini Mart", "Fancy Store", "Departmental Store", "Khudra Pasal"]
CONFIRM_WINDOW_S = 900


@dataclass
class DemoSize:
    """How much demo data to write (the defaults are the demo; tests use less)."""

    wholesalers: int = 30
    retailers: int = 100
    history_days: int = 14
    orders_per_day: int = 40
    pending_orders: int = 45
    overdue_pending_orders: int = 5


@dataclass
class DemoSummary:
    """What the seed wrote, including the accounts whose balances were deliberately broken."""

    wholesalers: int = 0
    retailers: int = 0
    credit_accounts: int = 0
    orders: dict[str, int] = field(default_factory=dict)
    ledger_entries: int = 0
    messages: int = 0
    tampered_accounts: list[int] = field(default_factory=list)


def _phones(rng: random.Random, count: int, prefix: str) -> list[str]:
    return [f"{prefix}{n:08d}" for n in rng.sample(range(10_000_000, 99_999_999), count)]


def _names(rng: random.Random, count: int, firsts: list[str], kinds: list[str]) -> list[str]:
    combos = [f"{a} {k}, {c}" for a in firsts for k in kinds for c in CITIES]
    return rng.sample(combos, count)


def _amount(rng: random.Random) -> Decimal:
    return Decimal(rng.randrange(600, 60_000, 5)) + Decimal(rng.choice([0, 0, 0, 50, 25])) / 100


class _Builder:
    """Holds the random source and the session while the history is generated."""

    def __init__(self, session: Session, now: datetime, rng: random.Random, size: DemoSize):
        self.s, self.now, self.rng, self.size = session, now, rng, size
        self.summary = DemoSummary()

    # -- parties -------------------------------------------------------------------
    def parties(self) -> None:
        """Wholesalers, retailers, and credit accounts for about 60% of the retailers."""
        rng, size = self.rng, self.size
        names = _names(rng, size.wholesalers, W_NAMES, W_KINDS)
        phones = _phones(rng, size.wholesalers, "+97798")
        self.wholesalers = [Wholesaler(name=n, phone=p, active=rng.random() > 0.12, rank=rng.randint(1, 50),
                                       created_at=self.now - timedelta(days=rng.randint(90, 700)))
                            for n, p in zip(names, phones, strict=True)]
        names = _names(rng, size.retailers, R_NAMES, R_KINDS)
        phones = _phones(rng, size.retailers, "+97797")
        self.retailers = [Retailer(name=n, phone=p, created_at=self.now - timedelta(days=rng.randint(30, 500)))
                          for n, p in zip(names, phones, strict=True)]
        self.s.add_all(self.wholesalers + self.retailers)
        self.s.flush()
        start = self.now - timedelta(days=size.history_days + 1)
        for retailer in self.retailers:
            if rng.random() < 0.6:
                limit = Decimal(rng.choice([50_000, 75_000, 100_000, 150_000, 250_000]))
                account = CreditAccount(retailer_id=retailer.id, credit_limit=limit, created_at=start)
                self.s.add(account)
                self.s.flush()
                retailer.credit_account = account
                if rng.random() < 0.5:
                    credit.post_entry(self.s, account, EntryKind.OPENING, Direction.DEBIT,
                                      Decimal(rng.randrange(1_000, 30_000, 100)), start, reference="carried over")
        self.active = [w for w in self.wholesalers if w.active]
        self.summary.wholesalers, self.summary.retailers = len(self.wholesalers), len(self.retailers)

    # -- orders --------------------------------------------------------------------
    def _place(self, created: datetime) -> Order:
        rng = self.rng
        retailer = rng.choice(self.retailers)
        wholesaler = rng.choices(self.active, weights=[60 - w.rank for w in self.active])[0]
        amount = _amount(rng)
        items = rng.randint(1, 40)
        order = None
        if retailer.credit_account is not None and rng.random() < 0.6:
            try:
                order = place_order(self.s, retailer, wholesaler, amount, created,
                                    payment_method=PaymentMethod.CREDIT, item_count=items)
            except CreditLimitExceeded:  # refused before anything was written: pay cash instead
                pass
        if order is None:
            order = place_order(self.s, retailer, wholesaler, amount, created, item_count=items)
        self._message(f"seed-offer-{order.id}-{wholesaler.id}",
                      notices.order_offered(order, wholesaler, retailer, CONFIRM_WINDOW_S), created)
        return order

    def _fallbacks(self, order: Order, count: int, start: datetime) -> datetime:
        at = start
        for _ in range(count):
            at += timedelta(seconds=CONFIRM_WINDOW_S)
            outcome = fall_back(self.s, order.id, order.wholesaler_id, at, CONFIRM_WINDOW_S)
            if outcome.notice is not None:
                self._message(f"seed-{outcome.notice.job_id}", outcome.notice, at)
        return at

    def history(self) -> None:
        """Each past day's orders and their outcomes, then that evening's payments."""
        rng, size = self.rng, self.size
        for day in range(size.history_days, 0, -1):
            day_start = (self.now - timedelta(days=day)).replace(hour=0, minute=15, second=0, microsecond=0)
            times = sorted(day_start + timedelta(minutes=rng.randint(0, 15 * 60)) for _ in range(size.orders_per_day))
            for created in times:
                self._history_order(created)
            self._payments(day_start + timedelta(hours=17))

    def _history_order(self, created: datetime) -> None:
        rng = self.rng
        order = self._place(created)
        last = self._fallbacks(order, rng.choices([0, 1, 2], weights=[80, 15, 5])[0], created)
        roll = rng.random()
        if order.status != OrderStatus.PENDING:
            return
        if roll < 0.70:
            confirm_order(self.s, order.id, order.wholesaler_id, last + timedelta(minutes=rng.randint(1, 14)))
        elif roll < 0.82:
            close_order(self.s, order, OrderStatus.EXPIRED, order.expires_at, EXPIRY_REASON)
            self._message(f"seed-expiry-{order.id}", notices.order_expired(order, order.retailer), order.expires_at)
        elif roll < 0.88:
            at = last + timedelta(seconds=CONFIRM_WINDOW_S)
            close_order(self.s, order, OrderStatus.FAILED, at, NO_WHOLESALER_REASON)
            self._message(f"seed-failed-{order.id}", notices.order_failed(order, order.retailer), at)
        else:
            cancel_order(self.s, order.id, created + timedelta(minutes=rng.randint(3, 50)))

    def _payments(self, at: datetime) -> None:
        for retailer in self.retailers:
            account = retailer.credit_account
            if account is None or account.balance <= 0 or self.rng.random() > 0.3:
                continue
            share = Decimal(self.rng.choice([30, 50, 75, 100])) / 100
            amount = (account.balance * share / 100).to_integral_value() * 100 or account.balance
            if 0 < amount <= account.balance:
                credit.record_payment(self.s, account, amount, at + timedelta(minutes=self.rng.randint(0, 240)),
                                      reference=f"cash deposit {self.rng.randint(10_000, 99_999)}")

    def pending(self) -> None:
        """Orders still waiting for a wholesaler, a few of them already past their expiry."""
        rng, size = self.rng, self.size
        for _ in range(size.pending_orders):
            created = self.now - timedelta(minutes=rng.randint(1, 110))
            order = self._place(created)
            if rng.random() < 0.2 and created < self.now - timedelta(seconds=CONFIRM_WINDOW_S + 60):
                self._fallbacks(order, 1, created)
        for _ in range(size.overdue_pending_orders):  # the expiry jobs for these are due at once
            self._place(self.now - timedelta(minutes=rng.randint(125, 180)))

    # -- messages and tampering ----------------------------------------------------
    def _message(self, key: str, notice: notices.Notice, at: datetime) -> None:
        rng = self.rng
        failed = rng.random() < 0.03
        msg = OutboundMessage(idempotency_key=key, recipient=notice.phone, body=notice.text, reference=notice.reference,
                              provider="cloud", attempts=1, created_at=at, updated_at=at + timedelta(seconds=2))
        if failed:
            msg.status, msg.error_code = MessageStatus.FAILED, "131026"
            msg.error = "HTTP 400 code 131026: Message undeliverable"
        else:
            msg.status = rng.choice([MessageStatus.DELIVERED, MessageStatus.DELIVERED, MessageStatus.SENT])
            msg.provider_message_id = f"wamid.SEED{rng.getrandbits(64):016X}"
            msg.sent_at = at + timedelta(seconds=1)
        self.s.add(msg)

    def tamper(self) -> None:
        """Break a few stored balances the way real bugs do, without touching the ledger."""
        accounts = [r.credit_account for r in self.retailers if r.credit_account is not None]
        owing = [a for a in accounts if a.balance >= Decimal("3000")]  # so that no error makes a debt negative
        victims = self.rng.sample(owing if len(owing) >= 5 else accounts, 5)
        victims[0].balance += Decimal("1500.00")  # an order debited twice
        victims[1].balance -= Decimal("2250.50")  # a payment applied twice
        victims[2].balance += Decimal("45.00")  # a manual edit, below the alert threshold
        victims[3].balance -= Decimal("0.50")  # a rounding slip
        # A payment written to the ledger whose balance update was lost.
        self.s.add(LedgerEntry(account_id=victims[4].id, kind=EntryKind.PAYMENT, direction=Direction.CREDIT,
                               amount=Decimal("800.00"), reference="bank transfer (balance update lost)",
                               created_at=self.now - timedelta(days=2)))
        self.summary.tampered_accounts = sorted(a.id for a in victims)


def build_demo_data(session: Session, now: datetime, *, seed: int = SEED, size: DemoSize | None = None) -> DemoSummary:
    """Fill an empty database with the demo data set (the caller commits)."""
    builder = _Builder(session, now, random.Random(seed), size or DemoSize())
    builder.parties()
    builder.history()
    builder.pending()
    builder.tamper()
    session.flush()
    summary = builder.summary
    summary.credit_accounts = session.scalar(select(func.count()).select_from(CreditAccount))
    summary.orders = dict(session.execute(select(Order.status, func.count()).group_by(Order.status)).all())
    summary.ledger_entries = session.scalar(select(func.count()).select_from(LedgerEntry))
    summary.messages = session.scalar(select(func.count()).select_from(OutboundMessage))
    return summary
