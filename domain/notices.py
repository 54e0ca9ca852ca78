"""WhatsApp notices the domain asks to send: recipient, the registry template and its parameters (with the
text it reads as), and a deterministic job id. Business-initiated messages must be templates: WhatsApp
refuses free text to anyone who has not written in the last 24 hours.

A deterministic job id makes "send this notice" idempotent: a rerun asks for the same job,
which the queue and the message table both refuse to send twice.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from .models import Order, Retailer, Wholesaler


@dataclass(frozen=True)
class Notice:
    """A WhatsApp template message to enqueue under `job_id`; `text` is what it reads as."""

    phone: str
    text: str
    job_id: str
    reference: str | None = None
    template: str = ""
    params: tuple[str, ...] = ()
    language: str = "en"
    # what the notice is about, so that the support desk finds it by order, retailer, wholesaler or account
    order_id: int | None = None
    retailer_id: int | None = None
    wholesaler_id: int | None = None
    account_id: int | None = None

    def data(self) -> dict:
        """The whatsapp job's data: the template reference, the reference and the business keys."""
        out: dict = {"phone": self.phone,
                     "template": {"name": self.template, "language": self.language, "params": list(self.params)}}
        for name in ("reference", "order_id", "retailer_id", "wholesaler_id", "account_id"):
            value = getattr(self, name)
            if value is not None:
                out[name] = str(value)
        return out


def money(amount: Decimal) -> str:
    """`NPR 12,345.00`."""
    return f"NPR {amount:,.2f}"


def order_expired(order: Order, retailer: Retailer) -> Notice:
    """Tells the retailer nobody confirmed in time."""
    text = (f"Namaste {retailer.name}, your order #{order.id} ({money(order.items_total)}) expired before a "
            f"wholesaler confirmed it.")
    if order.payment_method == "credit":
        text += " The credit reserved for it has been released."
    text += " Please place it again if you still need the goods."
    return Notice(retailer.phone, text, f"expiry-notice-{order.id}", str(order.id), "order_expired",
                  (retailer.name, str(order.id)),
                  order_id=order.id, retailer_id=retailer.id, wholesaler_id=order.wholesaler_id)


def order_offered(order: Order, wholesaler: Wholesaler, retailer: Retailer, confirm_within_s: int) -> Notice:
    """Offers the order to a wholesaler, with the confirmation deadline."""
    minutes = max(1, round(confirm_within_s / 60))
    text = (f"New order #{order.id} from {retailer.name}: {order.item_count} item(s), {money(order.items_total)}. "
            f"Please confirm within {minutes} minutes or it goes to another wholesaler.")
    return Notice(wholesaler.phone, text, f"fallback-notice-{order.id}-{wholesaler.id}", str(order.id),
                  "order_offered", (str(order.id), retailer.name,
                                    f"{order.item_count} item(s), {money(order.items_total)}", str(minutes)),
                  order_id=order.id, retailer_id=retailer.id, wholesaler_id=wholesaler.id)


def order_failed(order: Order, retailer: Retailer) -> Notice:
    """Tells the retailer no wholesaler could take the order."""
    text = (f"Sorry {retailer.name}, no wholesaler could take your order #{order.id} "
            f"({money(order.items_total)}).")
    if order.payment_method == "credit":
        text += " The credit reserved for it has been released."
    return Notice(retailer.phone, text, f"order-failed-notice-{order.id}", str(order.id), "order_failed",
                  (retailer.name, str(order.id)),
                  order_id=order.id, retailer_id=retailer.id)


def reconciliation_alert(run_id: int, account_id: int, retailer_name: str, expected: Decimal, stored: Decimal,
                         support_phone: str) -> Notice:
    """Asks support to look at a balance that does not match its ledger."""
    text = (f"Credit reconciliation run #{run_id}: account {account_id} ({retailer_name}) stores "
            f"{money(stored)} but its ledger says {money(expected)} (difference {money(stored - expected)}). "
            f"Please investigate; balances are not corrected automatically.")
    detail = (f"account {account_id} ({retailer_name}) stores {money(stored)} but its ledger says {money(expected)} "
              f"(difference {money(stored - expected)})")
    return Notice(support_phone, text, f"recon-alert-{run_id}-{account_id}", f"account-{account_id}",
                  "reconciliation_alert", (str(run_id), detail),
                  account_id=account_id)
