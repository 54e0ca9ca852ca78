"""A local stand-in for the WhatsApp Business Cloud API, for tests and the demo (`make run`).

A real HTTP server on 127.0.0.1: `POST /{version}/{phone_number_id}/messages` with a bearer token answers
Meta's success shape or its error shape, and every accepted message gets signed status webhooks
(sent -> delivered -> read, or failed for a later-undeliverable one) POSTed to the webhook URL.
Run it alone with `python -m domain.whatsapp.fake_cloud --port 8010 --webhook-url ... --app-secret ...`.
"""
from __future__ import annotations

import argparse
import hashlib
import hmac
import itertools
import json
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from .cloud import shared_client

PATH = re.compile(r"^/(?P<version>v[0-9.]+)/(?P<phone_number_id>[^/]+)/messages$")
ERRORS: dict[int, tuple[int, str, str]] = {  # code -> HTTP status, title, details
    131047: (400, "Re-engagement message",
             "Message failed to send because more than 24 hours have passed since the customer last replied to "
             "this number."),
    131056: (400, "(Business Account, Consumer Account) pair rate limit hit",
             "Too many messages sent from the sender phone number to the same recipient phone number in a short "
             "period of time."),
    131026: (400, "Message undeliverable", "Message Undeliverable."),
    131000: (500, "Something went wrong", "Something went wrong."),
    190: (401, "Error validating access token", "The access token is invalid or has expired."),
}


def sign(body: bytes, app_secret: str) -> str:
    """Meta's X-Hub-Signature-256 value: "sha256=" + the HMAC-SHA256 hex digest of the raw body."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def error_body(code: int, message: str | None = None, *, fbtrace_id: str = "AbCdEf123") -> dict[str, Any]:
    """Meta's error response: {"error": {message, type, code, error_data: {details}, fbtrace_id}}."""
    _, title, details = ERRORS.get(code, (400, "Error", "Error."))
    return {"error": {"message": message or f"({code}) {title}", "type": "OAuthException", "code": code,
                      "error_data": {"messaging_product": "whatsapp", "details": details}, "fbtrace_id": fbtrace_id}}


def status_payload(phone_number_id: str, wamid: str, status: str, recipient: str, at: int,
                   error_code: int | None = None) -> dict[str, Any]:
    """One status webhook in Meta's shape (object whatsapp_business_account, entry[].changes[].value.statuses[])."""
    entry: dict[str, Any] = {"id": wamid, "status": status, "timestamp": str(at), "recipient_id": recipient}
    if error_code is not None:
        _, title, details = ERRORS.get(error_code, (400, "Error", "Error."))
        entry["errors"] = [{"code": error_code, "title": title, "message": title, "error_data": {"details": details}}]
    return _envelope(phone_number_id, {"statuses": [entry]})


def inbound_payload(phone_number_id: str, sender: str, text: str, wamid: str, at: int,
                    name: str = "Customer") -> dict[str, Any]:
    """One inbound text message webhook in Meta's shape (value.contacts[] and value.messages[])."""
    return _envelope(phone_number_id, {
        "contacts": [{"profile": {"name": name}, "wa_id": sender}],
        "messages": [{"from": sender, "id": wamid, "timestamp": str(at), "type": "text", "text": {"body": text}}]})


def _envelope(phone_number_id: str, value: dict[str, Any]) -> dict[str, Any]:
    value = {"messaging_product": "whatsapp",
             "metadata": {"display_phone_number": "15550000000", "phone_number_id": phone_number_id}, **value}
    return {"object": "whatsapp_business_account",
            "entry": [{"id": "WABA-FAKE", "changes": [{"value": value, "field": "messages"}]}]}


@dataclass
class Reply:
    """A scripted answer to the next send (consumed in order; then the normal success)."""

    status: int = 200
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


