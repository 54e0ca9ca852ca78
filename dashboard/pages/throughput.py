"""Throughput & latency: completions, failed runs, retries and dead-letterings per queue, run and wait
time percentiles, over 1 h, 24 h, 7 d or 90 d; the CSV holds exactly the rows charted."""
from __future__ import annotations

if not __package__:  # executed as a script by Streamlit: make the repository root importable
    import sys
    from pathlib import Path

    _root = str(Path(__file__).resolve().parents[2])
    if _root not in sys.path:
        sys.path.insert(0, _root)

from datetime import datetime, timedelta, timezone

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import core, ui
from dashboard.fmt import zone
from engine import export, metrics

WINDOWS = {"1 h": timedelta(hours=1), "24 h": timedelta(hours=24), "7 d": timedelta(days=7),
           "90 d": timedelta(days=90)}
RESOLUTIONS = {"1 h": "m", "24 h": "m", "7 d": "h", "90 d": "d"}  # at most ~1,500 points per queue
COUNTS = {"completed": "Completions", "failed": "Failed runs", "retried": "Retries",
          "dead_lettered": "Dead-letterings"}
RESOLUTION_NAMES = {"m": "minute", "h": "hour", "d": "day"}


def history_rows(eng, queues: list[str], window: timedelta, tz: str, resolution: str | None = None,
                 end: datetime | None = None) -> list[dict]:
    """One row per queue and bucket, with the bucket time in zone `tz`: what is charted and exported."""
    end = end or datetime.now(timezone.utc)
    start = end - window
    rows = []
    for q in queues:
        for row in metrics.history(q, start=start, end=end, resolution=resolution, engine=eng):
            rows.append({**row, "time": row["time"].astimezone(zone(tz))})
    return rows


COLORS = ("#2563eb", "#f97316", "#16a34a", "#9333ea", "#dc2626", "#0891b2", "#ca8a04")
DASHES = {50: "solid", 95: "dash", 99: "dot"}


def _series(rows: list[dict], queues: list[str]) -> dict[str, tuple[list[str], list[dict]]]:
    """Per queue: the bucket times as local wall-clock text (what the axis shows) and the rows."""
    out: dict[str, tuple[list[str], list[dict]]] = {q: ([], []) for q in queues}
    for r in rows:
        times, mine = out[r["queue"]]
        times.append(r["time"].strftime("%Y-%m-%d %H:%M"))
        mine.append(r)
    return out


def _figure(title: str, y_title: str) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(title=title, height=330, margin=dict(l=10, r=10, t=40, b=10), yaxis_title=y_title,
                      legend=dict(orientation="h", yanchor="top", y=-0.28), hovermode="x unified")
    return fig


def _counts_chart(series: dict, column: str, title: str) -> None:
    fig = _figure(title, "per bucket")
    for i, (queue, (times, mine)) in enumerate(series.items()):
        fig.add_trace(go.Scatter(x=times, y=[r[column] for r in mine], name=queue, mode="lines",
                                 line=dict(color=COLORS[i % len(COLORS)], width=1.5)))
    st.plotly_chart(fig, width="stretch", key=f"chart-{column}")


def _latency_chart(series: dict, kind: str, title: str) -> None:
    fig = _figure(title, "ms")
    drawn = False
    for i, (queue, (times, mine)) in enumerate(series.items()):
        for p in metrics.PERCENTILES:
            values = [r[f"{kind}_p{p}_ms"] for r in mine]
            if all(v is None for v in values):
                continue
            drawn = True
            fig.add_trace(go.Scatter(x=times, y=values, name=f"{queue} p{p}", mode="lines+markers",
                                     marker=dict(size=4), connectgaps=False,
                                     line=dict(color=COLORS[i % len(COLORS)], dash=DASHES[p], width=1.5)))
    if not drawn:
        st.caption(f"{title}: no runs in this window.")
        return
    st.plotly_chart(fig, width="stretch", key=f"chart-{kind}")


def render() -> None:
    st.title("Throughput & latency")
    eng, tz = core.get_engine(), core.tz()
    left, right = st.columns([1, 3])
    label = left.segmented_control("Window", list(WINDOWS), default="1 h", key="tp_window") or "1 h"
    queues = right.multiselect("Queues", eng.table.names, default=eng.table.names, key="tp_queues")
    if not queues:
        st.info("Choose at least one queue.")
        return
    window, resolution = WINDOWS[label], RESOLUTIONS[label]
    rows = history_rows(eng, queues, window, tz, resolution)
    st.caption(f"One point per {RESOLUTION_NAMES[resolution]}; times in {tz}.")
    series = _series(rows, queues)
    counts_tab, latency_tab = st.tabs(["Counts", "Latency"])
    with counts_tab:
        left, right = st.columns(2)
        for i, (column, title) in enumerate(COUNTS.items()):
            with (left if i % 2 == 0 else right):
                _counts_chart(series, column, title)
    with latency_tab:
        _latency_chart(series, "run", "Run time p50 / p95 / p99 (dashes: p95, dots: p99)")
        _latency_chart(series, "wait", "Wait time p50 / p95 / p99 (dashes: p95, dots: p99)")
    totals = pd.DataFrame(rows).groupby("queue", sort=False)[["started", *COUNTS]].sum().reset_index()
    st.dataframe(totals.rename(columns=COUNTS), hide_index=True, width="stretch")
    ui.download_text("Download CSV (the data charted)", export.to_csv(rows, export.HISTORY_COLUMNS),
                     file_name=f"throughput-{label.replace(' ', '')}.csv", key="tp_csv")


if __name__ == "__main__":
    from dashboard.shell import page_entry

    page_entry(render)
