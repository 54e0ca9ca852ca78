"""Retailer or phone (linkable as ?retailer=<id> or ?phone=<E.164>): who it is in the domain store, their
latest orders and messages, and every job event recorded under that retailer or phone, in time order."""
from __future__ import annotations

if not __package__:  # executed as a script by Streamlit: make the repository root importable
    import sys
    from pathlib import Path

    _root = str(Path(__file__).resolve().parents[2])
    if _root not in sys.path:
        sys.path.insert(0, _root)

import re

import pandas as pd
import streamlit as st

from dashboard import core, nav, reports_data, search_box, timeline, ui
from dashboard.fmt import escape_md, fmt_time
from dashboard.reports_data import ReportsUnavailable
from domain import support_views

RETAILER_ID = re.compile(r"[0-9]{1,18}")


def _orders(orders: list[dict], tz: str, key: str) -> None:
    if not orders:
        st.caption("No orders.")
        return
    frame = pd.DataFrame([{"order": o["id"], "status": o["status"], "total": o["items_total"],
                           "payment": o["payment_method"], "placed": fmt_time(o["created_at"], tz),
                           "expires": fmt_time(o["expires_at"], tz)} for o in orders])
    picked = st.dataframe(frame, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
                          key=key)
    rows = list(picked.selection.rows) if picked else []
    if rows and rows[0] < len(orders):
        st.switch_page(nav.path(timeline.ORDER_PAGE), query_params={"order": str(orders[rows[0]]["id"])})
    st.caption("Select an order to open its timeline.")


def _retailer(retailer_id: str, tz: str) -> str | None:
    """The retailer's record; returns their phone (for the messages) or None."""
    try:
        view = reports_data.read(lambda s: support_views.retailer_view(s, int(retailer_id)))
    except ReportsUnavailable as exc:
        ui.info(f"The retailer's record cannot be shown: {exc}. Their jobs are below.")
        return None
    if view is None:
        ui.info(f"Retailer {retailer_id} is not in the domain store; the jobs recorded under them are below.")
        return None
    credit = view["credit"]
    a, b, c = st.columns(3)
    a.metric("Retailer", escape_md(view["name"]))
    b.metric("Phone", escape_md(view["phone"]))
    c.metric("Credit available", escape_md(credit["available"] if credit else "no credit account"))
    st.text("Orders by status: " + (", ".join(f"{k} {v}" for k, v in sorted(view["order_counts"].items()))
                                    or "none"))
    st.subheader("Latest orders", anchor=False)
    _orders(view["orders"], tz, key=f"retailer-orders-{retailer_id}")
    st.subheader("Latest WhatsApp messages", anchor=False)
    timeline.messages(view["messages"], tz)
    return view["phone"]


def _phone(phone: str, tz: str) -> None:
    try:
        view = reports_data.read(lambda s: support_views.phone_view(s, phone))
    except ReportsUnavailable as exc:
        ui.info(f"The domain records cannot be shown: {exc}. The jobs are below.")
        return
    who = [f"retailer {r['name']} (id {r['id']})" for r in view["retailers"]]
    who += [f"wholesaler {w['name']} (id {w['id']})" for w in view["wholesalers"]]
    st.text(f"{phone}: " + ("; ".join(who) if who else "no retailer or wholesaler has this number"))
    for r in view["retailers"]:
        st.page_link(nav.path(timeline.RETAILER_PAGE), label=escape_md(f"Retailer {r['name']}"),
                     query_params={"retailer": str(r["id"])}, icon=":material/storefront:")
    st.subheader("Latest WhatsApp messages to this number", anchor=False)
    timeline.messages(view["messages"], tz)


def render() -> None:
    tz = core.tz()
    retailer = (st.query_params.get("retailer") or "").strip()
    phone = (st.query_params.get("phone") or "").strip()
    if retailer:
        st.title("Retailer")
        if not RETAILER_ID.fullmatch(retailer):
            ui.error("A retailer id is a number, e.g. 12.")
            return
        _retailer(retailer, tz)
        st.subheader("Job timeline", anchor=False)
        timeline.key_events("retailer", retailer, tz, key=f"retailer-events-{retailer}")
        return
    if not phone:
        st.title("Retailer or phone")
        st.caption("Search a phone number or a retailer in the sidebar, or open a retailer from an order.")
        return
    st.title("Phone")
    try:
        phone = search_box.to_e164(phone)
    except ValueError as exc:
        ui.error(f"Not a phone number: {exc}")
        return
    _phone(phone, tz)
    st.subheader("Job timeline", anchor=False)
    timeline.key_events("phone", phone, tz, key=f"phone-events-{phone}")


if __name__ == "__main__":
    from dashboard.shell import page_entry

    page_entry(render)
