"""The page list: file, title, icon, URL path, section, and whether only operators see it."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageSpec:
    file: str  # relative to dashboard/
    title: str
    icon: str
    url_path: str
    section: str
    operators_only: bool = False


PAGES: tuple[PageSpec, ...] = (
    PageSpec("pages/overview.py", "Overview", ":material/dashboard:", "overview", "Monitor"),
    PageSpec("pages/throughput.py", "Throughput & latency", ":material/monitoring:", "throughput", "Monitor"),
    PageSpec("pages/workers.py", "Workers", ":material/engineering:", "workers", "Monitor"),
    PageSpec("pages/alerts.py", "Alerts", ":material/notifications_active:", "alerts", "Monitor"),
    PageSpec("pages/search.py", "Search jobs", ":material/search:", "search", "Support"),
    PageSpec("pages/order.py", "Order timeline", ":material/receipt_long:", "order", "Support"),
    PageSpec("pages/retailer.py", "Retailer or phone", ":material/storefront:", "retailer", "Support"),
    PageSpec("pages/jobs.py", "Jobs", ":material/list_alt:", "jobs", "Jobs"),
    PageSpec("pages/dead_letters.py", "Dead letters", ":material/mark_email_unread:", "dead_letters", "Jobs"),
    PageSpec("pages/failures.py", "Failures", ":material/bug_report:", "failures", "Jobs"),
    PageSpec("pages/enqueue.py", "Enqueue", ":material/add_task:", "enqueue", "Jobs", operators_only=True),
    PageSpec("pages/schedules.py", "Schedules", ":material/schedule:", "schedules", "Control"),
    PageSpec("pages/queues.py", "Queue controls", ":material/tune:", "queues", "Control"),
    PageSpec("pages/reports.py", "Reports", ":material/summarize:", "reports", "Records"),
    PageSpec("pages/audit_log.py", "Audit log", ":material/history:", "audit_log", "Records"),
)


def visible(can_write: bool) -> list[PageSpec]:
    return [p for p in PAGES if can_write or not p.operators_only]


def by_file(file: str) -> PageSpec:
    return next(p for p in PAGES if p.file == file)


def path(file: str) -> str:
    """A page's absolute path, for st.page_link and st.switch_page (whatever the entry script's folder)."""
    from pathlib import Path

    return str(Path(__file__).resolve().parent / file)
