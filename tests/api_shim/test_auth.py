"""API keys: who may call what, how keys are read, and that write calls are audited by key name."""
from __future__ import annotations

import pytest

from api_shim import create_app
from api_shim.settings import ApiKey, Keyring, parse_api_keys
from engine import audit
from tests.api_shim.conftest import READ, READ_KEY, WRITE, WRITE_KEY
from tests.api_shim.support import error_of

WA_JOB = {"data": {"phone": "+9779800000000", "message": "hello"}}


def test_read_route_without_a_key_is_401_with_the_error_shape(client):
    r = client.get("/api/v1/queue/metrics")
    assert r.status_code == 401 and error_of(r)["code"] == "unauthorized"
    assert "WWW-Authenticate" in r.headers


def test_wrong_key_is_401(client):
    assert client.get("/api/v1/queue/metrics", headers={"X-API-Key": "not-a-key-at-all"}).status_code == 401
    assert client.get("/api/v1/queue/metrics", headers={"X-API-Key": ""}).status_code == 401


def test_read_and_write_keys_both_read(client):
    assert client.get("/api/v1/queue/metrics", headers=READ).status_code == 200
    assert client.get("/api/v1/queue/metrics", headers=WRITE).status_code == 200


def test_bearer_token_is_accepted_as_the_key(client):
    r = client.get("/api/v1/queue/metrics", headers={"Authorization": f"Bearer {READ_KEY}"})
    assert r.status_code == 200
    assert client.get("/api/v1/queue/metrics", headers={"Authorization": "Bearer nope-nope-nope"}).status_code == 401
    assert client.get("/api/v1/queue/metrics", headers={"Authorization": f"Basic {READ_KEY}"}).status_code == 401


def test_conflicting_credentials_are_refused(client):
    both = {"X-API-Key": WRITE_KEY, "Authorization": f"Bearer {READ_KEY}"}
    assert client.get("/api/v1/queue/metrics", headers=both).status_code == 401
    same = {"X-API-Key": WRITE_KEY, "Authorization": f"Bearer {WRITE_KEY}"}
    assert client.get("/api/v1/queue/metrics", headers=same).status_code == 200
    bad_bearer = {"X-API-Key": WRITE_KEY, "Authorization": "Bearer wrong-wrong-wrong"}
    assert client.get("/api/v1/queue/metrics", headers=bad_bearer).status_code == 401


@pytest.mark.parametrize("method,path,body", [
    ("post", "/api/v1/queue/jobs/whatsapp", WA_JOB),
    ("delete", "/api/v1/queue/jobs/whatsapp/some-job", None),
    ("post", "/api/v1/queue/retry/whatsapp/some-job", None),
    ("post", "/api/v1/queue/queues/whatsapp/pause", None),
    ("post", "/api/v1/queue/queues/whatsapp/resume", None),
    ("put", "/api/v1/queue/queues/whatsapp/rate-limit", {"limit": 5}),
    ("post", "/api/v1/queue/dead-letter/some-job/retry", None),
    ("delete", "/api/v1/queue/dead-letter/some-job", None),
    ("post", "/api/v1/queue/dead-letter/retry", {"ids": ["some-job"]}),
    ("post", "/api/v1/queue/dead-letter/delete", {"filter": {"queue": "whatsapp"}}),
    ("post", "/api/v1/queue/failure-groups/0123456789abcdef/retry", None),
    ("post", "/api/v1/queue/failure-groups/0123456789abcdef/delete", None),
])
def test_every_write_route_needs_a_write_key(client, engine, method, path, body):
    kwargs = {"json": body} if body is not None else {}
    assert client.request(method, path, **kwargs).status_code == 401
    r = client.request(method, path, headers=READ, **kwargs)
    assert r.status_code == 403 and error_of(r)["code"] == "forbidden"
    denied = audit.list_entries(actor="viewer", engine=engine)
    assert denied and denied[0]["outcome"] == "denied: read-only role" and denied[0]["source"] == "api"
    assert client.request(method, path, headers=WRITE, **kwargs).status_code not in (401, 403)


def test_read_key_is_refused_before_the_body_is_checked(client):
    r = client.post("/api/v1/queue/jobs/whatsapp", headers=READ, json={"nonsense": True})
    assert r.status_code == 403


