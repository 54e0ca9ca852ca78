"""ENGINE_HOOKS: one hooks class, loaded once per engine, used by workers, the reaper and the scheduler."""
import json
import os
import signal
import subprocess
import sys

import pytest

from engine import dead_letters, keys
from engine.errors import ConfigError
from engine.hooks import Hooks, load_hooks
from engine.scheduler import Scheduler
from engine.worker import Worker
from tests.engine.hook_recorder import RecordFinalFailures
from tests.engine.support import ROOT, put, spawn_worker, wait_until, worker_env

RECORDER = "tests.engine.hook_recorder:RecordFinalFailures"
NO_RETRY = {"whatsapp": {"retries": 0}}


@pytest.fixture(autouse=True)
def hooks_log(tmp_path, monkeypatch):
    path = tmp_path / "final-failures.jsonl"
    monkeypatch.setenv("TEST_HOOKS_LOG", str(path))
    return path


def final_failures(path, *, pid: int | None = None) -> list[dict]:
    """What the recorder saw; each row's pid says which process fired the hook."""
    rows = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    return [{k: v for k, v in row.items() if k != "pid"} for row in rows if pid is None or row["pid"] == pid]


def test_the_setting_is_loaded_once_into_the_engine(engine_factory):
    eng = engine_factory(engine_hooks=RECORDER)
    assert isinstance(eng.hooks, RecordFinalFailures)
    assert Worker(eng, ["whatsapp"]).hooks is eng.hooks
    assert type(engine_factory().hooks) is Hooks


@pytest.mark.parametrize("spec, needle", [
    ("no_such_module_xyz:Hooks", "No module named"),
    ("tests.engine.hook_recorder:Missing", "Missing"),
    ("tests.engine.hook_recorder:NotHooks", "not a subclass"),
    ("tests.engine.hook_recorder", "module:Class"),
])
def test_a_bad_value_is_a_config_error_naming_it(spec, needle):
    with pytest.raises(ConfigError, match="ENGINE_HOOKS") as err:
        load_hooks(spec)
    assert needle in str(err.value)


@pytest.mark.parametrize("command", [["worker", "--queues", "whatsapp", "--burst"], ["scheduler", "--once"],
                                     ["workers", "--queues", "whatsapp", "--burst"]])
def test_a_bad_setting_is_one_cli_line_and_exit_2(engine, command):
    env = {**worker_env(engine), "ENGINE_HOOKS": "tests.engine.hook_recorder:NotHooks"}
    result = subprocess.run([sys.executable, "-m", "engine", *command], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().count("\n") == 0 and "ENGINE_HOOKS" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_hooks_flag_is_one_cli_line_and_exit_2(engine):
    result = subprocess.run([sys.executable, "-m", "engine", "worker", "--queues", "whatsapp", "--burst",
                             "--hooks", "nope"], cwd=ROOT, env=worker_env(engine), capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2 and "--hooks 'nope'" in result.stderr and "Traceback" not in result.stderr


def test_a_worker_fires_the_configured_hook_when_it_dead_letters(engine_factory, hooks_log):
    eng = engine_factory(engine_hooks=RECORDER)
    eng.conn.flushdb()
    job = put(eng, "whatsapp", "permanent")
    Worker(eng, ["whatsapp"], burst=True).run()
    assert final_failures(hooks_log) == [{"job_id": job.id, "queue": "whatsapp", "type": "PermanentError"}]


def test_the_schedulers_reaper_fires_it_for_a_job_whose_worker_was_killed(engine_factory, hooks_log):
    """The worker process is SIGKILLed mid-run; a scheduler process configured only by ENGINE_HOOKS reaps the job."""
    eng = engine_factory(queue_overrides=NO_RETRY, engine_hooks=RECORDER)
    eng.conn.flushdb()
    job = put(eng, "whatsapp", "sleep", {"seconds": 30})
    worker = spawn_worker(eng, ["whatsapp"])
    try:
        wait_until(lambda: eng.conn.zcard(keys.active("whatsapp")) == 1, timeout_s=20)
        os.kill(worker.pid, signal.SIGKILL)
    finally:
        worker.kill()
        worker.wait(timeout=10)
    # the lease runs out (LEASE_MS 1 s), then one scheduler pass reaps the run: no retries left, so dead
    wait_until(lambda: eng.conn.zrangebyscore(keys.active("whatsapp"), "-inf", eng.conn.time()[0] * 1000),
               timeout_s=10)
    scheduler = subprocess.Popen([sys.executable, "-m", "engine", "scheduler", "--once"], cwd=ROOT,
                                 env=worker_env(eng), stderr=subprocess.PIPE, text=True)
    _, stderr = scheduler.communicate(timeout=60)
    assert scheduler.returncode == 0, stderr
    assert dead_letters.exists(job.id, engine=eng)
    assert final_failures(hooks_log, pid=scheduler.pid) == [
        {"job_id": job.id, "queue": "whatsapp", "type": "WorkerDiedError"}]


def test_an_in_process_scheduler_uses_the_engines_hooks(engine_factory, hooks_log):
    eng = engine_factory(queue_overrides=NO_RETRY, engine_hooks=RECORDER)
    eng.conn.flushdb()
    job = put(eng, "whatsapp", "ok")
    taken = Worker(eng, ["whatsapp"])._dequeue()  # a worker takes it, then vanishes without heartbeating
    assert taken[1].decode() == job.id
    wait_until(lambda: eng.conn.zrangebyscore(keys.active("whatsapp"), "-inf", eng.conn.time()[0] * 1000),
               timeout_s=10)
    Scheduler(eng, {}).run_pass()
    assert final_failures(hooks_log) == [{"job_id": job.id, "queue": "whatsapp", "type": "WorkerDiedError"}]
