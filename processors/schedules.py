"""The platform's recurring schedules (ENGINE_SCHEDULES, default `processors.schedules:SCHEDULES`)."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from engine.schedules import Schedule, no_data


def previous_local_day(moment: datetime) -> dict[str, Any]:
    """The daily report covers the day before the tick, in the schedule's time zone."""
    return {"report_date": (moment.date() - timedelta(days=1)).isoformat()}


SCHEDULES: tuple[Schedule, ...] = (
    #        name                     cron          kind    target                           data
    Schedule("daily-report",          "15 0 * * *", "job",  "dailyReports",                  previous_local_day, catch_up=True),
    Schedule("credit-reconciliation", "0 2 * * *",  "job",  "creditReconciliation",          no_data,            catch_up=True),
    # the sweep lives beside the order-expiry processor it backs up
    Schedule("order-expiry-sweep",    "* * * * *",  "call", "processors.order_expiry.sweep", no_data,            catch_up=False),
)  # fmt: skip
