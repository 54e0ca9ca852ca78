"""The slots of a queue whose processor is `async def`: tasks on one event loop in one thread of the process.

A queue given N slots runs at most N of its jobs at once, as thread slots do, and each job's steps are
the same (engine/slot_run.py). What differs is the waiting: finished jobs share step_many calls through an
asyncio twin of batching.Combiner whose calls are awaited on the loop (DirectCaller.acall), so the loop
runs the other tasks meanwhile; one idle task at a time polls or blocks on the server for work (in a
thread) while the others wait their turn in the loop; one thread keeps every task's lease.

Timeouts are the watchdog's, as for thread slots: it fails a run past its deadline and cancels its await
(cancel_run). A coroutine that blocks the loop (a sync sleep, CPU) holds every task of the loop: the
watchdog still fails their jobs on time, and the tasks take work again once it yields.
"""
from __future__ import annotations

import asyncio
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Callable

import redis

from . import slot_run
from .batching import LANES, SECOND_LANE_MIN, step_many_async
from .oom import OutOfMemory

if TYPE_CHECKING:
    from .worker import Worker

log = logging.getLogger("engine.async_slots")

CALL_THREADS = 4  # threads for the loop's round trips: the idle poll, two combined steps, a failure


class AsyncCombiner:
    """batching.Combiner for tasks: completions queued while a call is in flight share the next call."""

    def __init__(self, run_blocking: Callable[..., Any], lanes: int = LANES, second_lane_min: int = SECOND_LANE_MIN,
                 *, alone: bool = False):
        self._run_blocking = run_blocking
        self._alone = alone  # one slot: nothing else could run meanwhile, so the loop makes the plain call
        self._lanes, self._second_min = lanes, second_lane_min
        self._pending: list[tuple[Worker, list, list, bool, asyncio.Future]] = []
        self._in_flight = 0
        self.calls = 0
        self.completed = 0

    async def submit(self, slot: Worker, script_keys: list, args: list, *, take: bool) -> tuple[Any, list]:
        """Complete `slot`'s run; with take, also take its next job. Returns (completed flag, dequeue result)."""
        answer: asyncio.Future = asyncio.get_running_loop().create_future()
        self._pending.append((slot, script_keys, args, take, answer))
        self._maybe_call()
        return await answer

    def _maybe_call(self) -> None:
        if self._pending and (self._in_flight == 0 or
                              (self._in_flight < self._lanes and len(self._pending) >= self._second_min)):
            batch, self._pending = self._pending, []
            self._in_flight += 1
            if not self._alone:
                call = asyncio.ensure_future(step_many_async(batch[0][0], batch, self._run_blocking))
                call.add_done_callback(lambda done: self._answer(batch, done))
                return
            call = asyncio.get_running_loop().create_future()
            try:
                call.set_result([_step(*entry[:4]) for entry in batch])
            except Exception as exc:  # noqa: BLE001 - the slot gets the error, as from a call in flight
                call.set_exception(exc)
            self._answer(batch, call)

    def _answer(self, batch: list, done: asyncio.Future) -> None:
        self._in_flight -= 1
        error = done.exception()
        replies = [error] * len(batch) if error is not None else done.result()
        self.calls += 1
        self.completed += len(batch)
        for (*_rest, answer), reply in zip(batch, replies):
            if not answer.done():
                if isinstance(reply, BaseException):
                    answer.set_exception(reply)
                else:
                    answer.set_result(reply)
        self._maybe_call()


def _step(slot: Worker, script_keys: list, args: list, take: bool) -> tuple[Any, list]:
    """One slot's completion and, with take, its next job: the step a thread slot alone makes."""
    if not take:
        return slot._direct(slot.eng.scripts.complete, script_keys, args), [b""]
    out = slot._direct(slot.eng.scripts.step, script_keys + slot._dequeue_keys, args + slot._dequeue_static)
    return out[0], out[1:]


