"""Dead letters (filters, selection, bulk and per-entry actions, stats, CSV) and Failures (groups)."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

from engine import audit, dead_letters, export, failure_groups
from engine.dead_letters import Filter
from tests.dashboard.conftest import buttons, confirm, dead, no_exception, texts, unescape, values

DL = "pages/dead_letters.py"
FAIL = "pages/failures.py"
MUTATING = {"Retry", "Delete", "Confirm", "Retry this entry", "Delete this entry"}


def _select(at, rows: list[int]):
    table = at.dataframe[1]  # [0] is the per-queue statistics
    at.session_state[table.key] = {"selection": {"rows": rows, "columns": [], "cells": []}}
    return at.run()


def test_empty_dead_letter_queue(app):
    at = no_exception(app.new(page=DL))
    stats = at.dataframe[0].value
    assert list(stats["entries"]) == [0] * 5 and list(stats["oldest"]) == ["–"] * 5
    assert at.dataframe[1].value.empty
    assert all(at.button(key=k).disabled for k in ("dl-retry-selected-ask", "dl-delete-selected-ask",
                                                   "dl-retry-all-ask", "dl-delete-all-ask"))
    assert [b.label for b in at.get("download_button")] == ["Download CSV (all matching)"]


def test_stats_list_and_filters(app, seeded):
    at = no_exception(app.new(page=DL))
    stats = at.dataframe[0].value.set_index("queue")
    assert stats.loc["whatsapp", "entries"] == 2 and stats.loc["orderExpiry", "entries"] == 1
    assert stats.loc["whatsapp", "oldest"].endswith(" s") and stats.loc["whatsapp", "added last hour"] == 2
    assert len(at.dataframe[1].value) == 3
    at.selectbox(key="dl_queue").set_value("orderExpiry").run()
    table = at.dataframe[1].value
    assert list(table["id"]) == seeded["dead_order"] and table.iloc[0]["runs"] == 3
    at.selectbox(key="dl_queue").set_value("(all)").run()
    group = failure_groups.list_groups()[0]
    assert group["type"] == "RuntimeError"
    at.selectbox(key="dl_group").set_value(group["signature"]).run()
    assert list(at.dataframe[1].value["id"]) == seeded["dead_order"]
    at.selectbox(key="dl_group").set_value("(all)").run()
    at.selectbox(key="dl_period").set_value("Last hour").run()
    assert len(at.dataframe[1].value) == 3
    at.selectbox(key="dl_period").set_value("Between dates").run()
    at.date_input(key="dl_dates").set_value((datetime(2020, 1, 1).date(), datetime(2020, 1, 2).date())).run()
    no_exception(at)
    assert at.dataframe[1].value.empty


def test_group_link_preselects_the_filter(app, seeded):
    sig = next(g["signature"] for g in failure_groups.list_groups() if g["type"] == "PermanentError")
    at = no_exception(app.new(page=DL, query={"group": sig}))
    assert sorted(at.dataframe[1].value["id"]) == sorted(seeded["dead_whatsapp"])


def test_retry_selected_rows(app, seeded):
    at = _select(app.new(page=DL), [0, 2])
    chosen = [at.dataframe[1].value.iloc[i]["id"] for i in (0, 2)]
    assert at.button(key="dl-retry-selected-ask").label == "Retry selected (2)"
    confirm(at, "dl-retry-selected")
    no_exception(at)
    assert not any(dead_letters.exists(i) for i in chosen)
    assert "Retried 2 of 2 selected." in values(at.success)
    entry = audit.list_entries(action="bulk_retry")[0]
    assert entry["actor"] == "olga" and sorted(entry["details"]["ids"]) == sorted(chosen)
    assert len(at.dataframe[1].value) == 1  # the table shows what is left, selection forgotten
    assert at.button(key="dl-retry-selected-ask").label == "Retry selected (0)"


def test_delete_selected_rows(app, seeded):
    at = _select(app.new(page=DL), [1])
    chosen = at.dataframe[1].value.iloc[1]["id"]
    confirm(at, "dl-delete-selected")
    assert not dead_letters.exists(chosen) and "Deleted 1 of 1 selected." in values(at.success)
    assert audit.list_entries(action="bulk_delete")[0]["details"]["ids"] == [chosen]


def test_retry_and_delete_everything_matching_the_filter(app, seeded):
    at = app.new(page=DL)
    at.selectbox(key="dl_queue").set_value("whatsapp").run()
    assert at.button(key="dl-retry-all-ask").label == "Retry all 2 matching"
    confirm(at, "dl-retry-all")
    assert "Retried 2 entries matching the filter." in values(at.success)
    assert dead_letters.stats()["whatsapp"]["count"] == 0 and dead_letters.stats()["orderExpiry"]["count"] == 1
    assert audit.list_entries(action="bulk_retry")[0]["details"]["filter"] == {"queue": "whatsapp"}
    at.selectbox(key="dl_queue").set_value("orderExpiry").run()
    confirm(at, "dl-delete-all")
    assert dead_letters.stats()["orderExpiry"]["count"] == 0


def test_inspect_one_entry_with_its_errors_and_retry_it(app, seeded):
    at = no_exception(app.new(page=DL))
    at.selectbox(key=next(s.key for s in at.selectbox if s.key.startswith("dl_inspect"))).set_value(
        seeded["dead_order"][0]).run()
    assert sum("Traceback" in c.value for c in at.code) == 3
    assert '"order_id": 77' in at.json[0].value.replace(":77", ": 77")
    confirm(at, "dl-entry-retry")
    assert not dead_letters.exists(seeded["dead_order"][0])
    assert audit.list_entries(action="dead_letter_retry")[0]["target"] == seeded["dead_order"][0]


def test_entry_delete_and_open_job_page(app, seeded):
    at = app.new(page=DL)
    first = at.dataframe[1].value.iloc[0]["id"]
    at.button(key="dl_open_job").click().run()
    assert at.query_params["job"] == first and any(first in c.value for c in at.code)
    at = app.new(page=DL)
    confirm(at, "dl-entry-delete")
    assert not dead_letters.exists(first)


def test_dead_letter_csv_export_matches_the_filter(seeded):
    eng = seeded["engine"]
    rows = list(csv.DictReader(io.StringIO(export.dead_letters_csv(Filter(queue="whatsapp"), engine=eng))))
    assert sorted(r["id"] for r in rows) == sorted(seeded["dead_whatsapp"])
    assert list(rows[0]) == export.DEAD_LETTER_COLUMNS and rows[0]["error_type"] == "PermanentError"
    since = datetime.now(timezone.utc) + timedelta(minutes=1)
    assert export.dead_letters_csv(Filter(since=since), engine=eng).count("\n") == 1  # header only


def test_viewer_can_filter_and_export_but_not_act(app, seeded):
    at = no_exception(app.new("vera", page=DL))
    assert len(at.dataframe[1].value) == 3
    assert not MUTATING & set(buttons(at)) and not any("Retry" in b or "Delete" in b for b in buttons(at))
    assert [b.label for b in at.get("download_button")] == ["Download CSV (all matching)"]


# -- Failures -----------------------------------------------------------------------------------
def test_failures_empty(app):
    at = no_exception(app.new(page=FAIL))
    assert "No failures recorded." in texts(at)


def test_failure_groups_with_counts_times_and_samples(app, seeded):
    dead(seeded["engine"], "vendorFallback", 1)  # same function, same message: the group spans two queues
    at = no_exception(app.new(page=FAIL))
    table = at.dataframe[0].value
    assert set(table["type"]) == {"PermanentError", "RuntimeError"}
    permanent = table[table["type"] == "PermanentError"].iloc[0]
    assert permanent["failures"] == 3 and permanent["dead letters"] == 3
    assert permanent["message"] == "recipient <n> is invalid" and permanent["first seen"].endswith("UTC")
    runtime = table[table["type"] == "RuntimeError"].iloc[0]
    assert runtime["failures"] == 3 and runtime["dead letters"] == 1  # 3 failed runs, one job
    sig = permanent["signature"]
    block = at.container(key=f"group-{sig}")
    assert "queues: vendorFallback (1), whatsapp (2)" in texts(block)
    assert len([b for b in block.button if b.key.startswith("sample-")]) == 3
    assert [b.label for b in at.get("download_button")] == ["Download CSV"]


def test_sample_job_opens_its_page_on_the_right_queue(app, seeded):
    vf = dead(seeded["engine"], "vendorFallback", 1)[0]
    at = app.new(page=FAIL)
    sig = next(g["signature"] for g in failure_groups.list_groups() if g["type"] == "PermanentError")
    at.button(key=f"sample-{sig}-{vf}").click().run()
    no_exception(at)
    assert at.query_params["queue"] == "vendorFallback" and at.query_params["job"] == vf
    assert at.title[0].value == "Jobs"


def test_show_group_dead_letters_switches_page_with_the_filter(app, seeded):
    at = app.new(page=FAIL)
    sig = failure_groups.list_groups()[0]["signature"]
    at.button(key=f"show-{sig}").click().run()
    assert at.title[0].value == "Dead letters" and at.query_params["group"] == sig
    assert at.selectbox(key="dl_group").value == sig


def test_retry_and_delete_a_group(app, seeded):
    groups = {g["type"]: g["signature"] for g in failure_groups.list_groups()}
    at = app.new(page=FAIL)
    confirm(at, f"group-retry-{groups['PermanentError']}")
    no_exception(at)
    assert not any(dead_letters.exists(i) for i in seeded["dead_whatsapp"])
    assert any("Retried 2 dead letters of group" in v for v in values(at.success))
    assert audit.list_entries(action="bulk_retry")[0]["details"]["filter"] == {"group": groups["PermanentError"]}
    confirm(at, f"group-delete-{groups['RuntimeError']}")
    assert not dead_letters.exists(seeded["dead_order"][0])
    assert "Deleted 1 dead letters of group" in unescape(at.success[0].value)


def test_viewer_sees_groups_without_actions(app, seeded):
    at = no_exception(app.new("vera", page=FAIL))
    assert not any(b.startswith(("Retry", "Delete")) for b in buttons(at))
    assert len(at.dataframe[0].value) == 2
