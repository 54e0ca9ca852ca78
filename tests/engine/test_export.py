"""CSV exports: no cell splits into two rows (CR and LF are quoted), and no cell runs as a formula."""
from __future__ import annotations

import csv
import io

import pytest

from dashboard import reports_data
from engine import dead_letters, export
from tests.engine.support import put, thread_workers, wait_until

EVIL = ["\r=1+1", "a\r=1+1", "a\n=2+2", "x\r\ny", "=cmd|' /C calc'!A0", "+1", "-1+1", "@SUM(A1)", "\tTAB",
        "\rCR"]


def parse(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


@pytest.mark.parametrize("value", EVIL)
def test_a_cell_with_cr_or_lf_or_a_formula_start_stays_one_inert_cell(value):
    text = export.to_csv([{"a": value, "b": "after"}], ["a", "b"])
    rows = parse(text)
    assert len(rows) == 2 and rows[1][1] == "after", text
    cell = rows[1][0]
    assert cell == ("'" + value if value[0] in export.FORMULA_START else value)


def test_no_physical_line_of_the_csv_starts_a_formula():
    """Even a reader that splits on bare CR or LF sees no line starting with = + - @ outside a quoted cell."""
    text = export.to_csv([{"a": v} for v in EVIL], ["a"])
    assert len(parse(text)) == len(EVIL) + 1
    for raw in text.split("\r\n"):
        assert not raw.startswith(("=", "+", "-", "@")), raw
        if "\r" in raw or "\n" in raw:
            assert raw.startswith('"'), raw  # a quoted cell: the break is inside quotes


def test_a_dead_letter_whose_message_starts_with_cr_is_one_row_in_the_export(engine):
    job = put(engine, "whatsapp", "tests.engine.test_export.fail_with", {"message": "\r=1+1"})
    with thread_workers(engine, ["whatsapp"]):
        wait_until(lambda: dead_letters.exists(job.id, engine=engine), timeout_s=10)
    rows = parse(export.dead_letters_csv(engine=engine))
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1]))
    assert row["id"] == job.id and row["error_message"] == "'\r=1+1"


def fail_with(message: str, **data):
    from engine.errors import PermanentError

    raise PermanentError(message)


def test_the_report_download_uses_the_same_escaping():
    figures = {"date": "2025-03-10", "timezone": "=HYPERLINK(\"http://x\")",
               "orders": {"placed": 1, "gross_value": "-1", "confirmed_value": "0", "expiries": 0, "failures": 0,
                          "fallbacks": 0, "by_status": {"\r=1+1": 1}},
               "wholesalers": [], "messages": {"sent": 0, "failed": 0, "by_status": {}},
               "queues": {"per_queue": {}, "totals": {}}}
    rows = parse(reports_data.report_csv(figures))
    assert rows[1] == ["report", "2025-03-10", "timezone", "'=HYPERLINK(\"http://x\")"]
    assert ["orders", "'\r=1+1", "count", "1"] in rows
    assert ["orders", "all", "gross_value", "'-1"] in rows
    assert all(len(r) == 4 for r in rows)