class AsyncSlots:
    """`slots` (Workers, marked watched) run as tasks of one loop in one thread, until stopped or a burst ends."""

    def __init__(self, slots: list[Worker], *, burst: bool = False):
        self.slots = slots
        self.burst = burst
        self.stopping = False
        self.combiner: AsyncCombiner | None = None
        self._calls = ThreadPoolExecutor(CALL_THREADS, thread_name_prefix="slot call")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._awaiting: dict[int, tuple[str, asyncio.Task]] = {}  # slot -> (job id, task) while in its processor
        self.thread = threading.Thread(target=self._main, daemon=True, name=f"async slots {slots[0].name}")
        self._beats = threading.Thread(target=self._heartbeat_loop, daemon=True, name="async heartbeat")

    def start(self) -> None:
        self.thread.start()
        self._beats.start()

    def stop(self) -> None:
        """Warm stop: every task finishes its running job and takes no new one."""
        self.stopping = True
        for slot in self.slots:
            slot.stopping = True

    def cancel_run(self, slot: Worker) -> None:
        """From the watchdog, which failed `slot`'s run on timeout: cancel that run's await on the loop."""
        with slot._lock:
            job_id = slot._running[1].id if slot._running else None
        if self._loop is not None and job_id is not None:
            self._loop.call_soon_threadsafe(self._cancel, id(slot), job_id)

    def _cancel(self, slot_id: int, job_id: str) -> None:
        job_and_task = self._awaiting.get(slot_id)
        if job_and_task is not None and job_and_task[0] == job_id:  # still inside that run's processor
            job_and_task[1].cancel()

    def _main(self) -> None:
        try:
            asyncio.run(self._run_all())
        finally:
            self.stopping = True
            self._calls.shutdown(wait=False)

    async def _run_all(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.combiner = AsyncCombiner(self._blocking, alone=len(self.slots) == 1)
        idle = asyncio.Lock()  # one idle slot at a time asks the server for work
        await asyncio.gather(*(self._run_slot(slot, idle) for slot in self.slots))

    def _blocking(self, func: Callable[..., Any], *args: Any) -> asyncio.Future:
        assert self._loop is not None
        return self._loop.run_in_executor(self._calls, func, *args)

    async def _run_slot(self, slot: Worker, idle: asyncio.Lock) -> None:
        await self._blocking(slot._register)
        try:
            while not (slot.stopping and slot._next is None):
                try:
                    taken = slot._next
                    slot._next = None
                    if taken is None:
                        async with idle:
                            taken = await self._take(slot)
                        if taken is None:
                            break
                    await self._execute(slot, taken)
                except (redis.ConnectionError, redis.TimeoutError) as exc:
                    log.warning("server unreachable (%s); retrying in 1 s", exc)
                    slot._reply_lost = True
                    await asyncio.sleep(1.0)
                except OutOfMemory as exc:
                    await asyncio.sleep(slot.oom.refused("taking a job", exc))
        finally:
            slot.stopping = True
            await self._blocking(slot._unregister)

    async def _take(self, slot: Worker) -> list | None:
        """The next job for `slot`; None once stopping, or when a burst has nothing left."""
        while not slot.stopping:
            got = await self._blocking(slot.take_or_wait)
            if got is False:
                return None
            if got is not True:
                return got
        return None

    async def _execute(self, slot: Worker, taken: list) -> None:
        run = slot_run.begin(slot, taken)
        try:
            try:
                func = slot_run.processor(slot, run)
                self._awaiting[id(slot)] = (run.job.id, asyncio.current_task())
                try:
                    result = await func(*run.job.args, **run.job.kwargs)
                finally:
                    del self._awaiting[id(slot)]
            finally:
                slot_run.settle_log(slot, run)
        except asyncio.CancelledError:
            if not slot.abandoned:
                raise  # the loop is shutting down
            return  # the watchdog failed this run on timeout and cancelled it (cancel_run)
        except Exception as exc:  # noqa: BLE001 - any processor error goes down the failure ladder
            await self._blocking(slot_run.failed, slot, run, exc)
        else:
            completion = slot_run.completed(slot, run, result)
            if completion is not None:
                await self._complete(slot, run.job.id, *completion)
        finally:
            slot_run.end(slot, run)
            with slot._lock:
                if slot.abandoned:  # the watchdog failed that run on timeout; the task is free again
                    slot.abandoned, slot.stopping = False, self.stopping

    async def _complete(self, slot: Worker, job_id: str, script_keys: list, args: list) -> None:
        assert self.combiner is not None
        done, taken = await self.combiner.submit(slot, script_keys, args, take=not slot.stopping and slot._can_step)
        if taken and taken[0] != b"":
            slot._next = taken
        if not done:
            log.warning("job %s finished after its lease was taken over; its result was not recorded", job_id)

    def _heartbeat_loop(self) -> None:
        """One thread keeps every task's lease (a thread slot has a heartbeat thread of its own)."""
        interval = self.slots[0].eng.settings.lease_ms / 3000
        while self.thread.is_alive():
            for slot in self.slots:
                try:
                    slot._beat()
                except OutOfMemory as exc:
                    slot.oom.refused("heartbeat", exc)
                except redis.RedisError as exc:
                    log.warning("heartbeat failed: %s", exc)
            time.sleep(interval)

