-- Create a job record and put it in line, or in the scheduled set when due later.
-- KEYS: job, waiting list, scheduled, wake, rq:queues, then the business-key index keys its data names
-- ARGV: job_id, run_at_ms (0 = none), delay_ms (0 = none), field, value, ...
-- Returns {1, status} when created, {0, status} when a job with this id exists: pending, or finished
-- and still kept. So a producer that re-sends an enqueue after a lost reply never runs a job twice.
local now = server_now_ms()
local existing = redis.call('HGET', KEYS[1], 'status')
if existing then
  return {0, existing}
end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
for k = 6, #KEYS do
  redis.call('ZADD', KEYS[k], now, ARGV[1])
end
local due = tonumber(ARGV[2])
local delay = tonumber(ARGV[3])
if delay > 0 then due = now + delay end
redis.call('SADD', KEYS[5], KEYS[2])
if due > now then
  redis.call('HSET', KEYS[1], 'status', 'scheduled', 'jq_due_ms', due)
  redis.call('ZADD', KEYS[3], due / 1000, ARGV[1])
  -- the new earliest due job: wake an idle worker so that it shortens its sleep
  if redis.call('ZRANGE', KEYS[3], 0, 0)[1] == ARGV[1] then
    redis.call('LPUSH', KEYS[4], '1')
    redis.call('LTRIM', KEYS[4], 0, 999)
  end
  return {1, 'scheduled'}
end
redis.call('HSET', KEYS[1], 'status', 'queued', 'jq_ready_ms', now)
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('LPUSH', KEYS[4], '1')
redis.call('LTRIM', KEYS[4], 0, 999)
return {1, 'queued'}