def test_mutating_calls_land_in_the_audit_log_under_the_key_name(client, engine):
    created = client.post("/api/v1/queue/jobs/whatsapp", headers=WRITE, json=WA_JOB).json()
    client.post("/api/v1/queue/queues/orderExpiry/pause", headers=WRITE)
    client.put("/api/v1/queue/queues/orderExpiry/rate-limit", headers=WRITE, json={"limit": 7})
    client.delete(f"/api/v1/queue/jobs/whatsapp/{created['id']}", headers=WRITE)
    entries = audit.list_entries(actor="ops-bot", engine=engine)
    assert [e["action"] for e in entries] == ["delete", "rate_limit", "pause", "enqueue"]
    assert all(e["source"] == "api" and e["outcome"] == "ok" for e in entries)
    assert entries[0]["target"] == created["id"] and entries[0]["queue"] == "whatsapp"
    assert entries[1]["details"]["limit"] == 7
    # a failed action is audited with its error
    client.delete("/api/v1/queue/jobs/whatsapp/never-existed", headers=WRITE)
    assert audit.list_entries(actor="ops-bot", engine=engine)[0]["outcome"].startswith("error:")


def test_open_routes_need_no_key_and_show_no_job_data(client, engine):
    client.post("/api/v1/queue/jobs/whatsapp", headers=WRITE, json={**WA_JOB, "job_id": "secret-order-77"})
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json()["server"] == "reachable"
    assert set(health.json()["queues"]) == {"whatsapp", "orderExpiry", "vendorFallback", "dailyReports",
                                            "creditReconciliation"}
    metrics = client.get("/metrics")
    assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
    assert 'jq_jobs{queue="whatsapp",state="waiting"} 1.0' in metrics.text
    for body in (health.text, metrics.text):
        assert "secret-order-77" not in body and "+9779800000000" not in body


def test_openapi_declares_both_security_schemes_on_protected_routes(client):
    doc = client.get("/openapi.json").json()
    schemes = doc["components"]["securitySchemes"]
    assert schemes["ApiKeyHeader"] == {"type": "apiKey", "in": "header", "name": "X-API-Key",
                                       "description": schemes["ApiKeyHeader"]["description"]}
    assert schemes["BearerKey"]["scheme"] == "bearer"
    for path, ops in doc["paths"].items():
        for op in ops.values():
            if path.startswith("/api/"):
                assert op["security"] == [{"ApiKeyHeader": []}, {"BearerKey": []}], path
            else:
                assert "security" not in op, path


def test_api_keys_parse_and_reject_bad_entries():
    keys = parse_api_keys("a:read:k1-aaaaaaaa, b:write:k2:with:colons ,")
    assert [(k.name, k.role, k.secret.get_secret_value()) for k in keys] == [
        ("a", "read", "k1-aaaaaaaa"), ("b", "write", "k2:with:colons")]
    assert "k1-aaaaaaaa" not in repr(keys) and "k1-aaaaaaaa" not in repr(Keyring(keys))
    for bad in ("a:admin:k1-aaaaaaaa", "a:read", "a:read:short", "a:read:k1-aaaaaaaa,a:write:k2-bbbbbbbb"):
        with pytest.raises(ValueError) as info:
            parse_api_keys(bad)
        assert "aaaaaaaa" not in str(info.value) and "bbbbbbbb" not in str(info.value)


def test_keyring_compares_every_key(monkeypatch):
    import hmac

    calls = []
    real = hmac.compare_digest
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: calls.append(b) or real(a, b))
    ring = Keyring(parse_api_keys("a:read:first-key-1,b:write:second-key-2,c:read:third-key-3"))
    assert ring.match("first-key-1").name == "a"
    assert len(calls) == 3  # no early exit on the first match
    assert ring.match("nope") is None and ring.match(None) is None


def test_api_keys_come_from_the_environment_when_not_given(monkeypatch, engine):
    from fastapi.testclient import TestClient

    monkeypatch.setenv("API_KEYS", "envkey:read:from-the-env-1")
    with TestClient(create_app(engine)) as c:
        assert c.get("/api/v1/queue/metrics", headers={"X-API-Key": "from-the-env-1"}).status_code == 200
        assert c.get("/api/v1/queue/metrics", headers=READ).status_code == 401
    assert isinstance(parse_api_keys("x:read:12345678")[0], ApiKey)
