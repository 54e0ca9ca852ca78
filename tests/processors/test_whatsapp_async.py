"""The async whatsapp processor's shared after-send units (processors/sent_batch.py): many sends on one event
loop, each recorded exactly once, and a unit that fails fails every send waiting on it."""
import asyncio

import pytest
from sqlalchemy import select

from domain import outbox
from domain.models import MessageStatus, OutboundMessage
from engine import jobctx
from processors import sent_batch, whatsapp

from tests.domain_fixtures import NOW, fresh

SENDS = 20


async def _job(engine, job_id: str, settings) -> dict:
    token = jobctx.bind(jobctx.JobContext(engine, job_id, "whatsapp", 1))  # this task's own context
    try:
        return await whatsapp.arun(f"+97798200000{int(job_id[4:]):02d}", f"Order {job_id} ready", settings=settings)
    finally:
        jobctx.unbind(token)


async def _many(engine, settings) -> list[dict]:
    return await asyncio.gather(*[_job(engine, f"job-{i}", settings) for i in range(SENDS)])


def test_concurrent_async_sends_are_each_sent_once_and_recorded_with_their_own_id(engine, settings, db, cloud_api):
    results = asyncio.run(_many(engine, cloud_api.settings(settings, whatsapp_timeout_s=5)))
    assert len(cloud_api.requests) == SENDS
    with fresh(db) as s:
        stored = {m.idempotency_key: m for m in s.scalars(select(OutboundMessage))}
    assert sorted(stored) == sorted(f"job-{i}" for i in range(SENDS))
    assert {m.status for m in stored.values()} == {MessageStatus.SENT}
    by_job = {f"job-{i}": r for i, r in enumerate(results)}
    assert all(stored[job].provider_message_id == r["provider_message_id"] for job, r in by_job.items())
    assert len({r["provider_message_id"] for r in results}) == SENDS


def test_a_shared_unit_that_fails_fails_every_write_in_it_and_commits_none(settings, db):
    def good(conn):  # a write that would commit if the unit did
        outbox.claim(conn, "job-1", phone="+9779820000001", body="hi", reference=None, provider="cloud",
                     resend_is_harmless=False, now=NOW)

    def bad(conn):
        raise RuntimeError("disk full")

    async def both():
        return await asyncio.gather(sent_batch.commit(settings.database_url, good),
                                    sent_batch.commit(settings.database_url, bad), return_exceptions=True)

    first, second = asyncio.run(both())
    assert isinstance(first, RuntimeError) and isinstance(second, RuntimeError)
    with fresh(db) as s:
        assert s.scalars(select(OutboundMessage)).all() == []


@pytest.mark.parametrize("concurrent", [1, 3])
def test_writes_of_one_loop_turn_share_one_unit(settings, db, concurrent):
    units = []

    def write(conn):
        units.append(id(conn))

    async def many():
        await asyncio.gather(*[sent_batch.commit(settings.database_url, write) for _ in range(concurrent)])

    asyncio.run(many())
    assert len(units) == concurrent and len(set(units)) == 1
