import asyncio
import contextvars

import pytest
from sqlalchemy import func, select

from domain import outbox
from domain.models import MessageStatus, OutboundMessage
from engine.errors import JobError, PermanentError, ProviderBackPressure
from processors import whatsapp

from tests.domain_fixtures import NOW, Reply, as_job, error_reply, fresh

PHONE = "+9779820000001"


@pytest.fixture(params=["run", "arun"])
def send(request):
    """The processor as a thread slot calls it (`run`) and as an async slot awaits it (`arun`, on one loop for
    the test, as a slot pool keeps one): both must behave alike."""
    if request.param == "run":
        yield whatsapp.run
        return
    with asyncio.Runner() as runner:  # closing, it closes the loop's aiohttp sessions (cloud_async)
        yield lambda *args, **kwargs: runner.run(whatsapp.arun(*args, **kwargs), context=contextvars.copy_context())


def rows(db):
    with fresh(db) as s:
        return s.scalars(select(OutboundMessage).order_by(OutboundMessage.id)).all()


def test_the_sandbox_records_the_message_as_delivered(send, engine, settings, db):
    with as_job(engine, "job-1", "whatsapp"):
        result = send(PHONE, "Order #42 confirmed", reference="42", settings=settings)
    [msg] = rows(db)
    assert (msg.idempotency_key, msg.status, msg.recipient, msg.reference, msg.provider) == (
        "job-1", MessageStatus.DELIVERED, PHONE, "42", "sandbox")
    assert result["status"] == "delivered" and result["provider_message_id"] == msg.provider_message_id
    assert result["already_sent"] is False


def test_the_same_job_run_twice_sends_once(send, engine, settings, db, cloud_api):
    cloud = cloud_api.settings(settings)
    with as_job(engine, "job-1", "whatsapp"):
        first = send(PHONE, "hello", settings=cloud)
    with as_job(engine, "job-1", "whatsapp", run=2):
        second = send(PHONE, "hello", settings=cloud)
    assert len(cloud_api.requests) == 1
    assert second["already_sent"] is True and second["provider_message_id"] == first["provider_message_id"]
    assert [m.status for m in rows(db)] == [MessageStatus.SENT]


def test_different_jobs_send_separately(send, engine, settings, db, cloud_api):
    cloud = cloud_api.settings(settings)
    for job_id in ("job-1", "job-2"):
        with as_job(engine, job_id, "whatsapp"):
            send(PHONE, "hello", settings=cloud)
    assert len(cloud_api.requests) == 2 and len(rows(db)) == 2


def test_a_run_that_died_mid_send_is_not_resent_by_the_cloud_provider(send, engine, settings, db, cloud_api):
    with fresh(db) as s:  # what a worker killed between recording and the provider's answer leaves behind
        outbox.claim(s, "job-1", phone=PHONE, body="hello", reference=None, provider="cloud", resend_is_harmless=False,
                     now=NOW)
        s.commit()
    with as_job(engine, "job-1", "whatsapp", run=2), pytest.raises(PermanentError) as info:
        send(PHONE, "hello", settings=cloud_api.settings(settings))
    assert "may already have delivered" in str(info.value) and "whatsapp-resolve job-1" in str(info.value)
    assert cloud_api.requests == []
    assert rows(db)[0].status == MessageStatus.UNKNOWN


def test_a_message_settled_as_not_sent_goes_out_on_the_next_retry(send, engine, settings, db, cloud_api):
    with fresh(db) as s:
        outbox.claim(s, "job-1", phone=PHONE, body="hello", reference=None, provider="cloud", resend_is_harmless=False,
                     now=NOW)
        outbox.claim(s, "job-1", phone=PHONE, body="hello", reference=None, provider="cloud", resend_is_harmless=False,
                     now=NOW)
        outbox.resolve_in_doubt(s, "job-1", went_out=False, now=NOW)
        s.commit()
    with as_job(engine, "job-1", "whatsapp", run=3):
        send(PHONE, "hello", settings=cloud_api.settings(settings))
    assert len(cloud_api.requests) == 1 and rows(db)[0].status == MessageStatus.SENT


