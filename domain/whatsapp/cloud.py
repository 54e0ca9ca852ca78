"""The WhatsApp Business Cloud API provider (text and template messages over HTTPS) and its error triage."""
from __future__ import annotations

import json
import os
import threading
from typing import Any

import httpx
import urllib3

from .base import SendError, SendResult


DEFAULT_RETRY_AFTER_S = 60.0

# Graph API error codes that mean "the recipient or the request is wrong": retrying cannot help.
INVALID_REQUEST_CODES = {
    100,  # invalid parameter
    131008,  # required parameter missing
    131009,  # parameter value invalid
    131021,  # recipient cannot be the sender
    131026,  # message undeliverable (not on WhatsApp, old client, ...)
    131030,  # recipient phone number not in allowed list
    131047,  # re-engagement: more than 24 h since the customer last replied
    131051,  # unsupported message type
}
AUTH_CODES = {0, 190}  # auth exception, access token expired or invalid
PERMISSION_CODES = {3, 10, 200, 131031}  # capability, permission denied, account locked
THROTTLE_CODES = {4, 80007, 130429, 131048, 131056}  # app, WABA, throughput, spam and pair rate limits
TRANSIENT_CODES = {1, 2, 131000, 131016, 133004}  # unknown, service unavailable, server unavailable


_clients: dict[tuple[int, float], httpx.Client] = {}
_pools: dict[tuple[int, float], urllib3.PoolManager] = {}
_clients_lock = threading.Lock()


def shared_client(timeout_s: float) -> httpx.Client:
    """One pooled HTTP client per process and timeout, shared by every caller (and thread): building a
    client per call costs an SSL context (~10 ms of CPU), which caps a process at a few dozen calls a
    second. Keyed by process id, so a forked worker never uses its parent's connections."""
    key = (os.getpid(), timeout_s)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = httpx.Client(timeout=timeout_s, limits=httpx.Limits(
                max_connections=200, max_keepalive_connections=100))
        return client


def shared_pool(timeout_s: float) -> urllib3.PoolManager:
    """The sends' pooled keep-alive connections, one pool per process and timeout (keyed by process id, as
    shared_client): urllib3 costs about half of httpx's CPU per request, and the sends are what a worker's
    slots do all day. No retries: a POST that may have arrived is never repeated here."""
    key = (os.getpid(), timeout_s)
    with _clients_lock:
        pool = _pools.get(key)
        if pool is None:
            pool = _pools[key] = urllib3.PoolManager(maxsize=100, timeout=urllib3.Timeout(timeout_s), retries=False)
        return pool


class CloudProvider:
    """POSTs `{base_url}/{phone_number_id}/messages` with a bearer token over the process's pooled connections."""

    name = "cloud"
    resend_is_harmless = False

    def __init__(self, base_url: str, phone_number_id: str | None, token: str | None, timeout_s: float,
                 *, transport: httpx.BaseTransport | None = None):
        self.base_url = base_url.rstrip("/")
        self.phone_number_id = phone_number_id
        self.token = token
        self.timeout_s = timeout_s
        self.transport = transport

    def send_text(self, phone: str, body: str, *, idempotency_key: str) -> SendResult:
        """One text message; the Cloud API has no idempotency key, so `idempotency_key` is unused here."""
        return self._send(*self._request(phone, _text(body)))

    def send_template(self, phone: str, name: str, language: str, params: list[str], *,
                      idempotency_key: str) -> SendResult:
        """One approved template message, its params as the body component's text parameters."""
        return self._send(*self._request(phone, _template(name, language, params)))

    async def asend_text(self, phone: str, body: str, *, idempotency_key: str) -> SendResult:
        """send_text on the running event loop (aiohttp), for async slots."""
        return await self._asend(*self._request(phone, _text(body)))

    async def asend_template(self, phone: str, name: str, language: str, params: list[str], *,
                             idempotency_key: str) -> SendResult:
        """send_template on the running event loop (aiohttp), for async slots."""
        return await self._asend(*self._request(phone, _template(name, language, params)))

    def _request(self, phone: str, content: dict[str, Any]) -> tuple[str, dict[str, str], bytes]:
        if not self.phone_number_id or not self.token:
            raise SendError("WHATSAPP_PHONE_NUMBER_ID and WHATSAPP_TOKEN must be set for the cloud provider",
                            retryable=False, code="config")
        payload = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": phone.lstrip("+"),
                   **content}
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        return f"{self.base_url}/{self.phone_number_id}/messages", headers, json.dumps(payload).encode()

    def _send(self, url: str, headers: dict[str, str], body: bytes) -> SendResult:
        try:
            if self.transport is None:
                raw = shared_pool(self.timeout_s).request("POST", url, body=body, headers=headers)
                response = httpx.Response(raw.status, headers=list(raw.headers.items()), content=raw.data)
            else:  # a test's transport
                with httpx.Client(timeout=self.timeout_s, transport=self.transport) as client:
                    response = client.post(url, content=body, headers=headers)
        except urllib3.exceptions.NewConnectionError as exc:  # before timeouts: urllib3 makes it one of them
            raise SendError(f"connection error: {type(exc).__name__}: {exc}", retryable=True,
                            code="connection") from exc
        except (httpx.TimeoutException, urllib3.exceptions.TimeoutError) as exc:
            raise self._timed_out(exc) from exc
        except (httpx.TransportError, urllib3.exceptions.HTTPError) as exc:
            raise SendError(f"connection error: {type(exc).__name__}: {exc}", retryable=True,
                            code="connection") from exc
        return interpret(response)

    async def _asend(self, url: str, headers: dict[str, str], body: bytes) -> SendResult:
        import aiohttp  # here, not at the top: ~10 MB a process, and only async senders need it

        from . import cloud_async
        try:
            status, reply_headers, data = await cloud_async.post(url, headers, body, self.timeout_s)
        except TimeoutError as exc:
            raise self._timed_out(exc) from exc
        except aiohttp.ClientError as exc:
            raise SendError(f"connection error: {type(exc).__name__}: {exc}", retryable=True,
                            code="connection") from exc
        return interpret(httpx.Response(status, headers=reply_headers, content=data))

    def _timed_out(self, exc: Exception) -> SendError:
        return SendError(f"timed out after {self.timeout_s:g} s: {type(exc).__name__}", retryable=True, code="timeout")


