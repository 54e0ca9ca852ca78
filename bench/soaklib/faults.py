"""The soak's children (workers, schedulers, the outbox relay) and the faults injected into them.

Process faults: SIGKILL a worker, a scheduler, or the relay (sometimes respawned to crash between
enqueue and mark-sent), and a scheduler respawned to crash at one step of a tick. Server faults,
one at a time: graceful restart, dropped client connections, a memory-full episode (maxmemory just
above used_memory for a few seconds) and a frozen server (SIGSTOP, then SIGCONT ~1-2 s later).
"""
from __future__ import annotations

import random
import sys
import time
from pathlib import Path
from typing import Any, Callable

import redis

from engine import keys
from engine.ticks import CRASH_EXIT, CRASH_POINTS

from . import ticks
from .outbox import relay_argv
from .plan import QUEUES, SoakConfig
from bench.scenario.processes import Child, child_env, exit_record
from bench.scenario.servers import Server

FAULT_WEIGHTS = {"worker_kill": 4, "client_kill": 2, "scheduler_kill": 2, "scheduler_tick_kill": 2, "relay_kill": 2,
                 "server_restart": 1, "memory_full": 1, "server_freeze": 1}
FAULTS = tuple(FAULT_WEIGHTS)
SERVER_FAULTS = {"server_restart", "client_kill", "memory_full", "server_freeze"}
QUIET_AFTER_EPISODE_S = 1.5  # between two server faults, so the schedulers' outages never add up
MEMORY_MARGIN = 100_000  # bytes above used_memory for a memory-full episode


