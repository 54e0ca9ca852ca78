"""The batched hot path of the slots of one process that serve the same queues (flat combining).

A slot that finished a run queues its completion and either becomes the caller (the first that finds
no call in flight, or a spare lane and several completions queued) or waits for its answer. The caller
sends every queued completion in one `step_many` call, which completes them and takes the next job for
each of those slots, and hands each slot its own answer. With a backlog and many slots, the slots that
finish while a call is in flight share the next call: several jobs per round trip. With two calls in
flight the process builds and hands out one batch while the server runs the other. One slot alone pays
what `step` costs. Nothing is taken ahead: each job taken goes to a slot that is free at that moment,
under its lease.
"""
from __future__ import annotations

import queue
import threading
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from . import keys

if TYPE_CHECKING:
    from .worker import Worker



_YOUR_TURN = object()  # a slot's mailbox message: a call may be made now and your completion is still queued

LANES = 2  # calls in flight at once: the process builds and hands out one batch while the server runs another
SECOND_LANE_MIN = 4  # completions queued before a second call opens; fewer wait to share the next call


class Combiner:
    """Shared by the slots of one SlotSpec; `submit` is called from each slot's thread. Each slot waits
    on a mailbox of its own (a C-level SimpleQueue: a wake-up costs far less than threading.Event)."""

    def __init__(self, lanes: int = LANES, second_lane_min: int = SECOND_LANE_MIN) -> None:
        self._mu = threading.Lock()
        self._lanes, self._second_min = lanes, second_lane_min
        self._in_flight = 0  # calls being made; the slots finishing meanwhile share the next
        self._pending: list[tuple[Worker, list, list, bool, queue.SimpleQueue]] = []
        self._boxes: dict[int, queue.SimpleQueue] = {}
        self.calls = 0
        self.completed = 0

    def _may_call(self) -> bool:
        # under _mu: no call in flight, or a spare lane and enough queued to be worth a call of its own
        return self._in_flight == 0 or (self._in_flight < self._lanes and len(self._pending) >= self._second_min)

    def submit(self, slot: Worker, script_keys: list, args: list, *, take: bool) -> tuple[Any, list]:
        """Complete `slot`'s run (keys and args of complete_run); with take, also take its next job.
        Returns (completed flag, dequeue result)."""
        with self._mu:
            box = self._boxes.get(id(slot))
            if box is None:
                box = self._boxes[id(slot)] = queue.SimpleQueue()
            self._pending.append((slot, script_keys, args, take, box))
        while True:
            with self._mu:
                calling = self._may_call()
                if calling:
                    self._in_flight += 1
            if calling:
                try:
                    self._serve(slot)
                finally:
                    with self._mu:
                        self._in_flight -= 1
                        nxt = self._pending[0][4] if self._pending else None
                if nxt is not None:
                    nxt.put(_YOUR_TURN)  # queued while we called: that slot may make the next call
            answer = box.get()
            if answer is _YOUR_TURN:
                continue
            if isinstance(answer, BaseException):
                raise answer
            return answer

    def _serve(self, caller: Worker) -> None:
        with self._mu:
            batch, self._pending = self._pending, []
        if not batch:
            return
        try:
            replies = self._step_many(caller, batch)
        except BaseException as exc:  # noqa: BLE001 - every slot of the batch gets the error
            replies = [exc] * len(batch)
        for (*_rest, box), reply in zip(batch, replies):
            box.put(reply)

    def _step_many(self, caller: Worker, batch: list) -> list[tuple[Any, list]]:
        replies = step_many(caller, batch)
        self.calls += 1
        self.completed += len(batch)
        return replies


def step_many(caller: Worker, batch: list) -> list[tuple[Any, list]]:
    """One step_many call (per queue slot in cluster mode) for `batch` entries (slot, keys, args, take, _);
    each entry's (completed flag, dequeue result)."""
    if not keys.cluster():
        return _send(caller, batch)
    by_slot: dict[str, list] = {}  # cluster mode: one call per queue slot (the completion's active set)
    for entry in batch:
        by_slot.setdefault(entry[1][0], []).append(entry)
    replies = {id(e): r for group in by_slot.values() for e, r in zip(group, _send(caller, group))}
    return [replies[id(e)] for e in batch]


async def step_many_async(caller: Worker, batch: list, in_thread: Callable[..., Awaitable]) -> list[tuple[Any, list]]:
    """step_many for an event loop (engine/async_slots.py): the call on the loop where the caller can
    (DirectCaller.acall), else in a thread (cluster mode)."""
    acall = getattr(caller._direct, "acall", None)
    if keys.cluster() or acall is None:
        return await in_thread(step_many, caller, batch)
    script_keys, args = _request(caller, batch)
    return _replies(await acall(caller.eng.scripts.step_many, script_keys, args), len(batch))


def _send(caller: Worker, batch: list) -> list[tuple[Any, list]]:
    script_keys, args = _request(caller, batch)
    return _replies(caller._direct(caller.eng.scripts.step_many, script_keys, args), len(batch))


def _request(caller: Worker, batch: list) -> tuple[list, list]:
    script_keys: list = []
    complete_args: list = []
    slot_args: list = []
    for slot, k, a, take, _ in batch:
        script_keys += k
        complete_args += a
        slot_args += [slot.name, slot._dequeue_static[4] if take else "", "1" if take else "0"]
    script_keys += caller._dequeue_keys
    return script_keys, [len(batch), *complete_args, *slot_args, *caller._dequeue_static]


def _replies(out: list, n: int) -> list[tuple[Any, list]]:
    return [(out[i], out[n + i]) for i in range(n)]
