"""Order timeline (linkable as ?order=<id>): the order's record from the domain store, its messages, and
every job event that touched it in time order, each linking to the job's page."""
from __future__ import annotations

if not __package__:  # executed as a script by Streamlit: make the repository root importable
    import sys
    from pathlib import Path

    _root = str(Path(__file__).resolve().parents[2])
    if _root not in sys.path:
        sys.path.insert(0, _root)

import re
from datetime import datetime, timezone

import pandas as pd
import streamlit as st

from dashboard import core, nav, reports_data, timeline, ui
from dashboard.fmt import escape_md, fmt_age, fmt_time, to_datetime
from dashboard.reports_data import ReportsUnavailable
from domain import support_views

ORDER_ID = re.compile(r"[0-9]{1,18}")


def _chain(view: dict, tz: str) -> None:
    st.markdown("**Wholesalers offered, in order (fallback chain)**")
    st.dataframe(pd.DataFrame([{"wholesaler": c["wholesaler"].get("name", ""),
                                "phone": c["wholesaler"].get("phone", ""), "offered": fmt_time(c["assigned_at"], tz),
                                "gave up": fmt_time(c["failed_at"], tz),
                                "current": "yes" if c["current"] else ""} for c in view["chain"]],
                              columns=["wholesaler", "phone", "offered", "gave up", "current"]),
                 hide_index=True, width="stretch")


def _relative(value: str | None) -> str:
    """'in 1 h 20 min' or '3 d 2 h ago' from an ISO time."""
    when = to_datetime(value)
    if when is None:
        return "–"
    seconds = (when - datetime.now(timezone.utc)).total_seconds()
    return f"in {fmt_age(seconds)}" if seconds >= 0 else f"{fmt_age(-seconds)} ago"


def _record(order_id: str, tz: str) -> None:
    try:
        view = reports_data.read(lambda s: support_views.order_view(s, int(order_id)))
    except ReportsUnavailable as exc:
        ui.info(f"The order's record cannot be shown: {exc}. Its jobs are below.")
        return
    if view is None:
        ui.info(f"Order {order_id} is not in the domain store; the jobs recorded under it are below.")
        return
    retailer, wholesaler, hold = view["retailer"] or {}, view["wholesaler"] or {}, view["credit_hold"]
    failed = sum(1 for m in view["messages"] if m["status"] == "failed")
    a, b, c, d = st.columns(4)
    a.metric("Status", escape_md(view["status"]))
    b.metric("Total", escape_md(f"{view['items_total']} {view['payment_method']}"))
    expires = _relative(view["expires_at"])
    c.metric("Expired" if expires.endswith(" ago") else "Expires", escape_md(expires),
             help=fmt_time(view["expires_at"], tz))
    d.metric("Messages", f"{len(view['messages'])}", delta=f"{failed} failed" if failed else None,
             delta_color="inverse", delta_arrow="off")
    st.text(f"Retailer: {retailer.get('name', '–')}   ·   current wholesaler: {wholesaler.get('name', 'none')}")
    left, right = st.columns(2)
    with left:
        timeline.record({
            "payment": view["payment_method"], "total": view["items_total"], "items": view["item_count"],
            "placed": fmt_time(view["created_at"], tz), "expires": fmt_time(view["expires_at"], tz),
            "confirmed": fmt_time(view["confirmed_at"], tz), "closed": fmt_time(view["closed_at"], tz),
            "close reason": view["close_reason"], "fallbacks": view["fallback_count"],
            "retailer": f"{retailer.get('name', '')} (id {retailer.get('id', '?')}, {retailer.get('phone', '')})",
            "credit hold": (f"{hold['amount']} {hold['status']} on account {hold['account_id']}" if hold
                            else "none (cash order)")})
        if retailer:
            st.page_link(nav.path(timeline.RETAILER_PAGE), label="The retailer's orders and jobs",
                         icon=":material/storefront:", query_params={"retailer": str(retailer["id"])})
    with right:
        _chain(view, tz)
    st.subheader("WhatsApp messages", anchor=False)
    timeline.messages(view["messages"], tz, link_orders=False)


def render() -> None:
    st.title("Order timeline")
    tz = core.tz()
    wanted = (st.query_params.get("order") or "").strip()
    with st.form("order_open", border=False):
        x, y = st.columns([3, 1], vertical_alignment="bottom")
        typed = x.text_input("Order id", value=wanted, key="order_input")
        if y.form_submit_button("Open") and typed.strip() != wanted:
            st.query_params["order"] = typed.strip()
            st.rerun()
    if not wanted:
        st.caption("Enter an order id, or use the search box in the sidebar.")
        return
    if not ORDER_ID.fullmatch(wanted):
        ui.error("An order id is a number, e.g. 4242.")
        return
    _record(wanted, tz)
    st.subheader("Job timeline", anchor=False)
    timeline.key_events("order", wanted, tz, key=f"order-events-{wanted}")


if __name__ == "__main__":
    from dashboard.shell import page_entry

    page_entry(render)
