"""Property-based conformance: schemathesis drives every operation of the OpenAPI document against
the app over the real test server (seeded with jobs and dead letters), authenticated with a write
key, and every check schemathesis offers must pass.

The schema is loaded at import time from an app whose engine is swapped for the real, seeded one
by a module fixture (schemathesis' lazy `from_fixture` loader does not work with pytest 9).
"""
from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings
import schemathesis
from schemathesis.checks import CHECKS, load_all_checks

from api_shim import create_app
from engine import dead_letters
from engine.app import Engine
from engine.settings import Settings
from tests.api_shim.conftest import API_KEYS, WRITE_KEY
from tests.conftest import make_engine
from tests.engine.support import put, thread_workers, wait_until

load_all_checks()
ALL_CHECKS = CHECKS.get_all()

app = create_app(Engine.from_settings(Settings(redis_url="redis://127.0.0.1:1"), check=False), api_keys=API_KEYS)
# Fix and resend (POST .../{id}/retry with {"data": ...}) checks the data against the schema of the job's own
# queue, which OpenAPI cannot tie to a path id: data that is a valid object is still rightly refused with 422.
FIX_AND_RESEND = {"include-path-regex": r"\}/retry$", "checks": {"positive_data_acceptance": {
    "expected-statuses": ["2xx", "401", "403", "404", "409", "422"]}}}
schema = schemathesis.openapi.from_asgi("/openapi.json", app,
                                        config=schemathesis.Config.from_dict({"operations": [FIX_AND_RESEND]}))
schema.config.update(headers={"X-API-Key": WRITE_KEY, "Authorization": f"Bearer {WRITE_KEY}"})
schema.config.generation.update(max_examples=int(os.environ.get("API_FUZZ_EXAMPLES", "8")))


@pytest.fixture(scope="module")
def seeded_engine(redis_url):
    """Queued, scheduled and finished jobs, and dead letters in two queues; installed in the app."""
    engine = make_engine(redis_url)
    engine.conn.flushdb()
    put(engine, "whatsapp", "ok", job_id="wa-queued-1")
    put(engine, "orderExpiry", "ok", job_id="oe-later-1", delay=3600)
    doomed = [put(engine, "whatsapp", "permanent", job_id=f"wa-dead-{i}") for i in range(2)]
    doomed.append(put(engine, "vendorFallback", "permanent", job_id="vf-dead-1"))
    put(engine, "dailyReports", "ok", job_id="dr-done-1")
    with thread_workers(engine, ["whatsapp", "vendorFallback", "dailyReports"]):
        wait_until(lambda: all(dead_letters.exists(j.id, engine=engine) for j in doomed), timeout_s=10)
    previous = app.state.engine
    app.state.engine = engine
    yield engine
    app.state.engine = previous


@schema.parametrize()
def test_every_operation_passes_every_schemathesis_check(case, seeded_engine):
    case.call_and_validate(checks=ALL_CHECKS)


APIWorkflow = schema.as_state_machine()


class Workflow(APIWorkflow):
    """Chains of calls along the links schemathesis infers (create a job -> read it -> delete it ...),
    so the stateful checks (use after free, resource availability) run too."""

    def validate_response(self, response, case, additional_checks=None, **kwargs):
        case.validate_response(response, checks=ALL_CHECKS, transport_kwargs=kwargs or None, recorder=self.recorder)


def test_stateful_workflows_pass_every_schemathesis_check(seeded_engine):
    Workflow.run(settings=settings(max_examples=10, stateful_step_count=6, deadline=None,
                                   suppress_health_check=list(HealthCheck)))