def _text(body: str) -> dict[str, Any]:
    return {"type": "text", "text": {"preview_url": False, "body": body}}


def _template(name: str, language: str, params: list[str]) -> dict[str, Any]:
    template: dict[str, Any] = {"name": name, "language": {"code": language}}
    if params:
        template["components"] = [{"type": "body", "parameters": [{"type": "text", "text": p} for p in params]}]
    return {"type": "template", "template": template}


def interpret(response: httpx.Response) -> SendResult:
    """The send's result from the API's answer, or the SendError that says whether retrying can help."""
    if response.status_code < 300:
        return _parse_success(response)
    raise classify_error(response)


def _parse_success(response: httpx.Response) -> SendResult:
    try:
        message_id = response.json()["messages"][0]["id"]
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        # Accepted (2xx) but unreadable: sending again could duplicate, so do not retry.
        raise SendError(f"HTTP {response.status_code} without a message id: {response.text[:300]}",
                        retryable=False, code="bad_response", http_status=response.status_code) from exc
    return SendResult(provider_message_id=str(message_id), status="sent")


def _error_body(response: httpx.Response) -> dict[str, Any]:
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return {}
    return error if isinstance(error, dict) else {}


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(1.0, float(response.headers.get("Retry-After", "")))
    except ValueError:  # absent, or an HTTP date: use the default
        return DEFAULT_RETRY_AFTER_S


def classify_error(response: httpx.Response) -> SendError:
    """Turn a non-2xx response into a SendError that says whether retrying can help."""
    status = response.status_code
    error = _error_body(response)
    code = error.get("code")
    text = f"HTTP {status}"
    if code is not None:
        text += f" code {code}"
        if error.get("error_subcode") is not None:
            text += f"/{error['error_subcode']}"
    text += f": {error.get('message') or response.text[:300] or response.reason_phrase}"
    details = (error.get("error_data") or {}).get("details") if isinstance(error.get("error_data"), dict) else None
    if details:
        text += f" ({details})"
    if error.get("fbtrace_id"):
        text += f" [fbtrace_id {error['fbtrace_id']}]"
    code_text = str(code) if code is not None else None
    if status == 429 or code in THROTTLE_CODES:
        return SendError(text, retryable=True, code=code_text, http_status=status, retry_after_s=_retry_after(response))
    if status == 401 or code in AUTH_CODES:
        return SendError(f"authentication failed: {text}", retryable=False, code=code_text, http_status=status)
    if status >= 500 or code in TRANSIENT_CODES or status == 408:
        return SendError(text, retryable=True, code=code_text, http_status=status)
    if code in INVALID_REQUEST_CODES or code in PERMISSION_CODES or 400 <= status < 500:
        return SendError(text, retryable=False, code=code_text, http_status=status)
    return SendError(text, retryable=True, code=code_text, http_status=status)
