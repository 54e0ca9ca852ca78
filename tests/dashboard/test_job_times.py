"""The job page formats every stored time defensively: a time Python cannot represent is shown as
it is stored, never as a ValueError."""
from __future__ import annotations

import pytest

from dashboard import fmt
from engine import keys
from tests.dashboard.conftest import no_exception, texts
from tests.engine.support import put

JOBS = "pages/jobs.py"


@pytest.mark.parametrize("value", [253402300800000 + 86_400_000, 10 ** 18, -10 ** 18, float("inf"),
                                   "9999-12-31T23:59:59-23:59", "not a time", "10000-01-01T00:00:00"])
def test_fmt_time_never_raises(value):
    for tz in ("UTC", "Asia/Kathmandu", "Pacific/Kiritimati", "Etc/GMT+12"):
        assert isinstance(fmt.fmt_time(value, tz), str)


def test_the_last_representable_second_in_a_zone_east_of_utc_is_shown_as_stored():
    assert fmt.fmt_time("9999-12-31T23:59:59+00:00", "Asia/Kathmandu") == "9999-12-31T23:59:59+00:00"


def test_a_job_with_times_python_cannot_represent_opens_without_an_error(app, dash):
    job = put(dash, "whatsapp", "ok", delay=60)
    dash.conn.hset(keys.job(job.id), mapping={"jq_due_ms": 253402300800000 + 86_400_000, "jq_started_ms": 10 ** 18,
                                              "jq_ended_ms": -10 ** 18})
    at = no_exception(app.new(page=JOBS, query={"queue": "whatsapp", "job": job.id}))
    assert not at.error, [e.value for e in at.error]
    assert job.id in texts(at) and "ValueError" not in texts(at)
    listing = no_exception(app.new(page=JOBS, query={"queue": "whatsapp"}))
    assert not listing.error
