-- Move one dead-letter entry back to its queue with a fresh retry budget. Two concurrent
-- retries of one entry enqueue it once: whoever deletes the entry does the move.
-- KEYS: dlq entry, dlq all, dlq queue index, job, failed registry, wake
-- ARGV: job_id, dlq group prefix, waiting list key for normal/high/low as json map
local now = server_now_ms()
local entry = KEYS[1]
local sig = redis.call('HGET', entry, 'signature')
local prio = redis.call('HGET', KEYS[4], 'jq_priority')
if not sig then return 0 end
if not prio then return -1 end
redis.call('DEL', entry)
local id = ARGV[1]
redis.call('ZREM', KEYS[2], id)
redis.call('ZREM', KEYS[3], id)
redis.call('ZREM', ARGV[2] .. sig, id)
redis.call('ZREM', KEYS[5], id)
redis.call('HSET', KEYS[4], 'status', 'queued', 'jq_runs', 0, 'jq_ready_ms', now)
redis.call('HDEL', KEYS[4], 'jq_ended_ms', 'jq_due_ms', 'started_at', 'ended_at')
local lists = cjson.decode(ARGV[3])
redis.call('RPUSH', lists[prio], id)
redis.call('LPUSH', KEYS[6], '1')
redis.call('LTRIM', KEYS[6], 0, 999)
return 1
