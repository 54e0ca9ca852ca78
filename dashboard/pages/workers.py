"""Workers: the live workers, their queues, current job and last heartbeat (refreshing)."""
from __future__ import annotations

if not __package__:  # executed as a script by Streamlit: make the repository root importable
    import sys
    from pathlib import Path

    _root = str(Path(__file__).resolve().parents[2])
    if _root not in sys.path:
        sys.path.insert(0, _root)

import pandas as pd
import streamlit as st

from dashboard import core
from dashboard.fmt import fmt_time
from engine import monitoring

COLUMNS = ["name", "queues", "current job", "last heartbeat", "started", "host", "pid"]


def _live() -> None:
    eng, tz = core.get_engine(), core.tz()
    live = monitoring.workers(engine=eng)
    st.metric("Live workers", len(live))
    frame = pd.DataFrame([{"name": w["name"], "queues": ", ".join(w["queues"]), "current job": w["current_job"] or "",
                           "last heartbeat": fmt_time(w["last_heartbeat"], tz), "started": fmt_time(w["started"], tz),
                           "host": w["host"], "pid": w["pid"]} for w in sorted(live, key=lambda w: w["name"])],
                         columns=COLUMNS)
    st.dataframe(frame, hide_index=True, width="stretch")
    per_queue = {q: sum(1 for w in live if q in w["queues"]) for q in eng.table.names}
    idle = [q for q, n in per_queue.items() if n == 0]
    if idle:
        st.warning("No live worker for: " + ", ".join(idle), icon=":material/warning:")
    st.caption(f"Refreshes every {core.refresh_s():g} s.")


def render() -> None:
    st.title("Workers")
    core.live(_live)


if __name__ == "__main__":
    from dashboard.shell import page_entry

    page_entry(render)
