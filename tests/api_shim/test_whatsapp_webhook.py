"""/webhooks/whatsapp under uvicorn on 127.0.0.1, fed by the fake Cloud API's signed webhooks: Meta's
verification, the signature check, statuses that never go backwards, inbound messages, failed-after-acceptance."""
import json
import socket
import threading
import time

import httpx
import pytest
import uvicorn
from sqlalchemy import select

from api_shim import create_app
from domain import delivery
from domain.models import DeliveryState, MessageDelivery, MessageStatus, OutboundMessage
from domain.settings import get_settings
from domain.whatsapp.fake_cloud import FakeCloudApi, inbound_payload, sign, status_payload
from engine import dead_letters, failure_groups, keys
from processors import helpers, whatsapp

from tests.api_shim.conftest import API_KEYS, READ_KEY
from tests.domain_fixtures import as_job, db, db_url, fresh, postgres_admin, settings  # noqa: F401
from tests.engine.support import thread_workers, wait_until

SECRET, VERIFY = "app-secret-123", "verify-me"
PHONE = "+9779820000001"


@pytest.fixture
def engine(processors_engine):
    """The platform's real whatsapp processor runs the jobs."""
    return processors_engine


@pytest.fixture
def wa_settings(settings):
    return settings.model_copy(update={"whatsapp_app_secret": SECRET, "whatsapp_verify_token": VERIFY})


@pytest.fixture
def api(engine, wa_settings):
    """The API under uvicorn on a free loopback port, with the test's domain settings."""
    app = create_app(engine, api_keys=API_KEYS)
    app.state.domain_settings = wa_settings
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    assert wait_until(lambda: server.started, timeout_s=10)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def cloud(api):
    fake = FakeCloudApi(webhook_url=f"{api}/webhooks/whatsapp", app_secret=SECRET, status_delay_s=0.02).start()
    yield fake
    fake.stop()


def post(api, payload, signature=None, raw=None):
    body = raw if raw is not None else json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    if signature is not False:
        headers["X-Hub-Signature-256"] = signature or sign(body, SECRET)
    return httpx.post(f"{api}/webhooks/whatsapp", content=body, headers=headers)


def row(db, wamid):  # noqa: F811
    with fresh(db) as s:
        return s.get(MessageDelivery, wamid)


