-- Finish a run: only the lease holder may complete it (the reaper may have taken it back).
-- K (5 keys): active, job, finished, attempts, log
-- A (7 args): member, job_id, result_json, keep_s, run_ms, minute-metrics prefix, trail ('0': no attempts
--   list and no log can exist, so only the job hash gets the TTL; anything else: all three do)
local function complete_run(K, A, now)
  now = now or server_now_ms()
  if redis.call('ZREM', K[1], A[1]) == 0 then return 0, now end
  local keep = tonumber(A[4])
  redis.call('HSET', K[2], 'status', 'finished', 'jq_result', A[3], 'jq_ended_ms', now,
    'ended_at', rq_utc(now), 'jq_run_ms', A[5])
  redis.call('EXPIRE', K[2], keep)
  if A[7] ~= '0' then
    redis.call('EXPIRE', K[4], keep)
    redis.call('EXPIRE', K[5], keep)
  end
  redis.call('ZADD', K[3], now / 1000 + keep, A[2])
  local run_ms = tonumber(A[5])
  local counts = {'completed', 1, 'run:' .. hist_bucket(run_ms), 1}
  if run_ms >= 1 then  -- a sub-ms run adds nothing to the sum: no call
    counts[5], counts[6] = 'run_ms', math.floor(run_ms)
  end
  add_metrics(A[6], now, counts)
  return 1, now
end
