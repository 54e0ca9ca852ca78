"""The soak's job function: an idempotent counter, run inside real worker processes.

Every invocation that reaches the side effect records, in one Lua call:

* the job id in the done set (idempotent),
* +1 in the runs hash (how many times the side effect ran for that job),
* `id:run` in the seen set, where run is the engine's run number (jq_runs). The engine gives
  every delivery a new run number, so seeing the same `id:run` twice means the same delivery
  ran twice (a job enqueued twice): that is counted in the duplicates hash.

A random token per invocation makes the call idempotent under redis-py's own retry (a reply
lost to a dropped connection re-sends the script; the token stops it from counting twice).
"""
from __future__ import annotations

import time
import uuid
from typing import Any

import redis

from engine import jobctx
from engine.errors import PermanentError

DONE = "soak:done"
RUNS = "soak:runs"
SEEN = "soak:seen"
DUPLICATES = "soak:dups"
TOKENS = "soak:tokens"
FAILED_ONCE = "soak:failed-once:"  # + job id: the one transient failure happened

_RECORD = """
if redis.call('SADD', KEYS[5], ARGV[3]) == 0 then return -1 end
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
if redis.call('SADD', KEYS[3], ARGV[1] .. ':' .. ARGV[2]) == 0 then
  redis.call('HINCRBY', KEYS[4], ARGV[1], 1)
  return 0
end
return 1
"""
_scripts: dict[int, Any] = {}


def _record(conn: redis.Redis, job_id: str, run: int) -> int:
    script = _scripts.get(id(conn))
    if script is None:
        script = _scripts[id(conn)] = conn.register_script(_RECORD)
    return int(script(keys=[DONE, RUNS, SEEN, DUPLICATES, TOKENS], args=[job_id, run, uuid.uuid4().hex]))


def count(kind: str = "ok", pause_ms: int = 0, **_data: Any) -> dict[str, Any]:
    """kind: ok | fail_once (one transient failure, then success) | permanent (dead-lettered at once)."""
    ctx = jobctx.current()
    if ctx is None:
        raise RuntimeError("bench.soak_jobs.count runs only inside a worker")
    if pause_ms:
        time.sleep(pause_ms / 1000)  # a window for SIGKILLs to land while the job runs
    if kind == "permanent":
        raise PermanentError(f"soak job {ctx.job_id} is invalid by design")
    conn = ctx.engine.conn
    if kind == "fail_once" and conn.set(FAILED_ONCE + ctx.job_id, 1, nx=True):
        raise RuntimeError(f"transient failure of soak job {ctx.job_id}")
    _record(conn, ctx.job_id, ctx.run)
    return {"counted": ctx.job_id, "run": ctx.run}
