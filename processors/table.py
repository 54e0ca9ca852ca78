"""The platform's five queues: one row each (processor, concurrency, retries, backoff, rate limit, schema).

The engine loads this table by name (ENGINE_QUEUES, default `processors.table:QUEUES`); adding a queue is
one row here, one schema in processors/schemas.py and one processor module."""
from __future__ import annotations

from engine.queues import QueuePolicy, SlaTarget

from .schemas import CreditReconciliationData, DailyReportData, OrderExpiryData, VendorFallbackData, WhatsAppData

QUEUES: tuple[QueuePolicy, ...] = (
    #           name                    processor                                   conc retries backoff       base  rate/min
    QueuePolicy("whatsapp",             "processors.whatsapp.run",                  5,   3, "exponential",  2.0, 100, timeout_s=30,
                sla=SlaTarget(start_within_s=60, ratio=0.95), key_limit=("phone", 6.0),           schema=WhatsAppData,
                also_accepts=("processors.whatsapp.arun",),  # its async twin: jobs queued while a deployment ran it
                index_keys={"phone": "phone", "order_id": "order", "retailer_id": "retailer",
                            "wholesaler_id": "wholesaler", "account_id": "account"}),
    QueuePolicy("orderExpiry",          "processors.order_expiry.run",              3,   2, "fixed",        5.0, 50, timeout_s=60,
                                                                                                  schema=OrderExpiryData,
                index_keys={"order_id": "order"}),
    QueuePolicy("vendorFallback",       "processors.vendor_fallback.run",           2,   3, "exponential",  3.0, 20, timeout_s=60,
                                                                                                  schema=VendorFallbackData,
                index_keys={"order_id": "order", "failed_wholesaler_id": "wholesaler"}),
    QueuePolicy("dailyReports",         "processors.daily_reports.run",             1,   2, "fixed",       10.0, 10, timeout_s=600,
                                                                                                  schema=DailyReportData,
                index_keys={}),
    QueuePolicy("creditReconciliation", "processors.credit_reconciliation.run",     2,   3, "exponential",  5.0, 30, timeout_s=600,
                                                                                                  schema=CreditReconciliationData,
                index_keys={"account_id": "account"}),
)  # fmt: skip

QUEUE_NAMES: tuple[str, ...] = tuple(p.name for p in QUEUES)
