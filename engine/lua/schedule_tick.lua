-- Claim a job schedule's tick and enqueue its job in one step: no kill can leave a tick claimed
-- without its job, and a retry after a kill finds the claim and does nothing.
-- KEYS: schedule state hash, tick claim key, then the keys of enqueue_job
-- ARGV: claim ttl_s, then the args of enqueue_job (its job id is the tick's, so it is one job)
-- Returns -1 paused, 0 claimed before (its job went in with the claim), 1 claimed and enqueued now,
-- or enqueue_job's refusal as it is (nothing claimed).
if redis.call('HGET', KEYS[1], 'enabled') == '0' then return -1 end
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local out = enqueue_job({unpack(KEYS, 3)}, {unpack(ARGV, 2)})
if type(out) == 'table' and (out[1] == 0 or out[1] == 1) then
  redis.call('SET', KEYS[2], '1', 'EX', ARGV[1])
  return 1
end
return out
