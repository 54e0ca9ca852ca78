"""deploy/grafana/jobqueue.json: a Grafana dashboard whose every query names metrics /metrics exposes."""
from __future__ import annotations

import json
import re

from tests.deploy.conftest import DEPLOY, metric_names

DASHBOARD = DEPLOY / "grafana" / "jobqueue.json"


def load() -> dict:
    return json.loads(DASHBOARD.read_text())


def queries(dash: dict) -> list[str]:
    out = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
    for var in dash["templating"]["list"]:
        if var["type"] == "query":
            out += re.findall(r"label_values\((\w+)", var["query"])
    return out


def test_the_dashboard_parses_and_has_the_panels_asked_for():
    dash = load()
    assert dash["uid"] == "jobqueue" and dash["schemaVersion"] >= 30
    titles = " | ".join(p["title"] for p in dash["panels"]).lower()
    for wanted in ("throughput", "failures", "run time percentiles", "wait percentiles", "dead letters",
                   "workers per queue"):
        assert wanted in titles, wanted
    assert all(p["targets"] and all(t["expr"] for t in p["targets"]) for p in dash["panels"])
    assert len({p["id"] for p in dash["panels"]}) == len(dash["panels"])


def test_every_metric_the_dashboard_queries_is_exposed_by_the_api(exposed):
    dash = load()
    used = set().union(*(metric_names(q) for q in queries(dash)))
    assert {"jq_events_last_hour", "jq_run_seconds", "jq_wait_seconds", "jq_workers", "jq_jobs"} <= used
    assert not used - exposed, f"queries name metrics /metrics does not expose: {used - exposed}"
