-- Claim a call schedule's tick for one run under a lease: 1 claimed (a fresh tick, or one whose
-- earlier run died: its lease passed and it never finished), 0 finished or running elsewhere, -1 paused.
-- KEYS: schedule state hash, tick claim key, in-flight set (member tick_s, score lease end ms)
-- ARGV: tick_s, claim ttl_s, lease_ms
if redis.call('HGET', KEYS[1], 'enabled') == '0' then return -1 end
local now = server_now_ms()
local lease_end = now + tonumber(ARGV[3])
local state = redis.call('GET', KEYS[2])
if not state then
  redis.call('SET', KEYS[2], 'running', 'EX', ARGV[2])
  redis.call('ZADD', KEYS[3], lease_end, ARGV[1])
  return 1
end
if state ~= 'running' then return 0 end
local held = tonumber(redis.call('ZSCORE', KEYS[3], ARGV[1]))
if held and held > now then return 0 end
redis.call('ZADD', KEYS[3], lease_end, ARGV[1])
return 1
