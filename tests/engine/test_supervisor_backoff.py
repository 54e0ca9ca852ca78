"""The supervisor's restart delay grows while a child keeps dying and starts over once it ran healthily."""
from __future__ import annotations

import sys
import threading
import time

from engine.supervisor import Child, Supervisor
from tests.engine.support import wait_until

# Dies at once on its first three starts, then runs 1.5 s (healthy: healthy_s is 1 s) and dies again.
CHILD = """
import sys, time
path = sys.argv[1]
with open(path, "a") as fh:
    fh.write(f"{time.monotonic()}\\n")
runs = len(open(path).read().splitlines())
if runs == 4:
    time.sleep(1.5)
sys.exit(1)
"""


def test_restart_delay_resets_after_a_healthy_run(tmp_path):
    starts = tmp_path / "starts"
    child = Child("flaky", [sys.executable, "-c", CHILD, str(starts)])
    sup = Supervisor([child], grace_s=5, healthy_s=1.0)

    def stop_after_fifth_start():
        wait_until(lambda: starts.exists() and len(starts.read_text().splitlines()) >= 5, timeout_s=30)
        sup.stop()

    threading.Thread(target=stop_after_fifth_start, daemon=True).start()
    started = time.monotonic()
    sup.run()
    times = [float(t) for t in starts.read_text().splitlines()]
    assert len(times) >= 5 and time.monotonic() - started < 30
    # deaths 1-3 waited 0.5, 1 and 2 s; after the healthy 4th run the delay is back to 0.5 s (not 4 s)
    assert child.restarts == 1
    assert times[4] - times[3] < 1.5 + 1.5
