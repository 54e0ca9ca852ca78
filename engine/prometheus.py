"""Prometheus text exposition of the queue counts, last-hour rates and run/wait percentiles."""
from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily

from .app import Engine, resolve
from .monitoring import get_all_metrics

EVENTS = ("started", "completed", "failed", "retried", "dead_lettered", "rate_limited", "back_pressure")


class QueueCollector:
    """Reads get_all_metrics() at scrape time; holds no state of its own."""

    def __init__(self, eng: Engine):
        self.eng = eng

    def collect(self):
        m = get_all_metrics(engine=self.eng)
        jobs = GaugeMetricFamily("jq_jobs", "Jobs per queue and state", labels=["queue", "state"])
        waiting = GaugeMetricFamily("jq_waiting_jobs", "Waiting jobs per priority", labels=["queue", "priority"])
        workers = GaugeMetricFamily("jq_workers", "Live workers per queue", labels=["queue"])
        paused = GaugeMetricFamily("jq_paused", "1 when the queue is paused", labels=["queue"])
        limit = GaugeMetricFamily("jq_rate_limit", "Starts allowed per rate window", labels=["queue"])
        used = GaugeMetricFamily("jq_rate_used", "Starts in the current rate window", labels=["queue"])
        events = GaugeMetricFamily("jq_events_last_hour", "Events in the last hour", labels=["queue", "event"])
        run = GaugeMetricFamily("jq_run_seconds", "Run time percentiles, last hour", labels=["queue", "quantile"])
        wait = GaugeMetricFamily("jq_wait_seconds", "Wait (due to start) percentiles, last hour",
                                 labels=["queue", "quantile"])
        sla = GaugeMetricFamily("jq_sla_compliance", "Share of starts within the SLA", labels=["queue", "window"])
        for q, qm in m["queues"].items():
            for state in ("active", "scheduled", "completed", "failed", "dead_lettered"):
                jobs.add_metric([q, state], qm[state])
            jobs.add_metric([q, "waiting"], qm["waiting"]["total"])
            for prio in ("high", "normal", "low"):
                waiting.add_metric([q, prio], qm["waiting"][prio])
            workers.add_metric([q], qm["workers"])
            paused.add_metric([q], 1 if qm["paused"] else 0)
            limit.add_metric([q], qm["rate_limit"])
            used.add_metric([q], qm["rate_used"])
            hour = qm["last_hour"]
            for event in EVENTS:
                events.add_metric([q, event], hour[event])
            for p in (50, 95, 99):
                if hour[f"run_p{p}_ms"] is not None:
                    run.add_metric([q, f"0.{p}"], hour[f"run_p{p}_ms"] / 1000)
                if hour[f"wait_p{p}_ms"] is not None:
                    wait.add_metric([q, f"0.{p}"], hour[f"wait_p{p}_ms"] / 1000)
            if qm["sla"]:
                for window in ("hour", "day"):
                    value = qm["sla"][f"compliance_last_{window}"]
                    if value is not None:
                        sla.add_metric([q, window], value)
        yield from (jobs, waiting, workers, paused, limit, used, events, run, wait, sla)


def exposition(*, engine: Engine | None = None) -> bytes:
    """The Prometheus text format for a scrape."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(QueueCollector(resolve(engine)))
    return generate_latest(registry)
