"""`python -m engine cancel` and `python -m engine search` as real processes."""
from __future__ import annotations

import json

from engine import audit, keys

from tests.engine.support import put
from tests.engine.test_supervisor_cli import engine_cli


def test_cli_cancel_cancels_audits_and_refuses_with_exit_2(engine):
    job = put(engine, "whatsapp", "ok", {"phone": "+9779800000001", "message": "m", "order_id": "42"})
    result = engine_cli(engine, "cancel", "whatsapp", job.id)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["outcome"] == "cancelled"
    assert engine.conn.hget(keys.job(job.id), "status") == b"canceled"
    assert audit.list_entries(action="cancel", engine=engine)[0]["source"] == "cli"
    again = engine_cli(engine, "cancel", "whatsapp", job.id)
    assert again.returncode == 2 and "already cancelled" in again.stderr and "Traceback" not in again.stderr
    unknown = engine_cli(engine, "cancel", "nope", job.id)
    assert unknown.returncode == 2 and "unknown queue" in unknown.stderr


def test_cli_search_by_phone_in_a_local_format(engine):
    job = put(engine, "whatsapp", "ok", {"phone": "+9779800000001", "message": "m", "order_id": "42"})
    result = engine_cli(engine, "search", "--phone", "980 000 0001")
    assert result.returncode == 0, result.stderr
    assert [i["id"] for i in json.loads(result.stdout)["items"]] == [job.id]
    bad = engine_cli(engine, "search", "--order-id", "4 2")
    assert bad.returncode == 2 and "order_id" in bad.stderr
