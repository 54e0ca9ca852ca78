"""The batched hot path of the slots of one process that serve the same queues (flat combining).

A slot that finished a run queues its completion and either becomes the caller (the first that finds
no call in flight) or waits for its answer. The caller sends every queued completion in one
`step_many` call, which completes them and takes the next job for each of those slots, and hands
each slot its own answer. With a backlog and many slots, the slots that finish while one call is in
flight share the next call: several jobs per round trip. One slot alone pays what `step` costs.
Nothing is taken ahead: each job taken goes to a slot that is free at that moment, under its lease.
"""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .worker import Worker



class Combiner:
    """Shared by the slots of one SlotSpec; `submit` is called from each slot's thread."""

    def __init__(self) -> None:
        self._mu = threading.Lock()
        self._call = threading.Lock()  # one call in flight: the slots finishing meanwhile share the next
        self._pending: list[tuple[Worker, list, list, bool, threading.Event]] = []
        self._answers: dict[int, tuple[Any, list] | BaseException] = {}
        self._events: dict[int, threading.Event] = {}
        self.calls = 0
        self.completed = 0

    def submit(self, slot: Worker, script_keys: list, args: list, *, take: bool) -> tuple[Any, list]:
        """Complete `slot`'s run (keys and args of complete_run); with take, also take its next job.
        Returns (completed flag, dequeue result)."""
        me = id(slot)
        with self._mu:
            event = self._events.setdefault(me, threading.Event())
            event.clear()
            self._pending.append((slot, script_keys, args, take, event))
        while True:
            if self._call.acquire(blocking=False):
                try:
                    self._serve(slot)
                finally:
                    self._call.release()
                with self._mu:
                    waiting = self._pending[0][4] if self._pending else None
                if waiting is not None:
                    waiting.set()  # queued while we called: that slot makes the next call
            with self._mu:
                answer = self._answers.pop(me, None)
            if answer is not None:
                if isinstance(answer, BaseException):
                    raise answer
                return answer
            event.wait()
            event.clear()

    def _serve(self, caller: Worker) -> None:
        with self._mu:
            batch, self._pending = self._pending, []
        if not batch:
            return
        try:
            replies = self._step_many(caller, batch)
        except BaseException as exc:  # noqa: BLE001 - every slot of the batch gets the error
            replies = [exc] * len(batch)
        with self._mu:
            for (slot, *_rest, event), reply in zip(batch, replies):
                self._answers[id(slot)] = reply
        for *_rest, event in batch:
            event.set()

    def _step_many(self, caller: Worker, batch: list) -> list[tuple[Any, list]]:
        n = len(batch)
        script_keys: list = []
        complete_args: list = []
        slot_args: list = []
        for slot, k, a, take, _ in batch:
            script_keys += k
            complete_args += a
            slot_args += [slot.name, slot._dequeue_static[4], "1" if take else "0"]
        script_keys += caller._dequeue_keys
        out = caller._direct(caller.eng.scripts.step_many, script_keys,
                             [n, *complete_args, *slot_args, *caller._dequeue_static])
        self.calls += 1
        self.completed += n
        return [(out[i], out[n + i]) for i in range(n)]
