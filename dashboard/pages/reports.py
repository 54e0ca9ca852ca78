"""Reports: daily reports with a preview and CSV download; reconciliation runs with their discrepancies."""
from __future__ import annotations

if not __package__:  # executed as a script by Streamlit: make the repository root importable
    import sys
    from pathlib import Path

    _root = str(Path(__file__).resolve().parents[2])
    if _root not in sys.path:
        sys.path.insert(0, _root)

import pandas as pd
import streamlit as st

from dashboard import core, reports_data, ui
from dashboard.fmt import escape_md, fmt_time
from dashboard.reports_data import ReportsUnavailable


def _preview(report: dict, tz: str) -> None:
    f = report["figures"]
    orders, messages = f.get("orders", {}), f.get("messages", {})
    st.caption(escape_md(f"Report for {report['date']} ({report['timezone']}), "
                         f"generated {fmt_time(report['generated_at'], tz)}"))
    a, b, c, d = st.columns(4)
    a.metric("Orders placed", escape_md(orders.get("placed", 0)))
    b.metric("Gross value", escape_md(orders.get("gross_value", "0")))
    c.metric("Confirmed value", escape_md(orders.get("confirmed_value", "0")))
    d.metric("Messages sent", escape_md(messages.get("sent", 0)))
    left, right = st.columns(2)
    with left:
        st.markdown("**Orders by status**")
        st.dataframe(pd.DataFrame([{"status": k, "orders": v} for k, v in orders.get("by_status", {}).items()]),
                     hide_index=True, width="stretch")
        st.markdown("**Queues**")
        per_queue = (f.get("queues") or {}).get("per_queue", {})
        st.dataframe(pd.DataFrame([{"queue": q, **v} for q, v in per_queue.items()]), hide_index=True,
                     width="stretch")
    with right:
        st.markdown("**Wholesalers**")
        st.dataframe(pd.DataFrame(f.get("wholesalers", [])), hide_index=True, width="stretch")
    ui.download_text("Download the report (CSV)", reports_data.report_csv(f),
                     file_name=f"daily-report-{report['date']}.csv", key=f"report_csv-{report['id']}")


def _daily(url: str, tz: str) -> None:
    rows = reports_data.list_daily_reports(url)
    if not rows:
        st.info("No daily reports yet.")
        return
    frame = pd.DataFrame([{**r, "generated_at": fmt_time(r["generated_at"], tz)} for r in rows])
    st.dataframe(frame.drop(columns=["id"]), hide_index=True, width="stretch")
    ids = {r["id"]: r["date"] for r in rows}
    chosen = st.selectbox("Preview", list(ids), format_func=lambda i: ids[i], key="report_pick")
    report = reports_data.get_daily_report(url, chosen)
    if report:
        _preview(report, tz)


def _reconciliation(url: str, tz: str) -> None:
    runs = reports_data.list_reconciliation_runs(url)
    if not runs:
        st.info("No reconciliation runs yet.")
        return
    frame = pd.DataFrame([{**r, "started_at": fmt_time(r["started_at"], tz), "finished_at": fmt_time(r["finished_at"], tz)}
                          for r in runs])
    st.dataframe(frame, hide_index=True, width="stretch")
    labels = {r["id"]: f"run {r['id']} · {fmt_time(r['started_at'], tz)} · {r['discrepancies']} discrepancies"
              for r in runs}
    chosen = st.selectbox("Discrepancies of", list(labels), format_func=lambda i: labels[i], key="recon_pick")
    rows = reports_data.discrepancies(url, chosen)
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    else:
        st.success("Every balance matched its ledger in this run.")


def render() -> None:
    st.title("Reports")
    tz = core.tz()
    url = reports_data.database_url()
    daily, recon = st.tabs(["Daily reports", "Credit reconciliation"])
    try:
        with daily:
            _daily(url, tz)
        with recon:
            _reconciliation(url, tz)
    except ReportsUnavailable as exc:
        ui.info(f"Reports are not available: {exc}")


if __name__ == "__main__":
    from dashboard.shell import page_entry

    page_entry(render)
