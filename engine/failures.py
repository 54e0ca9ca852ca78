"""The one failure ladder: exception -> log -> metric -> retry, back-pressure or dead-letter.

Used by the worker for a run that raised, and by the reaper for a run whose worker died.
"""
from __future__ import annotations

import json
import logging
import random
import time
import traceback as tb_module
from typing import Any

from . import keys
from .app import Engine
from .errors import JobCancelled, PermanentError, ProviderBackPressure
from .failure_groups import signature
from .hooks import Hooks
from .job_ids import in_queue
from .jobs import RunningJob

log = logging.getLogger("engine.failures")


def describe(exc: BaseException, worker: str, run: int, func_name: str) -> dict[str, Any]:
    """One attempt's error record: type, message, traceback, worker, time, run, function."""
    frames = tb_module.extract_tb(exc.__traceback__) if exc.__traceback__ else []
    named = getattr(exc, "named", None)  # UnregisteredFunctionError: group by the function the job named
    function = named or (frames[-1].name if frames else func_name.rsplit(".", 1)[-1])
    return {
        "type": type(exc).__name__,
        "message": str(exc)[:2000],
        "traceback": "".join(tb_module.format_exception(exc))[-8000:],
        "worker": worker,
        "time": time.time(),
        "run": run,
        "function": function,
    }


def decide(eng: Engine, queue: str, exc: BaseException, runs: int, *, cancel_requested: bool = False) -> tuple[str, int]:
    """(action, wait_ms) for a failed run number `runs` of a job on `queue`. A cancelled job (or one whose
    run ended in any error after a cancel was asked) is never retried nor dead-lettered."""
    policy = eng.table[queue]
    if isinstance(exc, JobCancelled) or cancel_requested:
        return "cancelled", 0
    if isinstance(exc, ProviderBackPressure):
        return "pressure", int(exc.retry_after_s * 1000)
    if isinstance(exc, PermanentError) or runs >= policy.max_runs:
        return "dead", 0
    wait_s = policy.wait_s(runs) * eng.settings.delay_scale
    if policy.jitter:
        wait_s *= random.uniform(1.0, 1.25)  # only ever later, never earlier than the documented wait
    return "retry", int(round(wait_s * 1000))


def fail_step(eng: Engine, queue: str, job: RunningJob, member: str, exc: BaseException, fields: dict[str, str],
              worker: str, *, cancel_requested: bool = False) -> tuple[str, dict[str, Any], list[str], list[Any]]:
    """(action, error record, keys, args) of the fail.lua call for a failed run: the ladder's decision and
    everything its one Lua step writes. Pure apart from reading the queue table."""
    job_id = job.id
    runs = int(fields.get(keys.JobField.RUNS) or 0)
    func_name = job.func_name
    error = describe(exc, worker, runs, func_name)
    action, wait_ms = decide(eng, queue, exc, runs, cancel_requested=cancel_requested)
    call = _fail_call(eng, queue, job_id, job.kwargs, func_name, fields, member, action, wait_ms, error)
    return action, error, call["keys"], call["args"]


def handle_failure(eng: Engine, hooks: Hooks, queue: str, job: RunningJob, member: str, exc: BaseException,
                   fields: dict[str, str], worker: str) -> str | None:
    """Record a failed run and move the job on. Returns the action taken, or None when another
    party (the reaper, or the worker after all) already owned the outcome."""
    job_id = job.id
    cancel_requested = bool(fields.get(keys.CANCEL_REQUESTED_MS)) or bool(
        eng.conn.hexists(keys.job(job_id), keys.CANCEL_REQUESTED_MS))
    action, error, script_keys, args = fail_step(eng, queue, job, member, exc, fields, worker,
                                                 cancel_requested=cancel_requested)
    log.warning("job %s on %s failed run %s (%s: %s) -> %s", job_id, queue, fields.get("jq_runs") or 0,
                error["type"], error["message"][:200], action)
    done = eng.scripts.fail(keys=script_keys, args=args)
    if not done:
        log.info("job %s: run outcome already taken over (lease expired)", job_id)
        return None
    if action == "cancelled":
        return action
    hooks.on_failure(job_id, queue, error, action)
    if action == "dead":
        hooks.on_final_failure(job_id, queue, error)
    return action


def _fail_call(eng: Engine, queue: str, job_id: str, kwargs: dict[str, Any], func_name: str, fields: dict[str, str],
               member: str, action: str, wait_ms: int, error: dict[str, Any]) -> dict[str, list]:
    """fail.lua's KEYS and ARGV: the attempt, the failure group and (dead) the dead-letter entry."""
    sig, normal = signature(error["type"], error["message"], error["function"])
    priority = fields.get(keys.JobField.PRIORITY) or "normal"
    runs = int(fields.get(keys.JobField.RUNS) or 0)
    entry = {
        "job_id": job_id, "queue": queue, "job_type": func_name, "data": json.dumps(kwargs),
        "options": json.dumps({"priority": priority, "timeout_s": eng.table[queue].timeout_s}),
        "runs": runs, "enqueued_at": fields.get(keys.JobField.ENQUEUED_AT, ""), "error_type": error["type"],
        "error_message": error["message"],
    }
    group = {"type": error["type"], "message": normal, "function": error["function"], "queue": queue}
    return dict(
        keys=[keys.active(queue), keys.job(job_id), keys.scheduled(queue), keys.attempts(job_id),
              keys.job_log(job_id), keys.pressure(queue), keys.waiting(queue, priority), keys.wake(queue),
              keys.failed(queue), keys.dlq_entry(job_id), keys.dlq_all(queue), keys.dlq_queue(queue),
              keys.failure_group(sig, queue), keys.failure_groups(queue), keys.cancelled(queue)],
        args=[member, job_id, action, json.dumps(error), wait_ms, eng.table[queue].keep_failed_s, sig,
              keys.dlq_group("", queue), json.dumps(entry), json.dumps(group), keys.metrics_prefix("m", queue)])


def fail_after_completion(eng: Engine, queue: str, job_id: str, error_type: str, message: str) -> bool:
    """A finished job whose effect failed later (e.g. WhatsApp reported an accepted message undeliverable):
    dead-letter it through the same step as a failed run, so it counts in the failure groups and support can
    fix and retry it. False when the job is not finished (already failed, retried or gone)."""
    job_id = in_queue(queue, job_id)  # cluster mode: a plain id is the queue's tagged one
    raw = eng.conn.hgetall(keys.job(job_id))
    fields = {k.decode(): v.decode(errors="replace") for k, v in raw.items()}  # `data` is compressed
    if fields.get(keys.JobField.STATUS) != "finished" or fields.get(keys.JobField.ORIGIN) != queue:
        return False
    from .jobs import rq_job
    job = rq_job(eng.conn, job_id)
    error = {"type": error_type, "message": message[:2000], "traceback": "", "worker": "",
             "time": time.time(), "run": int(fields.get(keys.JobField.RUNS) or 0),
             "function": job.func_name.rsplit(".", 1)[-1]}
    call = _fail_call(eng, queue, job_id, job.kwargs, job.func_name, fields, keys.member(job_id, "after"), "dead", 0,
                      error)
    call["keys"].append(keys.finished(queue))
    done = bool(eng.scripts.fail_after(**call))
    if done:
        eng.hooks.on_final_failure(job_id, queue, error)
    return done
