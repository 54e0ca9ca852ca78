"""deploy/prometheus/alerts.yml: valid for promtool, its unit tests pass, and it reads only metrics we expose."""
from __future__ import annotations

import subprocess

import yaml

from tests.debian import ensure_tool
from tests.deploy.conftest import DEPLOY, metric_names

RULES = DEPLOY / "prometheus" / "alerts.yml"
RULE_TESTS = DEPLOY / "prometheus" / "alerts.test.yml"
# The conditions engine/alerts.py sends to the webhook, each with its rule.
SAME_CONDITIONS = {"JobsDeadLettered", "DeadLetterGrowth", "SLABreach", "QueueWithoutWorkers", "ScheduleTickMissed",
                   "ScheduleTickFailed", "ServerMemoryHigh"}


def promtool() -> str:
    return ensure_tool("prometheus", "promtool")


def rules() -> list[dict]:
    return [r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]


def test_promtool_accepts_the_rules_and_their_unit_tests_pass():
    tool = promtool()
    checked = subprocess.run([tool, "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(SAME_CONDITIONS)} rules found" in checked.stdout
    tested = subprocess.run([tool, "test", "rules", RULE_TESTS.name], cwd=RULE_TESTS.parent, capture_output=True,
                            text=True, timeout=60)
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_the_rules_cover_every_condition_the_webhook_gets():
    assert {r["alert"] for r in rules()} == SAME_CONDITIONS
    assert all(r["annotations"]["summary"] and r["labels"]["severity"] in ("warning", "critical") for r in rules())


def test_every_metric_the_rules_read_is_exposed_by_the_api(exposed):
    used = {name: metric_names(r["expr"]) for r in rules() for name in [r["alert"]]}
    assert all(used.values()), used
    missing = {alert: names - exposed for alert, names in used.items() if names - exposed}
    assert not missing, f"rules read metrics /metrics does not expose: {missing}"


def test_metric_names_are_read_from_promql_without_labels_functions_or_keywords():
    expr = 'sum by (queue) (rate(jq_a_total{state="x"}[5m])) > on(queue) group_left() jq_b * 2 and jq_c == 0'
    assert metric_names(expr) == {"jq_a_total", "jq_b", "jq_c"}