class Chaos:
    """Starts, supervises and breaks the children and the server."""

    def __init__(self, cfg: SoakConfig, work_dir: Path, env: dict[str, str], server: Server,
                 log: Callable[[str], None]):
        self.cfg, self.work_dir, self.server, self.log = cfg, work_dir, server, log
        self.env = child_env(env, work_dir)
        self.rng = random.Random(cfg.seed + 1)
        self.workers: list[Child] = []
        self.schedulers: list[Child] = []
        self.relay: Child | None = None
        self.generation = 0
        self.killed_workers: set[str] = set()
        self.counts = {name: 0 for name in FAULTS}
        self.clients_killed = 0
        self.crashes_at_step: dict[str, int] = {}  # SCHEDULER_CRASH_AT exits seen, by step
        self.relay_crashes = 0  # relays that exited between enqueue and mark-sent
        self.self_exits: list[dict[str, Any]] = []  # children that exited without being asked to
        self.episode: tuple[str, float] | None = None  # the server fault in progress and its end
        self.quiet_until = 0.0
        self._first_round = [f for f in FAULTS if f != "scheduler_tick_kill"]
        self.rng.shuffle(self._first_round)
        self._first_round.append("scheduler_tick_kill")  # first: its crash needs a tick to come

    # -- children
    def _start(self, name: str, argv: list[str], **extra: str) -> Child:
        return Child(name, argv, {**self.env, **extra}, self.work_dir / "logs" / f"{name}.log").start()

    def _worker(self, slot: int) -> Child:
        self.generation += 1
        name = f"soak-w{slot}-g{self.generation}"
        return self._start(name, [sys.executable, "-m", "engine", "worker", "--queues", ",".join(QUEUES),
                                  "--name", name])

    def _scheduler(self, slot: int, crash_at: str | None = None) -> Child:
        self.generation += 1
        extra = {"SCHEDULER_CRASH_AT": crash_at} if crash_at else {}
        return self._start(f"soak-s{slot}-g{self.generation}" + (f"-crash-{crash_at}" if crash_at else ""),
                           [sys.executable, "-m", "bench.soaklib.ticks"], **extra)

    def _relay(self, crash: bool = False) -> Child:
        self.generation += 1
        extra = {"OUTBOX_RELAY_CRASH_AT": "after-enqueue"} if crash else {}
        return self._start(f"soak-relay-g{self.generation}" + ("-crash" if crash else ""), relay_argv(), **extra)

    def start(self) -> None:
        self.workers = [self._worker(i) for i in range(self.cfg.workers)]
        self.schedulers = [self._scheduler(i) for i in range(self.cfg.schedulers)]
        self.relay = self._relay()

    def supervise(self) -> None:
        """Respawn children that exited by themselves; a planned crash is counted, not reported."""
        for i, child in enumerate(self.workers):
            if not child.alive:
                self.self_exits.append(exit_record(child))
                self.workers[i] = self._worker(i)
        for i, child in enumerate(self.schedulers):
            if not child.alive:
                step = child.env.get("SCHEDULER_CRASH_AT")
                if step and child.proc.returncode == CRASH_EXIT:
                    self.crashes_at_step[step] = self.crashes_at_step.get(step, 0) + 1
                else:
                    self.self_exits.append(exit_record(child))
                self.schedulers[i] = self._scheduler(i)
        if self.relay is not None and not self.relay.alive:
            if "OUTBOX_RELAY_CRASH_AT" in self.relay.env and self.relay.proc.returncode == CRASH_EXIT:
                self.relay_crashes += 1
            else:
                self.self_exits.append(exit_record(self.relay))
            self.relay = self._relay()

    def children(self) -> list[Child]:
        return self.workers + self.schedulers + ([self.relay] if self.relay else [])

    # -- choosing and injecting
    def server_busy(self) -> bool:
        return self.episode is not None or time.monotonic() < self.quiet_until

    def next_fault(self) -> str:
        if self._first_round and not (self._first_round[-1] in SERVER_FAULTS and self.server_busy()):
            return self._first_round.pop()
        names = [f for f in FAULTS if not (f in SERVER_FAULTS and self.server_busy())]
        return self.rng.choices(names, weights=[FAULT_WEIGHTS[f] for f in names])[0]

    def inject(self, fault: str) -> bool:
        done = getattr(self, f"_{fault}")()
        if done:
            self.counts[fault] += 1
            if fault in SERVER_FAULTS and self.episode is None:
                self.quiet_until = time.monotonic() + QUIET_AFTER_EPISODE_S
        elif fault not in self._first_round and self.counts[fault] == 0:
            self._first_round.append(fault)  # every fault type at least once
        return done

    def end_episode(self, force: bool = False) -> None:
        """End the memory-full or frozen-server episode once its time is up (or now, with `force`)."""
        if self.episode is None or (not force and time.monotonic() < self.episode[1]):
            return
        kind = self.episode[0]
        if kind == "server_freeze":
            self.server.thaw()
        else:
            for _ in range(50):
                try:
                    with self._admin() as admin:
                        admin.config_set("maxmemory", 0)
                    break
                except redis.RedisError:
                    time.sleep(0.1)
        self.episode = None
        self.quiet_until = time.monotonic() + QUIET_AFTER_EPISODE_S

    def _admin(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.server.port, socket_timeout=2, socket_connect_timeout=2)

    def _busy(self) -> set[str]:
        """Names of workers running a job right now (members `id|worker` of the active sets)."""
        try:
            with self._admin() as admin:
                return {m.decode().split("|", 1)[-1] for q in QUEUES for m in admin.zrange(keys.active(q), 0, -1)}
        except redis.RedisError:
            return set()

    # -- the faults
    def _worker_kill(self) -> bool:
        """SIGKILL a worker, preferably one in the middle of a job, and start a new one in its place."""
        live = [i for i, w in enumerate(self.workers) if w.alive]
        if not live:
            return False
        busy = self._busy() if self.episode is None else set()
        running = [i for i in live if self.workers[i].name in busy]
        i = self.rng.choice(running if running and self.rng.random() < 0.8 else live)
        self.workers[i].kill()
        self.killed_workers.add(self.workers[i].name)
        self.workers[i] = self._worker(i)
        return True

    def _replace_scheduler(self, crash_at: str | None) -> bool:
        live = [i for i, s in enumerate(self.schedulers) if s.alive and "SCHEDULER_CRASH_AT" not in s.env]
        if not live:
            return False
        i = self.rng.choice(live)
        self.schedulers[i].kill()
        self.schedulers[i] = self._scheduler(i, crash_at)
        return True

    def _scheduler_kill(self) -> bool:
        return self._replace_scheduler(None)

    def _scheduler_tick_kill(self) -> bool:
        """Replace a scheduler with one that exits at a random step of its next tick."""
        first = self.counts["scheduler_tick_kill"] == 0
        return self._replace_scheduler("before-call-claim" if first else self.rng.choice(CRASH_POINTS))

    def _relay_kill(self) -> bool:
        """SIGKILL the relay; half the time the new one exits after its next enqueue, before mark-sent."""
        if self.relay is not None and self.relay.alive and "OUTBOX_RELAY_CRASH_AT" in self.relay.env:
            return False  # let the armed relay reach its crash first
        if self.relay is not None:
            self.relay.kill()
        self.relay = self._relay(crash=self.rng.random() < 0.5)
        return True

    def _server_restart(self) -> bool:
        self.server.restart(down_s=self.rng.uniform(0.2, 1.5))
        return True

    def _client_kill(self) -> bool:
        try:
            with self._admin() as admin:
                killed = int(admin.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"))
        except redis.RedisError:
            return False
        self.clients_killed += killed
        return killed > 0

    def _memory_full(self) -> bool:
        try:
            with self._admin() as admin:
                used = int(admin.info("memory")["used_memory"])
                admin.config_set("maxmemory", used + MEMORY_MARGIN)
        except redis.RedisError:
            return False
        self.episode = ("memory_full", time.monotonic() + self.rng.uniform(1.5, 2.5))
        return True

    def _server_freeze(self) -> bool:
        if not self.server.freeze():
            return False
        self.episode = ("server_freeze", time.monotonic() + self.rng.uniform(1.0, 2.0))
        return True


def tick_env(cfg: SoakConfig, wall0: float) -> dict[str, str]:
    """What the soak's schedulers need: the scaled clock."""
    return ticks.clock_env(cfg.tick_scale, wall0)
