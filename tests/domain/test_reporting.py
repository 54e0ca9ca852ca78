import csv
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import func, select

from domain import outbox
from domain.expiry import expire_if_due
from domain.fallback import fall_back
from domain.models import DailyReport
from domain.orders import cancel_order, confirm_order
from domain.reporting import build_figures, day_window, save_report, write_csv
from engine.export import write_rows

from tests.domain_fixtures import NOW, make_order

KTM = "Asia/Kathmandu"  # UTC+05:45
DAY = date(2025, 3, 10)
QUEUES = {"whatsapp": {"completed": 7, "failed": 2, "dead_lettered": 1}, "orderExpiry": {"completed": 3}}


def utc(h, m, day=10):
    return datetime(2025, 3, day, h, m, tzinfo=timezone.utc)


def test_the_day_window_is_the_local_calendar_day_in_utc():
    assert day_window(DAY, KTM) == (utc(18, 15, 9), utc(18, 15))
    start, end = day_window(date(2025, 3, 30), "Europe/London")  # the day clocks go forward: 23 hours
    assert end - start == timedelta(hours=23)


def seed_day(session, world):
    """Orders just inside and just outside the Kathmandu day, in every outcome."""
    w1, w2, _, _ = world.wholesalers
    before = make_order(session, world, at=utc(18, 10, 9), total="111.00")  # previous local day
    confirmed = make_order(session, world, at=utc(18, 20, 9), total="1000.00")
    confirm_order(session, confirmed.id, w1.id, utc(18, 30, 9))
    expired = make_order(session, world, at=utc(3, 0), total="500.50", credit=False, wholesaler=1)
    expire_if_due(session, expired.id, expired.expires_at)
    moved = make_order(session, world, at=utc(4, 0), total="250.00")
    fall_back(session, moved.id, w1.id, utc(4, 15), 900)
    cancelled = make_order(session, world, at=utc(18, 14), total="99.50", credit=False)
    cancel_order(session, cancelled.id, utc(18, 20))
    make_order(session, world, at=utc(18, 16), total="777.00")  # next local day
    for i, status in enumerate(["sent", "delivered", "failed"]):
        outbox.claim(session, f"m{i}", phone="+9779820000001", body="x", reference=None, provider="cloud",
                     resend_is_harmless=False, now=utc(10, i))
        if status == "failed":
            outbox.mark_failed(session, f"m{i}", code="131026", error="undeliverable", retryable=False, now=utc(10, i))
        else:
            outbox.mark_sent(session, f"m{i}", f"wamid.{i}", status, utc(10, i))
    session.commit()
    return before, confirmed, expired, moved


def test_figures_count_the_local_day_only(session, world):
    seed_day(session, world)
    f = build_figures(session, DAY, KTM, QUEUES)
    orders = f["orders"]
    assert orders["placed"] == 4
    assert orders["by_status"] == {"pending": 1, "confirmed": 1, "expired": 1, "failed": 0, "cancelled": 1}
    assert orders["gross_value"] == "1850.00"
    assert orders["confirmed_value"] == "1000.00"
    assert (orders["expiries"], orders["fallbacks"], orders["failures"]) == (1, 1, 0)
    assert (f["messages"]["sent"], f["messages"]["failed"]) == (2, 1)
    assert f["queues"]["totals"] == {"completed": 10, "failed": 2, "dead_lettered": 1}
    assert f["queues"]["per_queue"]["orderExpiry"] == {"completed": 3, "failed": 0, "dead_lettered": 0}


def test_the_wholesaler_table_shows_orders_confirmations_and_fallbacks(session, world):
    seed_day(session, world)
    w1, w2, _, _ = world.wholesalers
    rows = {r["wholesaler_id"]: r for r in build_figures(session, DAY, KTM, QUEUES)["wholesalers"]}
    assert rows[w1.id] == {"wholesaler_id": w1.id, "name": w1.name, "orders": 2, "confirmed": 1,
                           "gross_value": "1099.50", "fallbacks_away": 1}
    assert rows[w2.id]["orders"] == 2 and rows[w2.id]["gross_value"] == "750.50"


def test_the_csv_holds_every_section(session, world, tmp_path):
    seed_day(session, world)
    figures = build_figures(session, DAY, KTM, QUEUES)
    path = write_csv(figures, tmp_path / "reports", write_rows)
    assert path.name == "daily-report-2025-03-10.csv"
    rows = list(csv.reader(path.open()))
    assert rows[0] == ["section", "item", "metric", "value"]
    assert ["orders", "all", "gross_value", "1850.00"] in rows
    assert ["orders", "expired", "count", "1"] in rows
    assert ["messages", "all", "failed", "1"] in rows
    assert ["queue", "whatsapp", "dead_lettered", "1"] in rows
    assert any(r[0] == "wholesaler" and r[2] == "fallbacks_away" and r[3] == "1" for r in rows)
    assert [p.name for p in (tmp_path / "reports").iterdir()] == [path.name]  # no temporary file left


def test_the_report_file_is_formula_escaped_and_quotes_line_breaks(session, world, tmp_path):
    seed_day(session, world)
    figures = build_figures(session, DAY, KTM, QUEUES)
    figures["wholesalers"][0]["wholesaler_id"] = "=HYPERLINK(\"http://x\")"
    figures["wholesalers"][0]["name"] = "two\rlines"
    rows = list(csv.reader(write_csv(figures, tmp_path / "reports", write_rows).open(newline="")))
    items = {r[1] for r in rows if r[0] == "wholesaler"}
    assert "'=HYPERLINK(\"http://x\") two\rlines" in items  # one cell: escaped, and the CR did not split the row
    assert not any(cell.startswith("=") for r in rows for cell in r)


def test_saving_a_date_again_replaces_its_report(session, world, tmp_path):
    save_report(session, DAY, KTM, {"v": 1}, tmp_path / "a.csv", NOW)
    save_report(session, DAY, KTM, {"v": 2}, tmp_path / "b.csv", NOW + timedelta(hours=1))
    session.commit()
    assert session.scalar(select(func.count()).select_from(DailyReport)) == 1
    report = session.scalar(select(DailyReport))
    assert (report.figures, report.csv_path) == ({"v": 2}, str(tmp_path / "b.csv"))