def test_verification_echoes_the_challenge_only_for_the_right_token(api):
    ok = httpx.get(f"{api}/webhooks/whatsapp", params={"hub.mode": "subscribe", "hub.verify_token": VERIFY,
                                                       "hub.challenge": "1158201444"})
    assert (ok.status_code, ok.text, ok.headers["content-type"].split(";")[0]) == (200, "1158201444", "text/plain")
    for params in ({"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
                   {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY, "hub.challenge": "1"}, {}):
        refused = httpx.get(f"{api}/webhooks/whatsapp", params=params)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"


def test_a_missing_or_wrong_signature_records_nothing(api, db):  # noqa: F811
    payload = status_payload("1234567890", "wamid.X1", "delivered", "9779820000001", 1_700_000_000)
    assert post(api, payload, signature=False).status_code == 401
    assert post(api, payload, signature="sha256=" + "0" * 64).status_code == 403
    assert post(api, payload, signature=sign(b"other body", SECRET)).status_code == 403
    assert row(db, "wamid.X1") is None
    assert post(api, payload).status_code == 200 and row(db, "wamid.X1").state == DeliveryState.DELIVERED


def test_statuses_never_go_backwards_and_duplicates_change_nothing(api, db):  # noqa: F811
    wamid = "wamid.ORDER1"
    for status, at in (("read", 30), ("delivered", 20), ("sent", 10), ("read", 40), ("delivered", 20)):
        assert post(api, status_payload("1234567890", wamid, status, "9779820000001", 1_700_000_000 + at)
                    ).status_code == 200
    r = row(db, wamid)
    assert r.state == DeliveryState.READ
    assert [int(t.timestamp()) - 1_700_000_000 for t in (r.sent_at, r.delivered_at, r.read_at)] == [10, 20, 30]


def test_an_inbound_message_opens_the_window(api, db):  # noqa: F811
    now = int(time.time())
    assert post(api, inbound_payload("1234567890", "9779820000001", "Hello", "wamid.IN1", now)).json()["inbound"] == 1
    with fresh(db) as s:
        assert int(delivery.last_inbound(s, PHONE).timestamp()) == now


def test_a_signed_body_that_is_not_a_webhook_is_a_400(api):
    assert post(api, None, raw=b"not json").status_code == 400
    assert post(api, {"object": "page"}).status_code == 400


def test_the_handler_answers_well_under_a_second(api):
    payload = status_payload("1234567890", "wamid.FAST", "sent", "9779820000001", 1_700_000_000)
    post(api, payload)  # warm-up: first connection, first transaction
    start = time.perf_counter()
    assert post(api, payload).status_code == 200
    assert time.perf_counter() - start < 1.0  # a correctness bound (Meta retries slow webhooks), not a benchmark


def test_a_sent_message_goes_accepted_then_sent_delivered_read(engine, api, cloud, wa_settings, db):  # noqa: F811
    with as_job(engine, "job-1", "whatsapp"):
        result = whatsapp.run(PHONE, template={"name": "order_failed", "language": "en", "params": ["A", "7"]},
                              settings=cloud.settings(wa_settings))
    assert result["status"] == "accepted"
    wamid = result["provider_message_id"]
    assert wait_until(lambda: row(db, wamid).state == DeliveryState.READ, timeout_s=10)
    r = row(db, wamid)
    assert r.message_key == "job-1" and r.accepted_at.replace(microsecond=0) <= r.sent_at <= r.delivered_at <= r.read_at


@pytest.fixture
def workers_use(monkeypatch):
    """Point the workers' settings (the environment, read once per process) at the given settings."""
    def use(cfg):
        for name in ("database_url", "whatsapp_provider", "whatsapp_api_base_url", "whatsapp_phone_number_id",
                     "whatsapp_token"):
            monkeypatch.setenv(name.upper(), str(getattr(cfg, name)))
        get_settings.cache_clear()
    yield use
    get_settings.cache_clear()


def job_details(api, job_id):
    response = httpx.get(f"{api}/api/v1/queue/jobs/whatsapp/{job_id}", headers={"X-API-Key": READ_KEY})
    response.raise_for_status()
    return response.json()


def test_job_details_show_accepted_until_a_status_then_its_times(engine, api, wa_settings, db, workers_use):  # noqa: F811
    silent = FakeCloudApi().start()  # no webhooks of its own: the test sends the statuses
    try:
        workers_use(silent.settings(wa_settings))
        job = helpers.add_whatsapp_message(PHONE, template={"name": "order_failed", "language": "en",
                                                            "params": ["A", "7"]}, engine=engine)
        with thread_workers(engine, ["whatsapp"], 1):
            assert wait_until(lambda: engine.conn.hget(keys.job(job.id), keys.JobField.STATUS) == b"finished")
        first = job_details(api, job.id)["delivery"]
        assert first["state"] == "accepted" and first["accepted_at"] and first["delivered_at"] is None
        wamid = first["wamid"]
        post(api, status_payload("1234567890", wamid, "delivered", PHONE[1:], int(time.time())))
        second = job_details(api, job.id)["delivery"]
        assert second["state"] == "delivered" and second["delivered_at"] and second["read_at"] is None
    finally:
        silent.stop()


def test_a_failed_status_after_acceptance_dead_letters_the_job_for_support(engine, api, cloud, wa_settings, db,  # noqa: F811
                                                                           workers_use):
    cloud.outcomes["9779820000008"] = 131026
    workers_use(cloud.settings(wa_settings))
    job = helpers.add_whatsapp_message("+9779820000008", template={"name": "order_failed", "language": "en",
                                                                   "params": ["A", "7"]}, engine=engine)
    with thread_workers(engine, ["whatsapp"], 1):
        assert wait_until(lambda: dead_letters.exists(job.id, engine=engine), timeout_s=10)
    with fresh(db) as s:
        msg = s.scalar(select(OutboundMessage).where(OutboundMessage.idempotency_key == job.id))
        d = s.scalar(select(MessageDelivery).where(MessageDelivery.message_key == job.id))
    assert (msg.status, d.state, d.error_code) == (MessageStatus.FAILED, DeliveryState.FAILED, "131026")
    assert any(g["type"] == "DeliveryFailed" and job.id in g["sample_job_ids"]
               for g in failure_groups.list_groups(engine=engine))
    shown = job_details(api, job.id)["delivery"]
    assert (shown["state"], shown["error_code"]) == ("failed", "131026") and shown["failed_at"]
    cloud.outcomes.clear()  # support fixed the cause: the retry sends it again
    httpx.post(f"{api}/api/v1/queue/retry/whatsapp/{job.id}", headers={"X-API-Key": API_KEYS.split(":")[-1]}
               ).raise_for_status()
    with thread_workers(engine, ["whatsapp"], 1):
        assert wait_until(lambda: engine.conn.hget(keys.job(job.id), keys.JobField.STATUS) == b"finished",
                          timeout_s=10)
    assert len(cloud.requests) == 2
