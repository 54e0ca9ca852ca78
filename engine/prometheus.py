"""Prometheus text exposition of the queue counts, last-hour rates and run/wait percentiles."""
from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from . import alerts
from .app import Engine, resolve
from .monitoring import get_all_metrics, memory
from .schedules import schedules_for

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
        sla_target = GaugeMetricFamily("jq_sla_target_ratio", "Share of starts the SLA asks for", labels=["queue"])
        dead_hour = GaugeMetricFamily("jq_dead_letters_last_hour", "Dead-letter entries added in the last hour",
                                      labels=["queue"])
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
            dead_hour.add_metric([q], qm["dead_lettered_last_hour"])
            if qm["sla"]:
                sla_target.add_metric([q], qm["sla"]["target_ratio"])
                for window in ("hour", "day"):
                    value = qm["sla"][f"compliance_last_{window}"]
                    if value is not None:
                        sla.add_metric([q, window], value)
        yield from (jobs, waiting, workers, paused, limit, used, events, run, wait, sla, sla_target, dead_hour)
        yield from self._server_and_alerts()

    def _server_and_alerts(self):
        """Server memory against its high-water mark, schedule ticks missed and failed, alerts firing."""
        mem = memory(engine=self.eng)
        yield GaugeMetricFamily("jq_server_memory_used_bytes", "Server used_memory (INFO memory)",
                                value=mem["used_bytes"])
        yield GaugeMetricFamily("jq_server_memory_max_bytes", "Server maxmemory (0: no limit)", value=mem["max_bytes"])
        yield GaugeMetricFamily("jq_memory_high_water_ratio", "MEMORY_HIGH_WATER_RATIO: share of maxmemory counted full",
                                value=self.eng.settings.memory_high_water_ratio)
        ticks = alerts.tick_counts(self.eng)
        names = sorted(set(schedules_for(self.eng)) | ticks["missed"].keys() | ticks["failed"].keys())
        for what, help_text in (("missed", "Schedule ticks missed (or claimed and never enqueued)"),
                                ("failed", "Schedule ticks whose call raised or could not be planned")):
            family = CounterMetricFamily(f"jq_schedule_ticks_{what}", help_text, labels=["schedule"])
            for name in names:
                family.add_metric([name], ticks[what].get(name, 0))
            yield family
        firing = GaugeMetricFamily("jq_alerts_firing", "Alert conditions firing now", labels=["kind"])
        counts: dict[str, int] = {}
        for row in alerts.firing(self.eng):
            counts[row["kind"]] = counts.get(row["kind"], 0) + 1
        for kind in (*alerts.CONDITIONS, "schedule_failed"):
            firing.add_metric([kind], counts.get(kind, 0))
        yield firing


def exposition(*, engine: Engine | None = None) -> bytes:
    """The Prometheus text format for a scrape."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(QueueCollector(resolve(engine)))
    return generate_latest(registry)
