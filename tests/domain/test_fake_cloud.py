"""The fake Cloud API: Meta's send, error and signed status-webhook shapes, over real sockets on 127.0.0.1."""
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from domain.whatsapp import CloudProvider, SendError
from domain.whatsapp.fake_cloud import FakeCloudApi, sign

SECRET = "app-secret"


@pytest.fixture
def receiver():
    """A webhook receiver on 127.0.0.1 that keeps each raw body and its signature header."""
    got: list[tuple[bytes, str | None]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            got.append((self.rfile.read(int(self.headers["Content-Length"])), self.headers.get("X-Hub-Signature-256")))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/webhooks/whatsapp", got
    server.shutdown()
    server.server_close()


@pytest.fixture
def api(receiver):
    fake = FakeCloudApi(webhook_url=receiver[0], app_secret=SECRET, status_delay_s=0.01).start()
    yield fake
    fake.stop()


def wait_for(cond, timeout_s=5.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return False


def cloud(api):
    return CloudProvider(api.base_url, api.phone_number_id, api.token, 2.0)


def statuses(got):
    return [(s["id"], s["status"], s.get("errors", [{}])[0].get("code"))
            for body, _ in got for e in json.loads(body)["entry"] for c in e["changes"]
            for s in c["value"].get("statuses", [])]


def test_an_accepted_message_answers_meta_shape_and_reports_sent_delivered_read_signed(api, receiver):
    response = httpx.post(f"{api.base_url}/{api.phone_number_id}/messages",
                          json={"messaging_product": "whatsapp", "to": "9779820000001", "type": "text",
                                "text": {"body": "hi"}}, headers={"Authorization": f"Bearer {api.token}"})
    body = response.json()
    assert response.status_code == 200 and body["messaging_product"] == "whatsapp"
    assert body["contacts"] == [{"input": "9779820000001", "wa_id": "9779820000001"}]
    wamid = body["messages"][0]["id"]
    assert wamid.startswith("wamid.")
    _, got = receiver
    assert wait_for(lambda: len(got) == 3)
    assert statuses(got) == [(wamid, "sent", None), (wamid, "delivered", None), (wamid, "read", None)]
    for raw, signature in got:
        assert signature == "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
        payload = json.loads(raw)
        assert payload["object"] == "whatsapp_business_account"
        assert payload["entry"][0]["changes"][0]["value"]["statuses"][0]["recipient_id"] == "9779820000001"


@pytest.mark.parametrize("code,retryable", [(131047, False), (131056, True)])
def test_a_refused_recipient_gets_meta_error_shape(api, receiver, code, retryable):
    api.outcomes["9779820000009"] = code
    response = httpx.post(f"{api.base_url}/{api.phone_number_id}/messages", json={"to": "9779820000009"},
                          headers={"Authorization": f"Bearer {api.token}"})
    error = response.json()["error"]
    assert response.status_code == 400 and error["code"] == code
    assert set(error) == {"message", "type", "code", "error_data", "fbtrace_id"} and error["error_data"]["details"]
    with pytest.raises(SendError) as info:
        cloud(api).send_text("+9779820000009", "hi", idempotency_key="k")
    assert (info.value.code, info.value.retryable or info.value.retry_after_s is not None) == (str(code), retryable)
    time.sleep(0.1)
    assert receiver[1] == []  # nothing accepted, no status


def test_an_undeliverable_message_is_accepted_then_reported_failed_131026(api, receiver):
    api.outcomes["9779820000008"] = 131026
    result = cloud(api).send_text("+9779820000008", "hi", idempotency_key="k")
    assert result.status == "sent"
    assert wait_for(lambda: len(receiver[1]) == 2)
    assert statuses(receiver[1]) == [(result.provider_message_id, "sent", None),
                                     (result.provider_message_id, "failed", 131026)]


def test_a_wrong_token_or_phone_number_id_is_refused(api):
    wrong_token = httpx.post(f"{api.base_url}/{api.phone_number_id}/messages", json={"to": "1"},
                             headers={"Authorization": "Bearer nope"})
    wrong_id = httpx.post(f"{api.base_url}/999/messages", json={"to": "1"},
                          headers={"Authorization": f"Bearer {api.token}"})
    assert (wrong_token.status_code, wrong_token.json()["error"]["code"]) == (401, 190)
    assert (wrong_id.status_code, wrong_id.json()["error"]["code"]) == (400, 100)


def test_sign_is_meta_header_format():
    assert sign(b"{}", "s") == "sha256=" + hmac.new(b"s", b"{}", hashlib.sha256).hexdigest()
