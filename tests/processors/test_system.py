"""What `make run` composes for WhatsApp: the fake Cloud API, with the provider and webhook pointed at it."""
import os
import subprocess
import sys
import time

import httpx

from processors.system import dev_credentials, fake_cloud

from tests.engine.support import ROOT


def test_the_demo_runs_the_fake_cloud_api_and_points_the_provider_and_webhook_at_it(tmp_path):
    creds = dev_credentials(tmp_path)
    assert creds["WHATSAPP_APP_SECRET"] and creds["WHATSAPP_VERIFY_TOKEN"]
    assert dev_credentials(tmp_path) == creds  # made once
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    child, env = fake_cloud(creds, port=port)
    assert env["WHATSAPP_PROVIDER"] == "cloud" and env["WHATSAPP_API_BASE_URL"] == f"http://127.0.0.1:{port}/v21.0"
    assert env["WHATSAPP_APP_SECRET"] == creds["WHATSAPP_APP_SECRET"]
    assert creds["WHATSAPP_APP_SECRET"] not in child.argv  # by environment: off `ps`, and "-..." is no option
    proc = subprocess.Popen([sys.executable, *child.argv[1:]], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env={**os.environ, **child.env})
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                reply = httpx.post(f"{env['WHATSAPP_API_BASE_URL']}/{env['WHATSAPP_PHONE_NUMBER_ID']}/messages",
                                   json={"to": "9779820000001", "type": "text", "text": {"body": "hi"}},
                                   headers={"Authorization": f"Bearer {env['WHATSAPP_TOKEN']}"}, timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read().decode()
                time.sleep(0.1)
        assert reply.status_code == 200 and reply.json()["messages"][0]["id"].startswith("wamid.")
        failing = httpx.post(f"{env['WHATSAPP_API_BASE_URL']}/{env['WHATSAPP_PHONE_NUMBER_ID']}/messages",
                             json={"to": "9779820000003"}, headers={"Authorization": f"Bearer {env['WHATSAPP_TOKEN']}"})
        assert failing.status_code == 200  # accepted; its failed status (131026) follows by webhook
    finally:
        proc.terminate()
        proc.wait(10)
