"""Queue controls: pause, resume and the rate limit of each queue (read by every worker on each dequeue)."""
from __future__ import annotations

if not __package__:  # executed as a script by Streamlit: make the repository root importable
    import sys
    from pathlib import Path

    _root = str(Path(__file__).resolve().parents[2])
    if _root not in sys.path:
        sys.path.insert(0, _root)

import pandas as pd
import streamlit as st

from dashboard import core, ui
from engine import control


def _controls(queue: str, state: dict) -> None:
    with st.container(border=True, key=f"queue-{queue}"):
        a, b, c, d = st.columns([2, 1, 2, 1], vertical_alignment="bottom")
        a.markdown(f"**{queue}** · {'paused' if state['paused'] else 'running'}")
        if state["paused"]:
            if b.button("Resume", key=f"q-resume-{queue}", icon=":material/play_arrow:"):
                ui.act(lambda: core.operator().resume(queue), f"Queue {queue} resumed.")
                st.rerun()
        elif b.button("Pause", key=f"q-pause-{queue}", icon=":material/pause:"):
            ui.act(lambda: core.operator().pause(queue), f"Queue {queue} paused: running jobs finish, none start.")
            st.rerun()
        limit = c.number_input(f"Starts per {state['rate_window_s']:g} s", min_value=1, max_value=1_000_000,
                               value=int(state["rate_limit"]), step=1, key=f"q-limit-{queue}")
        if d.button("Set limit", key=f"q-setlimit-{queue}"):
            ui.act(lambda: core.operator().set_rate_limit(queue, int(limit)),
                   f"Queue {queue}: at most {int(limit)} starts per {state['rate_window_s']:g} s.")
            st.session_state.pop(f"q-limit-{queue}", None)
            st.rerun()


def render() -> None:
    st.title("Queue controls")
    eng = core.get_engine()
    states = {q: control.state(q, engine=eng) for q in eng.table.names}
    st.dataframe(pd.DataFrame([{"queue": q, "paused": s["paused"], "rate limit": s["rate_limit"],
                                "window s": s["rate_window_s"], "starts in window": s["rate_used"],
                                "table limit": eng.table[q].rate_limit_per_min,
                                "back-pressure s": s["back_pressure_s"]} for q, s in states.items()]),
                 hide_index=True, width="stretch")
    if core.can_write():
        for q, s in states.items():
            _controls(q, s)


if __name__ == "__main__":
    from dashboard.shell import page_entry

    page_entry(render)
