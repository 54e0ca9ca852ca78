"""One job's run in a slot, as steps a thread slot (engine/worker.py) and an async slot (engine/async_slots.py)
share: begin, the processor to call, the outcome (completion or the failure ladder), end."""
from __future__ import annotations

import asyncio
import inspect
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from rq.timeouts import JobTimeoutException

from . import jobctx, jobs, keys
from .errors import JobTimeoutError, UnregisteredFunctionError
from .failures import handle_failure

if TYPE_CHECKING:
    from .worker import Worker


@dataclass
class Run:
    """What a slot knows of the run in hand."""

    queue: str
    job: jobs.RunningJob
    member: str
    trail: bool  # attempts or log lists may exist: the completion gives them the retention TTL
    timeout_s: float
    token: Any  # the jobctx binding
    started: float  # perf_counter at the processor's call


def is_async(func: Callable[..., Any]) -> bool:
    """A processor written as `async def`: its slots can be tasks on one event loop."""
    return inspect.iscoroutinefunction(inspect.unwrap(func))


def begin(slot: Worker, taken: list) -> Run:
    """The taken job (dequeue.lua's reply) becomes the slot's running job, under its deadline."""
    queue, job_id, runs = taken[0].decode(), taken[1].decode(), int(taken[3])
    # attempts or log lists may exist: an earlier run failed (jq_trail), ran (a re-run), or this run logs
    trail = runs > 1 or len(taken) < 9 or taken[8] != b"0"
    slot._last_job = job_id
    F = keys.JobField
    job = jobs.RunningJob.from_raw(slot.eng, job_id, queue, {F.DATA.encode(): taken[5],
                                   F.PRIORITY.encode(): taken[6], F.ENQUEUED_AT.encode(): taken[7]})
    job.fields[F.RUNS] = str(runs)
    timeout_s = slot.eng.table[queue].timeout_s
    member = keys.member(job_id, slot.name)
    with slot._lock:
        slot.member, slot.current_queue, slot._running = member, queue, (queue, job, member)
        slot.deadline, slot.finishing = time.monotonic() + timeout_s, False
    token = jobctx.bind(jobctx.JobContext(slot.eng, job_id, queue, runs))
    return Run(queue, job, member, trail, timeout_s, token, time.perf_counter())


def processor(slot: Worker, run: Run) -> Callable[..., Any]:
    """The queue's own processor, after the before_job hook, for a job naming it or a name the queue also
    accepts (QueuePolicy.also_accepts); any other name is refused, never imported."""
    policy = slot.eng.table[run.queue]
    if not policy.accepts(run.job.func_name):
        raise UnregisteredFunctionError(run.queue, run.job.func_name, policy.func)
    slot.hooks.before_job(run.job, run.queue)
    run.started = time.perf_counter()
    return jobs.processor(policy.func)


def call(func: Callable[..., Any], job: jobs.RunningJob) -> Any:
    """Call a processor in a thread slot; an async one runs to its end on an event loop of its own."""
    result = func(*job.args, **job.kwargs)
    if inspect.isawaitable(result):
        result = asyncio.run(_awaited(result))
    return result


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


def settle_log(slot: Worker, run: Run) -> None:
    """The run's log lines are stored before its outcome, whose step sets the log's TTL."""
    run.trail = slot.eng.job_log.settle(run.job.id) or run.trail


def failed(slot: Worker, run: Run, exc: BaseException) -> None:
    """The run raised (or timed out): down the failure ladder, unless the watchdog already failed it."""
    if isinstance(exc, JobTimeoutException):
        timeout = JobTimeoutError(f"run exceeded the {run.timeout_s} s timeout")
        timeout.__traceback__ = exc.__traceback__
        exc = timeout
    if slot._finish():
        handle_failure(slot.eng, slot.hooks, run.queue, run.job, run.member, exc, run.job.fields, slot.name)


def completed(slot: Worker, run: Run, result: Any) -> tuple[list, list] | None:
    """complete.lua's keys and args for a run that returned, after the after_job hook; None when the
    watchdog already failed it on timeout (the late result is discarded)."""
    if not slot._finish():
        return None
    run_ms = (time.perf_counter() - run.started) * 1000
    slot.hooks.after_job(run.job, run.queue, result)
    return slot.completion(run.queue, run.job.id, run.member, result, run_ms, run.trail)


def end(slot: Worker, run: Run) -> None:
    jobctx.unbind(run.token)
    with slot._lock:
        slot.member, slot._running = "", None
    slot.processed += 1

