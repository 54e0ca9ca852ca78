"""A real webhook receiver for the alert tests: http.server on 127.0.0.1 in a thread."""
from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator


class Receiver:
    """Records every POSTed JSON body; answers with the queued status codes (then 200), or hangs
    (each request waits until release(), at most hang_s) while `hang` is set."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.received_at: list[float] = []
        self.statuses: list[int] = []
        self.hang = threading.Event()
        self.hanging = threading.Event()
        self.released = threading.Event()
        self.hang_s = 20.0
        self.lock = threading.Lock()
        self.url = ""

    def release(self) -> None:
        self.hang.clear()
        self.released.set()

    def of_kind(self, kind: str, state: str | None = None) -> list[dict]:
        with self.lock:
            return [b for b in self.bodies if b["kind"] == kind and (state is None or b["state"] == state)]


@contextmanager
def webhook() -> Iterator[Receiver]:
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            if receiver.hang.is_set():
                receiver.hanging.set()
                receiver.released.wait(receiver.hang_s)
            with receiver.lock:
                receiver.bodies.append(body)
                receiver.received_at.append(time.time())
                status = receiver.statuses.pop(0) if receiver.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.release()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
