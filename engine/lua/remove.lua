-- Remove a job wherever it is, unless it is running. Dead-letter entries go with it.
-- KEYS: job, attempts, log, high, normal, low, scheduled, finished, failed,
--       dlq entry, dlq all, dlq queue index
-- ARGV: job_id, dlq group prefix
-- Returns 1 removed, 0 unknown, -1 running
local id = ARGV[1]
local status = redis.call('HGET', KEYS[1], 'status')
local sig = redis.call('HGET', KEYS[10], 'signature')
if not status and not sig then return 0 end
if status == 'started' then return -1 end
for k = 4, 6 do redis.call('LREM', KEYS[k], 0, id) end
for k = 7, 9 do redis.call('ZREM', KEYS[k], id) end
if sig then
  redis.call('ZREM', ARGV[2] .. sig, id)
  redis.call('ZREM', KEYS[11], id)
  redis.call('ZREM', KEYS[12], id)
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[10])
return 1
