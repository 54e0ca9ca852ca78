"""One error shape everywhere; body limits; 503 when the server is down; never a 500."""
from __future__ import annotations

import pytest

from tests.api_shim.conftest import WRITE
from tests.api_shim.support import error_of

WA = {"phone": "+9779800000000", "message": "hi"}


def test_unknown_path_is_404_in_the_error_shape(client):
    r = client.get("/api/v1/queue/nothing-here", headers=WRITE)
    assert r.status_code == 404 and error_of(r)["code"] == "not_found"
    assert client.get("/api/v1/queue/metrics/", headers=WRITE).status_code == 404  # no slash redirects


def test_wrong_method_is_405_with_allow_listing_the_documented_methods(client):
    r = client.put("/api/v1/queue/jobs/whatsapp/abc", headers=WRITE)
    assert r.status_code == 405 and r.headers["Allow"] == "DELETE, GET" and error_of(r)["code"] == "method_not_allowed"
    assert client.get("/api/v1/queue/jobs/whatsapp", headers=WRITE).headers["Allow"] == "POST"
    assert client.options("/api/v1/queue/dead-letter", headers=WRITE).headers["Allow"] == "GET"


def test_framework_validation_errors_use_the_shared_shape(client):
    r = client.post("/api/v1/queue/jobs/whatsapp", headers={**WRITE, "Content-Type": "application/json"},
                    content=b'{"data": ')
    assert r.status_code == 400 and error_of(r)["field"] == "body"
    r = client.post("/api/v1/queue/jobs/whatsapp", headers=WRITE, json=["not", "an", "object"])
    assert r.status_code == 422 and error_of(r)["code"] == "validation_error"


def test_body_over_64_kib_is_413_by_content_length(client):
    r = client.post("/api/v1/queue/jobs/whatsapp", headers=WRITE,
                    json={"data": {**WA, "message": "x" * (70 * 1024)}})
    assert r.status_code == 413 and error_of(r)["code"] == "payload_too_large"


def test_body_over_64_kib_is_413_when_streamed_without_content_length(client):
    def chunks():
        yield b'{"data": {"phone": "+9779800000000", "message": "'
        for _ in range(80):
            yield b"y" * 1024
        yield b'"}}'

    r = client.post("/api/v1/queue/jobs/whatsapp", headers={**WRITE, "Content-Type": "application/json"},
                    content=chunks())
    assert "content-length" not in {k.lower() for k in r.request.headers}
    assert r.status_code == 413 and error_of(r)["code"] == "payload_too_large"


def test_body_just_under_the_limit_is_accepted(client):
    r = client.post("/api/v1/queue/jobs/whatsapp", headers=WRITE, json={"data": {**WA, "message": "z" * 4096}})
    assert r.status_code == 201


DOWN_ROUTES = [
    ("get", "/api/v1/queue/metrics", None),
    ("get", "/api/v1/queue/metrics/whatsapp", None),
    ("get", "/api/v1/queue/metrics/whatsapp/history", None),
    ("get", "/api/v1/queue/metrics/whatsapp/history.csv", None),
    ("get", "/api/v1/queue/jobs/whatsapp/abc", None),
    ("post", "/api/v1/queue/jobs/whatsapp", {"data": WA}),
    ("delete", "/api/v1/queue/jobs/whatsapp/abc", None),
    ("post", "/api/v1/queue/retry/whatsapp/abc", None),
    ("get", "/api/v1/queue/failed/whatsapp", None),
    ("get", "/api/v1/queue/dead-letter", None),
    ("get", "/api/v1/queue/dead-letter.csv", None),
    ("get", "/api/v1/queue/dead-letter/abc", None),
    ("post", "/api/v1/queue/dead-letter/abc/retry", None),
    ("delete", "/api/v1/queue/dead-letter/abc", None),
    ("post", "/api/v1/queue/dead-letter/retry", {"ids": ["abc"]}),
    ("post", "/api/v1/queue/dead-letter/delete", {"filter": {"queue": "whatsapp"}}),
    ("post", "/api/v1/queue/queues/whatsapp/pause", None),
    ("put", "/api/v1/queue/queues/whatsapp/rate-limit", {"limit": 3}),
    ("get", "/api/v1/queue/failure-groups", None),
    ("post", "/api/v1/queue/failure-groups/0123456789abcdef/retry", None),
    ("get", "/api/v1/queue/audit", None),
    ("get", "/api/v1/queue/audit.csv", None),
    ("get", "/metrics", None),
]


@pytest.mark.parametrize("method,path,body", DOWN_ROUTES)
def test_unreachable_server_is_503(down_client, method, path, body):
    r = down_client.request(method, path, headers=WRITE, **({"json": body} if body is not None else {}))
    assert r.status_code == 503 and error_of(r)["code"] == "server_unavailable"


def test_healthz_is_503_when_the_server_is_unreachable(down_client):
    r = down_client.get("/healthz")
    assert r.status_code == 503
    assert r.json()["status"] == "unavailable" and r.json()["server"] == "unreachable"


def test_auth_and_input_errors_come_before_the_server_is_needed(down_client):
    assert down_client.get("/api/v1/queue/metrics").status_code == 401
    assert down_client.get("/api/v1/queue/metrics/sms", headers=WRITE).status_code == 404
    assert down_client.get("/api/v1/queue/jobs/whatsapp/bad%20id", headers=WRITE).status_code == 422


def test_every_documented_operation_documents_its_errors(client):
    doc = client.get("/openapi.json").json()
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            codes = set(op["responses"])
            expected = {"503"} | ({"401"} if path.startswith("/api/") else set())
            if method != "get":
                expected |= {"403"}
            assert expected <= codes, (method, path, codes)
            for code, response in op["responses"].items():
                if code.startswith(("4", "5")) and path != "/healthz":
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, (method, path, code)
            assert "HTTPValidationError" not in str(op)
