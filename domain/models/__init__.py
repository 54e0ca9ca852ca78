"""The domain tables."""
from .base import Base, Money, UTCDateTime, to_money
from .credit import CreditAccount, CreditHold, Direction, EntryKind, HoldStatus, LedgerEntry
from .delivery import RANK, DeliveryState, MessageDelivery, WhatsAppContact
from .messages import MessageStatus, OutboundMessage
from .outbox import OutboxJob
from .orders import Order, OrderAttempt, OrderStatus, PaymentMethod
from .parties import Retailer, Wholesaler
from .reports import DailyReport, Discrepancy, ReconciliationRun

__all__ = [
    "Base", "Money", "UTCDateTime", "to_money",
    "CreditAccount", "CreditHold", "Direction", "EntryKind", "HoldStatus", "LedgerEntry",
    "MessageStatus", "OutboundMessage", "OutboxJob", "RANK", "DeliveryState", "MessageDelivery", "WhatsAppContact",
    "Order", "OrderAttempt", "OrderStatus", "PaymentMethod",
    "Retailer", "Wholesaler",
    "DailyReport", "Discrepancy", "ReconciliationRun",
]  # fmt: skip
