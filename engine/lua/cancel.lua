-- Cancel a job. Waiting or scheduled: out of its list or set at once, state `canceled` (RQ's spelling),
-- kept with the failed retention. Running: the request is recorded on the job; the processor sees it
-- (engine/jobctx.py) and the worker records the cancel through the failure ladder (engine/failures.py).
-- KEYS: job, high, normal, low, scheduled, canceled registry, attempts, log, dlq entry
-- ARGV: job_id, keep_failed_s, minute-metrics prefix, cancel-request field
-- Returns {outcome, status}: outcome is cancelled, cancelling, missing or conflict
local now = server_now_ms()
local id = ARGV[1]
local status = redis.call('HGET', KEYS[1], 'status')
if redis.call('EXISTS', KEYS[9]) == 1 then return {'conflict', 'dead_lettered'} end
if not status then return {'missing', ''} end
if status == 'started' then
  redis.call('HSETNX', KEYS[1], ARGV[4], now)
  return {'cancelling', status}
end
if status ~= 'queued' and status ~= 'scheduled' then return {'conflict', status} end
for k = 2, 4 do redis.call('LREM', KEYS[k], 0, id) end
redis.call('ZREM', KEYS[5], id)
local keep = tonumber(ARGV[2])
redis.call('HSET', KEYS[1], 'status', 'canceled', 'jq_ended_ms', now, ARGV[4], now)
redis.call('HDEL', KEYS[1], 'jq_due_ms')
for _, k in ipairs({KEYS[1], KEYS[7], KEYS[8]}) do redis.call('EXPIRE', k, keep) end
redis.call('ZADD', KEYS[6], now / 1000 + keep, id)
add_metrics(ARGV[3], now, {'cancelled', 1})
return {'cancelled', status}
