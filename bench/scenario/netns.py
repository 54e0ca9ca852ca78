"""Network namespaces for scenarios: a server and worker "hosts" on one bridge, each link cuttable.

Every name carries a random run id (namespaces `jq<id>-srv`, `jq<id>-h1`, ...; the bridge `jqb<id>`), so
runs never collide, and close() removes all of it. Addresses come from 198.18.0.0/15, the range set aside
for benchmarking networks (RFC 2544), one /24 per run that no interface on the machine already uses; the
bridge in the root namespace holds .1 (the scenario's own producer and checks), the server .2, host k .10+k.
"""
from __future__ import annotations

import os
import random
import shutil
import subprocess
import uuid
from dataclasses import dataclass, field


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10, check=check)


def unavailable() -> str | None:
    """Why this process cannot make namespaces here (None: it can); probed by making and removing one."""
    if os.name != "posix" or not hasattr(os, "geteuid"):
        return "network namespaces need Linux"
    if shutil.which("ip") is None:
        return "the `ip` command (iproute2) is not installed"
    if os.geteuid() != 0:
        return "creating network namespaces needs root (ip netns add)"
    probe = f"jqprobe{uuid.uuid4().hex[:6]}"
    made = _ip("netns", "add", probe, check=False)
    if made.returncode != 0:
        return f"ip netns add failed: {made.stderr.strip() or made.returncode}"
    _ip("netns", "del", probe, check=False)
    probe_if = f"jqp{uuid.uuid4().hex[:6]}"
    made = _ip("link", "add", probe_if, "type", "veth", "peer", "name", probe_if + "x", check=False)
    if made.returncode != 0:
        return f"veth pairs cannot be made: {made.stderr.strip() or made.returncode}"
    _ip("link", "del", probe_if, check=False)
    return None


def _free_subnet() -> str:
    """A 198.18.N. prefix no interface here uses."""
    used = _ip("-4", "addr", "show", check=False).stdout
    for _ in range(100):
        prefix = f"198.18.{random.randrange(1, 255)}."
        if prefix not in used:
            return prefix
    raise RuntimeError("no free 198.18.N.0/24 subnet")


@dataclass
class Network:
    """The server's namespace and `hosts` worker namespaces, each joined to the bridge by a veth pair."""

    hosts: int
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:5])
    prefix: str = ""
    made_ns: list[str] = field(default_factory=list)
    made_links: list[str] = field(default_factory=list)

    @property
    def server_ns(self) -> str:
        """The server's namespace."""
        return f"jq{self.run_id}-srv"

    @property
    def server_ip(self) -> str:
        return self.prefix + "2"

    def host_ns(self, k: int) -> str:
        return f"jq{self.run_id}-h{k}"

    def host_ip(self, k: int) -> str:
        return f"{self.prefix}{10 + k}"

    def _link(self, k: int) -> str:
        """The root-namespace end of node k's veth (0 is the server); cut() sets it down."""
        return f"jq{self.run_id}-{k}r"

    def start(self) -> "Network":
        """Make the bridge and namespaces; on any failure removes what was made and raises."""
        try:
            self.prefix = _free_subnet()
            bridge = f"jqb{self.run_id}"
            _ip("link", "add", bridge, "type", "bridge")
            self.made_links.append(bridge)
            _ip("addr", "add", self.prefix + "1/24", "dev", bridge)
            _ip("link", "set", bridge, "up")
            nodes = [(0, self.server_ns, self.server_ip)] + [(k, self.host_ns(k), self.host_ip(k))
                                                               for k in range(1, self.hosts + 1)]
            for k, ns, addr in nodes:
                _ip("netns", "add", ns)
                self.made_ns.append(ns)
                outer, inner = self._link(k), f"jq{self.run_id}-{k}n"
                _ip("link", "add", outer, "type", "veth", "peer", "name", inner)
                self.made_links.append(outer)
                _ip("link", "set", inner, "netns", ns)
                _ip("link", "set", outer, "master", bridge)
                _ip("link", "set", outer, "up")
                _ip("-n", ns, "addr", "add", addr + "/24", "dev", inner)
                _ip("-n", ns, "link", "set", inner, "up")
                _ip("-n", ns, "link", "set", "lo", "up")
        except BaseException:
            self.close()
            raise
        return self

    def exec_argv(self, ns: str, argv: list[str]) -> list[str]:
        """`argv` run inside namespace `ns` (ip netns exec replaces itself with the program)."""
        return ["ip", "netns", "exec", ns, *argv]

    def cut(self, k: int) -> None:
        """Take host k's link down: its packets go nowhere until restore(k)."""
        _ip("link", "set", self._link(k), "down")

    def restore(self, k: int) -> None:
        """Bring host k's link back up."""
        _ip("link", "set", self._link(k), "up")

    def close(self) -> None:
        """Remove every namespace and link this run made (a namespace takes its veth ends with it)."""
        for ns in reversed(self.made_ns):
            _ip("netns", "del", ns, check=False)
        for link in reversed(self.made_links):
            _ip("link", "del", link, check=False)
        self.made_ns, self.made_links = [], []
