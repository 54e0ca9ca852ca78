"""The scenario library's network namespaces (bench/scenario/netns.py): made, cut, restored and removed."""
from __future__ import annotations

import subprocess
import time

import pytest

from bench.scenario import netns


def ip(*args: str) -> str:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=True).stdout


def eventually(check, timeout_s: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_the_probe_says_why_without_root(monkeypatch):
    monkeypatch.setattr(netns.os, "geteuid", lambda: 1000)
    assert "root" in netns.unavailable()


def test_a_network_is_made_cut_restored_and_removed():
    why = netns.unavailable()
    if why:
        pytest.skip(f"cannot make network namespaces here: {why}")
    net = netns.Network(hosts=2).start()
    try:
        names = ip("netns", "list")
        assert net.server_ns in names and net.host_ns(1) in names and net.host_ns(2) in names
        assert net.server_ip.startswith("198.18.") and net.host_ip(2) == net.prefix + "12"
        assert net.host_ip(1) in ip("-n", net.host_ns(1), "addr", "show")
        inner = f"jq{net.run_id}-1n"
        net.cut(1)
        assert eventually(lambda: "NO-CARRIER" in ip("-n", net.host_ns(1), "link", "show", inner))
        net.restore(1)
        assert eventually(lambda: "NO-CARRIER" not in ip("-n", net.host_ns(1), "link", "show", inner))
    finally:
        net.close()
    assert net.run_id not in ip("netns", "list") and net.run_id not in ip("-o", "link", "show")