def test_a_run_that_died_mid_send_is_completed_by_the_sandbox(send, engine, settings, db):
    with fresh(db) as s:
        outbox.claim(s, "job-1", phone=PHONE, body="hello", reference=None, provider="sandbox",
                     resend_is_harmless=True, now=NOW)
        s.commit()
    with as_job(engine, "job-1", "whatsapp", run=2):
        result = send(PHONE, "hello", settings=settings)
    assert result["status"] == "delivered" and rows(db)[0].attempts == 2


@pytest.mark.parametrize("phone,message",
                         [("9779820000001", "hi"), ("+977 98", "hi"), (PHONE, ""), (PHONE, "x" * 4097)])
def test_invalid_input_is_permanent_and_records_nothing(send, engine, settings, db, phone, message):
    with as_job(engine, "job-1", "whatsapp"), pytest.raises(PermanentError):
        send(phone, message, settings=settings)
    assert rows(db) == []


@pytest.mark.parametrize("code,message", [(131026, "Message undeliverable"),
                                          (131030, "Recipient phone number not in allowed list")])
def test_an_invalid_recipient_is_permanent_and_recorded(send, engine, settings, db, cloud_api, code, message):
    cloud_api.replies.append(error_reply(400, code, message))
    with as_job(engine, "job-1", "whatsapp"), pytest.raises(PermanentError) as info:
        send(PHONE, "hello", settings=cloud_api.settings(settings))
    assert str(code) in str(info.value) and message in str(info.value)
    [msg] = rows(db)
    assert (msg.status, msg.error_code) == (MessageStatus.FAILED, str(code)) and message in msg.error


def test_an_authentication_error_is_permanent(send, engine, settings, db, cloud_api):
    cloud_api.replies.append(error_reply(401, 190, "Invalid OAuth access token."))
    with as_job(engine, "job-1", "whatsapp"), pytest.raises(PermanentError) as info:
        send(PHONE, "hello", settings=cloud_api.settings(settings))
    assert "190" in str(info.value) and "Invalid OAuth access token" in str(info.value)
    assert rows(db)[0].error_code == "190"


def test_rate_limiting_asks_the_queue_to_back_off_then_the_retry_sends(send, engine, settings, db, cloud_api):
    cloud_api.replies.append(error_reply(429, 130429, "Rate limit hit", headers={"Retry-After": "30"}))
    cloud = cloud_api.settings(settings)
    with as_job(engine, "job-1", "whatsapp"), pytest.raises(ProviderBackPressure) as info:
        send(PHONE, "hello", settings=cloud)
    assert info.value.retry_after_s == 30.0
    assert rows(db)[0].status == MessageStatus.RETRYING
    with as_job(engine, "job-1", "whatsapp", run=2):
        send(PHONE, "hello", settings=cloud)
    assert len(cloud_api.requests) == 2 and rows(db)[0].status == MessageStatus.SENT


@pytest.mark.parametrize("reply", [Reply(500, {"error": {"message": "Internal error", "code": 1}}),
                                   Reply(200, {"messages": [{"id": "wamid.LATE"}]}, delay_s=1.0)],
                         ids=["http-500", "timeout"])
def test_server_errors_and_timeouts_are_retried_by_the_queue_policy(send, engine, settings, db, cloud_api, reply):
    cloud_api.replies.append(reply)
    with as_job(engine, "job-1", "whatsapp"), pytest.raises(Exception) as info:
        send(PHONE, "hello", settings=cloud_api.settings(settings))
    assert not isinstance(info.value, JobError)  # an ordinary error: the queue retries with backoff
    assert rows(db)[0].status == MessageStatus.RETRYING
    with as_job(engine, "job-1", "whatsapp", run=2):
        assert send(PHONE, "hello", settings=cloud_api.settings(settings))["status"] == "accepted"


def test_a_direct_call_outside_a_worker_sends_each_time(send, settings, db):
    send(PHONE, "hello", settings=settings)
    send(PHONE, "hello", settings=settings)
    with fresh(db) as s:
        assert s.scalar(select(func.count()).select_from(OutboundMessage)) == 2
