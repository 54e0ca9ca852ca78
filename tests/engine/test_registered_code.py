"""Only the processor a queue's table names runs, whatever a job's payload says (plain RQ jobs included)."""
from __future__ import annotations

import sys

import pytest
import redis
from rq import Queue
from rq.serializers import JSONSerializer

from engine import dead_letters, job_ops
from engine.slots import SlotSpec
from engine.worker import Worker
from tests.engine.support import burst_pool, wait_until


def plain_rq(eng, func: str, *args, **kwargs):
    """A job put on the queue by plain RQ, naming any function it likes."""
    q = Queue("whatsapp", connection=redis.Redis.from_url(eng.settings.redis_url), serializer=JSONSerializer)
    return q.enqueue(func, *args, **kwargs)


def drain(eng) -> int:
    return Worker(eng, ["whatsapp"], burst=True).run()


@pytest.mark.parametrize("func, args, marker", [
    ("os.system", lambda m: [f"touch {m}"], "touched"),
    ("shutil.copyfile", lambda m: [__file__, str(m)], "copied"),
])
def test_a_plain_rq_job_naming_another_function_is_dead_lettered_at_once_and_never_runs(
        engine, tmp_path, func, args, marker):
    target = tmp_path / marker
    job = plain_rq(engine, func, *args(target))
    drain(engine)
    assert dead_letters.exists(job.id, engine=engine)
    entry = dead_letters.get_entry(job.id, engine=engine)
    assert entry["runs"] == 1 and entry["error_type"] == "UnregisteredFunctionError"
    message = entry["errors"][0]["message"]
    assert func in message and "tests.engine.jobfuncs.dispatch" in message and "not run" in message
    assert not target.exists()
    assert job_ops.get_job("whatsapp", job.id, engine=engine)["state"] == "dead_lettered"


def test_an_unregistered_function_is_never_imported(engine, tmp_path, monkeypatch):
    marker = tmp_path / "imported"
    (tmp_path / "jq_side_effect_module.py").write_text(
        f"open({str(marker)!r}, 'w').close()\ndef run(**data):\n    return 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    job = plain_rq(engine, "jq_side_effect_module.run")
    drain(engine)
    assert dead_letters.exists(job.id, engine=engine)
    assert "jq_side_effect_module" not in sys.modules and not marker.exists()


@pytest.fixture
def sandbox_domain(tmp_path, monkeypatch):
    """The domain store the real processors write to, and WhatsApp's sandbox provider, from the environment."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'domain.sqlite3'}")
    monkeypatch.setenv("WHATSAPP_PROVIDER", "sandbox")
    from domain.settings import get_settings

    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def finished_result(eng, job_id: str) -> dict:
    wait_until(lambda: job_ops.get_job("whatsapp", job_id, engine=eng)["state"] == "finished", timeout_s=5)
    return job_ops.get_job("whatsapp", job_id, engine=eng)["result"]


# run is the table's processor; arun its async twin, which the queue also accepts
@pytest.mark.parametrize("func", ["processors.whatsapp.arun", "processors.whatsapp.run"])
def test_a_plain_rq_job_for_the_queues_own_processor_runs(processors_engine, sandbox_domain, func):
    job = plain_rq(processors_engine, func, phone="+9779800000000", message="hi from RQ")
    assert drain(processors_engine) == 1
    assert finished_result(processors_engine, job.id)["status"] == "delivered"


def test_a_job_naming_arun_runs_through_the_tables_run_on_thread_slots(processors_engine, sandbox_domain):
    old = plain_rq(processors_engine, "processors.whatsapp.arun", phone="+9779800000000", message="queued before")
    pool = burst_pool(processors_engine, [SlotSpec(("whatsapp",), 2)])
    assert not pool._loops  # the table's run is sync: thread slots, no event loop
    assert finished_result(processors_engine, old.id)["status"] == "delivered"


def test_another_queues_processor_is_not_accepted_on_whatsapp(processors_engine, sandbox_domain):
    job = plain_rq(processors_engine, "processors.order_expiry.run", order_id="42")  # importable, not this queue's
    drain(processors_engine)
    entry = dead_letters.get_entry(job.id, engine=processors_engine)
    assert entry["runs"] == 1 and entry["error_type"] == "UnregisteredFunctionError"
    assert "processors.whatsapp.run" in entry["errors"][0]["message"]


def test_a_test_function_is_reached_through_the_table_not_the_payload(engine_factory, tmp_path):
    eng = engine_factory(queue_overrides={"whatsapp": {"func": "tests.engine.jobfuncs.ok"}})
    eng.conn.flushdb()
    ours = plain_rq(eng, "tests.engine.jobfuncs.ok", tag="a")
    other = plain_rq(eng, "tests.engine.jobfuncs.permanent")  # importable, but not what the table names
    drain(eng)
    assert job_ops.get_job("whatsapp", ours.id, engine=eng)["result"] == {"ok": True, "tag": "a"}
    entry = dead_letters.get_entry(other.id, engine=eng)
    assert entry["error_type"] == "UnregisteredFunctionError"
