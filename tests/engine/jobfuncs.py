"""Job functions used by the engine tests (run inside real worker processes too).

The test queue table (tests/conftest.py TEST_TABLE) names `dispatch` as every queue's processor; it
runs the function of this module (or of another tests.* module) that the job's own `fn` field names.
"""
from __future__ import annotations

import importlib
import os
import time

from engine import jobctx
from engine.errors import PermanentError, ProviderBackPressure


def ok(**data):
    return {"ok": True, **data}


def always_fail(**data):
    raise RuntimeError(f"boom for order {data.get('order_id', 42)}")


def permanent(**data):
    raise PermanentError("recipient 12345 is invalid")


def sleep(seconds: float = 0.0, **data):
    time.sleep(seconds)
    return {"slept": seconds}


def record(path: str, **data):
    """Append the job id and a monotonic timestamp to a file: lets tests see order and times."""
    with open(path, "a") as fh:
        fh.write(f"{jobctx.current_job_id()} {time.time():.6f} {data.get('tag', '')}\n")
    return {"recorded": True}


def fail_then_ok(path: str, fail_times: int = 1, **data):
    """Fails the first `fail_times` runs (counted in a file), then succeeds."""
    count = 0
    if os.path.exists(path):
        with open(path) as fh:
            count = len(fh.read().splitlines())
    with open(path, "a") as fh:
        fh.write(f"{time.time():.6f}\n")
    if count < fail_times:
        raise RuntimeError(f"transient failure {count + 1}")
    return {"runs": count + 1}


def back_pressure_once(path: str, retry_after_s: float = 0.3, **data):
    if not os.path.exists(path):
        open(path, "w").close()
        raise ProviderBackPressure(retry_after_s, "429 from provider")
    return {"ok": True}


def progress(**data):
    jobctx.set_progress(50)
    jobctx.log("half way")
    jobctx.set_progress(100)
    return {"done": True}


def mark(pause_s: float = 0.0, **data):
    """Idempotent side effect: add the job id to a set, and count runs per job."""
    ctx = jobctx.current()
    time.sleep(pause_s)
    pipe = ctx.engine.conn.pipeline()
    pipe.sadd("test:done", ctx.job_id)
    pipe.hincrby("test:runs", ctx.job_id, 1)
    pipe.execute()
    return {"marked": ctx.job_id}


def die_first_run(**data):
    """SIGKILLs its own worker process on the first run (while running)."""
    ctx = jobctx.current()
    if ctx.engine.conn.set(f"test:died:{ctx.job_id}", 1, nx=True):
        os.kill(os.getpid(), 9)
    return mark(**data)


def cooperative(seconds: float = 10.0, **data):
    """Works in small steps and stops when cancelled (as the long processors do)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        jobctx.check_cancelled()
        time.sleep(0.02)
    return {"finished": True}


def stubborn(seconds: float = 1.5, **data):
    """Ignores a cancel request and returns a result late."""
    time.sleep(seconds)
    return {"late": True}


def fail_when_cancelled(seconds: float = 10.0, **data):
    """Sees the cancel and fails with an ordinary error (which must not be retried)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if jobctx.cancelled():
            raise RuntimeError("stopped half way")
        time.sleep(0.02)
    return {"finished": True}
def refuse_bad_whatsapp(phone: str, message: str, **data):
    """A whatsapp stand-in for fix and resend: the original message of tests/engine/test_fix_and_resend.py
    fails for good, any corrected data is "sent"."""
    if (phone, message) == ("+9779800000001", "Order 42 confirmed"):
        raise PermanentError("recipient 12345 is invalid")
    return {"sent": True, "phone": phone}


def fail_first_run(**data):
    """Fails its job's first run, succeeds on the retry."""
    ctx = jobctx.current()
    if ctx is not None and ctx.run == 1:
        raise RuntimeError("first run fails")
    return {"ok": True}


def span(seconds: float = 0.2, **data):
    """Records its run's start and end (server-independent wall time) under test:spans:<queue>."""
    ctx = jobctx.current()
    start = time.time()
    time.sleep(seconds)
    ctx.engine.conn.rpush(f"test:spans:{ctx.queue}", f"{start:.6f} {time.time():.6f}")
    return {"slept": seconds}


def stuck(seconds: float = 3.0, **data):
    """Blocks in one C call (no Python instruction to interrupt), swallows any interruption, then marks
    that it returned and returns a result: a processor that ignores its timeout."""
    ctx = jobctx.current()
    try:
        time.sleep(seconds)
    except Exception:  # noqa: BLE001 - deliberately ignores the timeout's exception
        pass
    ctx.engine.conn.sadd("test:returned", ctx.job_id)
    return {"late": True}


def dispatch(fn: str = "", **data):
    """The test queues' registered processor: runs `fn` (a name in this module, or a dotted
    tests.* path), so a test picks its behaviour by the job's data, never by the payload's function."""
    if not fn:
        raise PermanentError("test job without an `fn` field")
    module, _, name = fn.rpartition(".") if "." in fn else (__name__, "", fn)
    if not module.startswith("tests."):
        raise PermanentError(f"fn {fn!r} is not a test function")
    return getattr(importlib.import_module(module), name)(**data)
