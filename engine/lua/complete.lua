-- Finish a run: only the lease holder may complete it (the reaper may have taken it back).
-- KEYS: active, job, finished, attempts, log
-- ARGV: member, job_id, result_json, keep_s, run_ms, ended_at_iso, m, h, d prefixes
local now = server_now_ms()
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
local keep = tonumber(ARGV[4])
redis.call('HSET', KEYS[2], 'status', 'finished', 'jq_result', ARGV[3], 'jq_ended_ms', now,
  'ended_at', ARGV[6], 'jq_run_ms', ARGV[5])
for k = 2, 5 do
  if k ~= 3 then redis.call('EXPIRE', KEYS[k], keep) end
end
redis.call('ZADD', KEYS[3], now / 1000 + keep, ARGV[2])
local run_ms = tonumber(ARGV[5])
add_metrics({ARGV[7], ARGV[8], ARGV[9]}, now,
  {'completed', 1, 'run:' .. hist_bucket(run_ms), 1, 'run_ms', math.floor(run_ms)})
return 1
