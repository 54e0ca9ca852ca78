"""Credit operations: holds for pending orders, ledger postings, and the ledger's own balance."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from .errors import CreditLimitExceeded, InvalidTransition, NotFound
from .models import CreditAccount, CreditHold, Direction, EntryKind, HoldStatus, LedgerEntry, Order, to_money

ZERO = Decimal("0.00")


def get_account(session: Session, account_id: int, *, lock: bool = False) -> CreditAccount:
    """The account, optionally locked for update; NotFound if it does not exist."""
    stmt = select(CreditAccount).where(CreditAccount.id == account_id)
    if lock:
        stmt = stmt.with_for_update()
    account = session.scalar(stmt)
    if account is None:
        raise NotFound("credit account", account_id)
    return account


def held_amount(session: Session, account_id: int) -> Decimal:
    """Credit reserved by active holds."""
    stmt = select(func.coalesce(func.sum(CreditHold.amount), ZERO)).where(
        CreditHold.account_id == account_id, CreditHold.status == HoldStatus.ACTIVE
    )
    return to_money(session.scalar(stmt))


def available_credit(session: Session, account: CreditAccount) -> Decimal:
    """What the retailer may still order on credit: limit minus balance minus holds."""
    return account.credit_limit - account.balance - held_amount(session, account.id)


def place_hold(session: Session, account: CreditAccount, order: Order, now: datetime) -> CreditHold:
    """Reserve the order's total on the account; refuses to go over the limit."""
    if available_credit(session, account) < order.items_total:
        raise CreditLimitExceeded(f"account {account.id} cannot cover order total {order.items_total}")
    hold = CreditHold(account_id=account.id, order_id=order.id, amount=order.items_total, created_at=now)
    session.add(hold)
    session.flush()
    return hold


def _hold_for(session: Session, order_id: int) -> CreditHold | None:
    return session.scalar(select(CreditHold).where(CreditHold.order_id == order_id).with_for_update())


def release_hold(session: Session, order_id: int, now: datetime) -> CreditHold | None:
    """Give back an order's reserved credit; a no-op when there is no active hold (idempotent)."""
    hold = _hold_for(session, order_id)
    if hold is None or hold.status != HoldStatus.ACTIVE:
        return None
    hold.status = HoldStatus.RELEASED
    hold.closed_at = now
    return hold


def capture_hold(session: Session, order: Order, now: datetime) -> LedgerEntry | None:
    """Turn a confirmed order's hold into a ledger debit and raise the stored balance."""
    hold = _hold_for(session, order.id)
    if hold is None:
        return None
    if hold.status != HoldStatus.ACTIVE:
        raise InvalidTransition(f"hold for order {order.id} is {hold.status}")
    hold.status = HoldStatus.CAPTURED
    hold.closed_at = now
    account = get_account(session, hold.account_id, lock=True)
    return post_entry(session, account, EntryKind.ORDER, Direction.DEBIT, hold.amount, now,
                      order_id=order.id, reference=f"order-{order.id}")


def post_entry(session: Session, account: CreditAccount, kind: EntryKind, direction: Direction, amount: Decimal,
               now: datetime, *, order_id: int | None = None, reference: str | None = None) -> LedgerEntry:
    """Append a ledger entry and move the stored balance with it, in the same transaction."""
    amount = to_money(amount)
    if amount <= 0:
        raise ValueError("ledger amounts are positive; the direction gives the sign")
    entry = LedgerEntry(account_id=account.id, kind=kind, direction=direction, amount=amount,
                        order_id=order_id, reference=reference, created_at=now)
    session.add(entry)
    account.balance = account.balance + (amount if direction == Direction.DEBIT else -amount)
    account.updated_at = now
    session.flush()
    return entry


def record_payment(session: Session, account: CreditAccount, amount: Decimal, now: datetime,
                   reference: str | None = None) -> LedgerEntry:
    """A payment from the retailer: credits the ledger and lowers what is owed."""
    return post_entry(session, account, EntryKind.PAYMENT, Direction.CREDIT, amount, now, reference=reference)


def _signed_amount():
    return case((LedgerEntry.direction == Direction.DEBIT, LedgerEntry.amount), else_=-LedgerEntry.amount)


def ledger_balance(session: Session, account_id: int) -> Decimal:
    """The account's balance recomputed from its ledger: debits minus credits (0 without entries)."""
    stmt = select(func.coalesce(func.sum(_signed_amount()), ZERO)).where(LedgerEntry.account_id == account_id)
    return to_money(session.scalar(stmt))


def stored_and_ledger_balances(session: Session, account_id: int | None = None) -> list[tuple[int, Decimal, Decimal]]:
    """(account id, stored balance, ledger balance) per account, read in ONE statement.

    A single statement sees a single snapshot even under READ COMMITTED, so a payment
    committed halfway through cannot show up as a false discrepancy.
    """
    from_ledger = (select(func.coalesce(func.sum(_signed_amount()), ZERO))
                   .where(LedgerEntry.account_id == CreditAccount.id).scalar_subquery())
    stmt = select(CreditAccount.id, CreditAccount.balance, from_ledger).order_by(CreditAccount.id)
    if account_id is not None:
        stmt = stmt.where(CreditAccount.id == account_id)
    return [(aid, to_money(stored), to_money(ledger)) for aid, stored, ledger in session.execute(stmt)]
