-- Create a job record and put it in line, or in the scheduled set when due later; with an audit
-- entry (operator enqueues) in the same atomic step, so there is never a job without its entry.
-- KEYS: job, waiting list, scheduled, wake, rq:queues, audit stream, then the business-key index
--       keys its data names (each gets the job id, scored by now)
-- ARGV: job_id, run_at_ms (0 = none), delay_ms (0 = none), high-water mark in bytes (0 = none),
--       audit keep ms, n (audit items, 0 = no entry), n audit items (field, value, ...), then the
--       job's field, value, ...
-- Returns {1, status} when created, {0, status} when a job with this id exists: pending, or finished
-- and still kept (so a producer that re-sends an enqueue after a lost reply never runs a job twice;
-- nothing is written then, the caller audits the re-send or the conflict),
-- {-1, used_memory} when refused because the server's memory is at the mark; nothing is written then.
local function enqueue_job(KEYS, ARGV)
local now = server_now_ms()
local n_audit = tonumber(ARGV[6])
local function audit()
  if n_audit > 0 then
    redis.call('XADD', KEYS[6], 'MINID', '~', now - tonumber(ARGV[5]), '*', unpack(ARGV, 7, 6 + n_audit))
  end
end
local existing = redis.call('HGET', KEYS[1], 'status')
if existing then
  return {0, existing}
end
local mark = tonumber(ARGV[4])
if mark > 0 then
  local used = tonumber(string.match(redis.call('INFO', 'memory'), 'used_memory:(%d+)'))
  if used >= mark then return {-1, used} end
end
redis.call('HSET', KEYS[1], unpack(ARGV, 7 + n_audit))
audit()
for k = 7, #KEYS do
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
end
