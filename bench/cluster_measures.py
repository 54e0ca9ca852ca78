"""What the cluster failover scenario (bench/cluster_failover.py) measures beside the load: which master a
slot is on, what WAIT costs an enqueue, whether the reads of every master survive a promotion."""
from __future__ import annotations

import time
from typing import Any

from bench.cluster_failover_report import percentile
from engine import deadline, monitoring
from engine.app import Engine
from engine.enqueue import EnqueueRequest, enqueue
from engine.settings import Settings
from bench.scenario.valkey_cluster import Cluster, Node


def slot_owner(cluster: Cluster, slot: int) -> Node:
    for start, end, master, *_replicas in cluster.masters[0].client.execute_command("CLUSTER", "SLOTS"):
        if start <= slot <= end:
            return next(n for n in cluster.masters if n.port == int(master[1]))
    raise LookupError(f"no master serves slot {slot}")


def reads_across_masters(eng: Engine) -> str:
    """What reads every master (the memory view, the API's pre-write check) does right after a promotion,
    in this producer process whose slot map still names the dead master: "ok" or the error."""
    try:
        monitoring.memory(engine=eng)
        with deadline.budget(2.0):
            deadline.before_write(eng)
        return "ok"
    except Exception as exc:  # noqa: BLE001 - reported
        return f"{type(exc).__name__}: {exc}"


def wait_cost(settings: dict[str, Any], n: int = 1000) -> dict[str, float | None]:
    """Sequential enqueues into one queue before the load, without and with WAIT for one replica: ms each."""
    out: dict[str, float | None] = {}
    for wanted in (0, 1):
        eng = Engine.from_settings(Settings(**{**settings, "enqueue_wait_replicas": wanted}))
        took = []
        for i in range(n):
            started = time.perf_counter()
            enqueue(eng, EnqueueRequest("dailyReports", {}, job_id=f"cost-{wanted}-{i}"))
            took.append((time.perf_counter() - started) * 1000)
        out[f"wait{wanted}_p50_ms"], out[f"wait{wanted}_p99_ms"] = percentile(took, 50), percentile(took, 99)
        eng.conn.close()
    return out
