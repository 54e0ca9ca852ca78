-- Extend the lease of the running job (if any) and mark the worker alive.
-- KEYS: active (or a dummy), workers, worker hash, the running job (or a dummy)
-- ARGV: member ('' when idle), lease_ms, worker_id, worker_ttl_s, current job id, cancel-request field
-- Returns {now_ms, the job's cancel-request time or false}
local now = server_now_ms()
local cancel_ms = false
if ARGV[1] ~= '' then
  redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), ARGV[1])
  cancel_ms = redis.call('HGET', KEYS[4], ARGV[6])
end
redis.call('ZADD', KEYS[2], now, ARGV[3])
redis.call('HSET', KEYS[3], 'heartbeat_ms', now, 'current_job', ARGV[5])
redis.call('EXPIRE', KEYS[3], tonumber(ARGV[4]))
return {now, cancel_ms}
