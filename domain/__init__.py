"""The domain store: marketplace models, their services and the demo data set."""
from .db import create_schema, dispose_engines, engine_for, make_engine, session_scope
from .errors import CreditLimitExceeded, DomainError, InvalidTransition, NotFound
from .models import (Base, CreditAccount, CreditHold, DailyReport, Discrepancy, LedgerEntry, MessageStatus, Order,
                     OrderAttempt, OrderStatus, OutboundMessage, PaymentMethod, ReconciliationRun, Retailer,
                     Wholesaler)
from .settings import DomainSettings, get_settings

__all__ = [
    "create_schema", "dispose_engines", "engine_for", "make_engine", "session_scope",
    "CreditLimitExceeded", "DomainError", "InvalidTransition", "NotFound",
    "Base", "CreditAccount", "CreditHold", "DailyReport", "Discrepancy", "LedgerEntry", "MessageStatus", "Order",
    "OrderAttempt", "OrderStatus", "OutboundMessage", "PaymentMethod", "ReconciliationRun", "Retailer", "Wholesaler",
    "DomainSettings", "get_settings",
]  # fmt: skip
