"""`python -m domain ...` as an operator runs it (in-process, with the environment pointing at the test database)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from domain import outbox
from domain.__main__ import main
from domain.models import MessageStatus
from domain.settings import get_settings

from tests.domain_fixtures import NOW, fresh, job_ids

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(settings, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the full data set takes seconds on PostgreSQL
def test_seed_writes_the_demo_data_set_once_and_no_jobs(env, db, engine, capsys):
    assert main(["seed"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["seeded"] is True and first["wholesalers"] == 30 and "jobs" not in first
    assert all(not job_ids(engine, q) for q in engine.table.names)
    assert main(["seed"]) == 0
    assert json.loads(capsys.readouterr().out)["seeded"] is False


def test_whatsapp_resolve_settles_a_message_in_doubt(env, db, capsys):
    with fresh(db) as s:
        for _ in range(2):
            outbox.claim(s, "job-9", phone="+9779820000001", body="x", reference=None, provider="cloud",
                         resend_is_harmless=False, now=NOW)
        s.commit()
    assert main(["whatsapp-resolve", "job-9", "--went-out"]) == 0
    assert json.loads(capsys.readouterr().out) == {"key": "job-9", "status": MessageStatus.SENT}
    assert main(["whatsapp-resolve", "job-9", "--resend"]) == 2  # no longer in doubt
    assert main(["whatsapp-resolve", "nope", "--resend"]) == 2


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_init_db_runs_as_a_module(settings, tmp_path):
    env = {**os.environ, "DATABASE_URL": settings.database_url}
    done = subprocess.run([sys.executable, "-m", "domain", "init-db"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["schema"] == "ready"
    assert Path(settings.database_url.removeprefix("sqlite:///")).exists()
