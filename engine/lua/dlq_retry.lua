-- Move one dead-letter entry back to its queue with a fresh retry budget. Two concurrent
-- retries of one entry enqueue it once: whoever deletes the entry does the move.
-- Fix and resend: a new payload replaces the job's data, and its business-key index entries follow it.
-- KEYS: dlq entry, dlq all, dlq queue index, job, failed registry, wake, then n_drop index keys the old
--       data named and the new does not, then the index keys of the new data
-- ARGV: job_id, dlq group prefix, waiting list key for normal/high/low as json map,
--       new payload ('' = unchanged), n_drop
local now = server_now_ms()
local entry = KEYS[1]
local sig = redis.call('HGET', entry, 'signature')
local prio = redis.call('HGET', KEYS[4], 'jq_priority')
if not sig then return 0 end
if not prio then return -1 end
-- the timeline still shows the dead-lettering after the entry is gone
redis.call('HSET', KEYS[4], 'jq_dead_ms', redis.call('HGET', entry, 'dead_ms') or now)
redis.call('DEL', entry)
local id = ARGV[1]
redis.call('ZREM', KEYS[2], id)
redis.call('ZREM', KEYS[3], id)
redis.call('ZREM', ARGV[2] .. sig, id)
redis.call('ZREM', KEYS[5], id)
if ARGV[4] ~= '' then
  redis.call('HSET', KEYS[4], 'data', ARGV[4])
  local n_drop = tonumber(ARGV[5])
  for k = 7, 6 + n_drop do redis.call('ZREM', KEYS[k], id) end
  for k = 7 + n_drop, #KEYS do redis.call('ZADD', KEYS[k], now, id) end
end
redis.call('HSET', KEYS[4], 'status', 'queued', 'jq_runs', 0, 'jq_ready_ms', now)
redis.call('HDEL', KEYS[4], 'jq_ended_ms', 'jq_due_ms', 'started_at', 'ended_at')
local lists = cjson.decode(ARGV[3])
redis.call('RPUSH', lists[prio], id)
redis.call('LPUSH', KEYS[6], '1')
redis.call('LTRIM', KEYS[6], 0, 999)
return 1
