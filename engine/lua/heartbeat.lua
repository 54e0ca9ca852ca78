#!lua flags=allow-oom
-- Extend the lease of the running job (if any) and mark the worker alive, in our registry and in
-- RQ's fields of its hash (last_heartbeat, state). Returns {known, now_ms, the running job's
-- cancel-request time or false}; known is 0 when the worker hash had expired (the caller registers
-- again), else 1.
-- Allowed on a full server (its writes update existing entries in place): a live worker's lease
-- must never lapse.
-- KEYS: active (or a dummy), workers, worker hash, the running job (or a dummy)
-- ARGV: member ('' when idle), lease_ms, worker_id, worker_ttl_s, current job id, cancel-request field
local now = server_now_ms()
local cancel_ms = false
if ARGV[1] ~= '' then
  redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), ARGV[1])
  cancel_ms = redis.call('HGET', KEYS[4], ARGV[6])
end
redis.call('ZADD', KEYS[2], now, ARGV[3])
local known = redis.call('EXISTS', KEYS[3])
local state = 'idle'
if ARGV[5] ~= '' then state = 'busy' end
redis.call('HSET', KEYS[3], 'heartbeat_ms', now, 'current_job', ARGV[5], 'last_heartbeat', rq_utc(now), 'state', state)
redis.call('EXPIRE', KEYS[3], tonumber(ARGV[4]))
return {known, now, cancel_ms}
