-- A failed run: record the error, then retry later, put back (provider back-pressure) or dead-letter.
-- Only the lease holder may act (the reaper may have taken it back first).
-- KEYS: active, job, scheduled, attempts, log, pressure, waiting list, wake, failed,
--       dlq entry, dlq all, dlq queue index, failure group, failure group index, canceled registry
-- ARGV: member, job_id, action (retry|pressure|dead|cancelled), error_json, wait_ms, keep_failed_s,
--       signature, dlq group prefix, entry fields json, group fields json, minute-metrics prefix
local now = server_now_ms()
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], 'jq_trail', 1)  -- the job now has an attempts list (or an earlier run's log)
local id, action, wait = ARGV[2], ARGV[3], tonumber(ARGV[5])
local prefixes = ARGV[11]

if action == 'pressure' then
  redis.call('SET', KEYS[6], '1', 'PX', math.max(1, math.floor(wait)))
  redis.call('HINCRBY', KEYS[2], 'jq_runs', -1)
  redis.call('HSET', KEYS[2], 'status', 'queued')
  redis.call('LPUSH', KEYS[7], id)
  add_metrics(prefixes, now, {'back_pressure', 1})
  return 1
end

redis.call('RPUSH', KEYS[4], ARGV[4])

-- cancelled: the run's record is kept (with the failed retention); no failure group, no retry, no dead letter
if action == 'cancelled' then
  local keep = tonumber(ARGV[6])
  redis.call('HSET', KEYS[2], 'status', 'canceled', 'jq_ended_ms', now)
  redis.call('HSETNX', KEYS[2], 'jq_cancel_ms', now)
  for _, k in ipairs({KEYS[2], KEYS[4], KEYS[5]}) do redis.call('EXPIRE', k, keep) end
  redis.call('ZADD', KEYS[15], now / 1000 + keep, id)
  add_metrics(prefixes, now, {'cancelled', 1})
  return 1
end
-- failure group: count, first and last seen, per-queue counts, a few sample job ids
local sig = ARGV[7]
local g = cjson.decode(ARGV[10])
if redis.call('EXISTS', KEYS[13]) == 0 then
  redis.call('HSET', KEYS[13], 'signature', sig, 'type', g.type, 'message', g.message,
    'function', g['function'], 'first_ms', now, 'samples', '[]')
end
redis.call('HINCRBY', KEYS[13], 'count', 1)
redis.call('HINCRBY', KEYS[13], 'q:' .. g.queue, 1)
redis.call('HSET', KEYS[13], 'last_ms', now)
local samples = cjson.decode(redis.call('HGET', KEYS[13], 'samples'))
local seen = false
for _, s in ipairs(samples) do if s == id then seen = true end end
if not seen then
  table.insert(samples, 1, id)
  while #samples > 5 do table.remove(samples) end
  redis.call('HSET', KEYS[13], 'samples', cjson.encode(samples))
end
redis.call('ZADD', KEYS[14], now, sig)

if action == 'retry' then
  local due = now + wait
  redis.call('HSET', KEYS[2], 'status', 'scheduled', 'jq_due_ms', due, 'ended_at', rq_utc(now))
  redis.call('ZADD', KEYS[3], due / 1000, id)
  add_metrics(prefixes, now, {'failed', 1, 'retried', 1})
  return 1
end

-- dead-letter: permanent, never expires
local entry = cjson.decode(ARGV[9])
local flat = {}
for k, v in pairs(entry) do flat[#flat + 1] = k; flat[#flat + 1] = tostring(v) end
redis.call('DEL', KEYS[10])
redis.call('HSET', KEYS[10], 'dead_ms', now, 'signature', sig, unpack(flat))
redis.call('HSET', KEYS[2], 'status', 'failed', 'jq_ended_ms', now, 'ended_at', rq_utc(now))
for _, k in ipairs({KEYS[2], KEYS[4], KEYS[5]}) do redis.call('PERSIST', k) end
redis.call('ZADD', KEYS[9], now / 1000 + tonumber(ARGV[6]), id)
redis.call('ZADD', KEYS[11], now, id)
redis.call('ZADD', KEYS[12], now, id)
redis.call('ZADD', ARGV[8] .. sig, now, id)
add_metrics(prefixes, now, {'failed', 1, 'dead_lettered', 1})
return 1