@dataclass
class FakeCloudApi:
    """The fake API's state: what it received, what it will answer, and where its webhooks go.

    `outcomes` maps a recipient (digits, as sent) to an error code: 131047 / 131056 are answered at once
    as errors; 131026 is accepted and then reported as a `failed` status webhook.
    """

    phone_number_id: str = "1234567890"
    token: str = "test-token"
    webhook_url: str | None = None
    app_secret: str | None = None
    status_delay_s: float = 0.05
    base_url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)
    outcomes: dict[str, int] = field(default_factory=dict)
    webhooks: list[dict[str, Any]] = field(default_factory=list)  # what was posted, with the answer's status
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    clock: Callable[[], float] = time.time

    def settings(self, base: Any, **over: Any) -> Any:
        """`base` (DomainSettings) pointed at this server."""
        values = dict(whatsapp_provider="cloud", whatsapp_api_base_url=self.base_url,
                      whatsapp_phone_number_id=self.phone_number_id, whatsapp_token=self.token,
                      whatsapp_timeout_s=0.3)
        return base.model_copy(update={**values, **over})

    def handle_send(self, path: str, authorization: str | None, payload: dict[str, Any]) -> Reply:
        """The answer to one send request; schedules its status webhooks when it is accepted."""
        with self._lock:
            n = next(self._ids)
        match = PATH.match(path)
        if match is None or match["phone_number_id"] != self.phone_number_id:
            return Reply(400, error_body(100, "Unsupported post request. Object does not exist"))
        if authorization != f"Bearer {self.token}":
            return Reply(401, error_body(190))
        if self.replies:
            return self.replies.pop(0)
        to = str(payload.get("to", ""))
        code = self.outcomes.get(to)
        if code in (131047, 131056, 131000, 190):
            return Reply(ERRORS[code][0], error_body(code))
        wamid = f"wamid.TEST{n:04d}"
        statuses = [("sent", None), ("failed", 131026)] if code == 131026 else \
            [("sent", None), ("delivered", None), ("read", None)]
        if self.webhook_url and self.app_secret:
            threading.Thread(target=self._send_statuses, args=(wamid, to, statuses), daemon=True).start()
        return Reply(200, {"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": to}],
                           "messages": [{"id": wamid}]})

    def _send_statuses(self, wamid: str, to: str, statuses: list[tuple[str, int | None]]) -> None:
        for status, code in statuses:
            time.sleep(self.status_delay_s)
            self.post_webhook(status_payload(self.phone_number_id, wamid, status, to, int(self.clock()), code))

    def post_webhook(self, payload: dict[str, Any], *, signature: str | None = None) -> int | None:
        """POST one signed webhook (the API's signature unless `signature` is given); the answer's status."""
        if not self.webhook_url:
            return None
        body = json.dumps(payload, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json",
                   "X-Hub-Signature-256": signature or sign(body, self.app_secret or "")}
        try:
            status: int | None = shared_client(5.0).post(self.webhook_url, content=body, headers=headers).status_code
        except httpx.HTTPError:
            status = None
        with self._lock:
            self.webhooks.append({"payload": payload, "status": status})
        return status

    def start(self, port: int = 0) -> FakeCloudApi:
        """Serve on 127.0.0.1:`port` (0: any free port) in a daemon thread; sets `base_url`."""
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}/v21.0"
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def _handler(api: FakeCloudApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # Keep-alive as the real API: a client reuses its connections instead of a connect (and a server thread)
        # per send. Each answer leaves in one write (buffered, flushed after the request) with Nagle off, so
        # headers and body never wait on a delayed ACK.
        protocol_version = "HTTP/1.1"
        wbufsize = 64 * 1024
        disable_nagle_algorithm = True

        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            try:
                payload = json.loads(raw)
            except ValueError:
                payload = {"_raw": raw.decode(errors="replace")}
            auth = self.headers.get("Authorization")
            with api._lock:
                api.requests.append({"path": self.path, "authorization": auth,
                                     "content_type": self.headers.get("Content-Type"), "json": payload})
            reply = api.handle_send(self.path, auth, payload if isinstance(payload, dict) else {})
            if reply.delay_s:
                time.sleep(reply.delay_s)
            body = json.dumps(reply.body or {}).encode()
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
                pass

    return Handler


def main(argv: list[str] | None = None) -> None:
    """Serve until interrupted (what `make run` starts for the demo)."""
    parser = argparse.ArgumentParser(prog="python -m domain.whatsapp.fake_cloud")
    parser.add_argument("--port", type=int, default=8010)
    parser.add_argument("--phone-number-id", default="1234567890")
    parser.add_argument("--token", default="fake-token")
    parser.add_argument("--webhook-url", default=None)
    parser.add_argument("--app-secret", default=os.environ.get("WHATSAPP_APP_SECRET"),
                        help="signs the webhook calls (default: $WHATSAPP_APP_SECRET; kept off the command line)")
    parser.add_argument("--status-delay-s", type=float, default=2.0)
    parser.add_argument("--outcome", action="append", default=[], metavar="DIGITS=CODE",
                        help="answer this recipient with an error code (131047, 131056, 131026)")
    args = parser.parse_args(argv)
    outcomes = {k: int(v) for k, v in (o.split("=", 1) for o in args.outcome)}
    api = FakeCloudApi(args.phone_number_id, args.token, args.webhook_url, args.app_secret, args.status_delay_s,
                       outcomes=outcomes).start(args.port)
    print(f"fake WhatsApp Cloud API on {api.base_url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        api.stop()


if __name__ == "__main__":
    main()
