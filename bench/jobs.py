"""Job functions for the benchmarks (importable by worker processes).

The benchmark queue table (bench/harness.py) names `run` as every queue's processor; it calls the
function named by the job's own `fn` field (noop when absent).
"""


def noop(**data):
    return None


def fail(**data):
    """Fails every run, first noting this run's due and start times as the server stamped them."""
    from engine import jobctx, keys

    ctx = jobctx.current()
    if ctx is not None:
        due, started = ctx.engine.conn.hmget(keys.job(ctx.job_id), [keys.JobField.DUE_MS, keys.JobField.STARTED_MS])
        if ctx.run > 1 and due and started:
            ctx.engine.conn.rpush("bench:retry_lateness_ms", int(started) - int(due))
    raise RuntimeError("benchmark failure")


def sleep(seconds: float = 60.0, **data):
    import time

    time.sleep(seconds)


def fail_first(**data):
    """Every tenth job (by data `n`) fails its first run (a retry, an attempts list, a failure group)
    and succeeds on the retry."""
    from engine import jobctx

    ctx = jobctx.current()
    if ctx is not None and ctx.run == 1 and data.get("n", 0) % 10 == 0:
        raise RuntimeError("benchmark: first run fails")
    return None


def post(url: str = "", **data):
    """One HTTP POST through the Cloud provider's pooled connections (the IO-bound benchmark's stand-in for a
    provider call)."""
    import json

    from domain.whatsapp.cloud import shared_pool

    return shared_pool(5.0).request("POST", url, body=json.dumps(data).encode(),
                                    headers={"Content-Type": "application/json"}).status


FUNCTIONS = {"noop": noop, "fail": fail, "sleep": sleep, "post": post}


def run(fn: str = "noop", **data):
    """The benchmark queues' registered processor: dispatch on the job's data."""
    return FUNCTIONS[fn](**data)


async def arun(fn: str = "noop", **data):
    """The processor of a benchmark queue run as async slots (engine/async_slots.py): an awaited no-op, like
    BullMQ's `async () => {}`."""
    if fn != "noop":
        raise ValueError(f"bench.jobs.arun runs no-op jobs only, not {fn!r}")
    return None
