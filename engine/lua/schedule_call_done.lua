-- A call tick's run returned (well or not): mark its claim done, drop it from the in-flight set and
-- raise last_tick_s, in one step, so that a finished tick never runs again.
-- KEYS: schedule state hash, tick claim key, in-flight set; ARGV: tick_s, claim ttl_s, last_run_ms
redis.call('SET', KEYS[2], 'done', 'EX', ARGV[2])
redis.call('ZREM', KEYS[3], ARGV[1])
local current = tonumber(redis.call('HGET', KEYS[1], 'last_tick_s'))
if not current or current <= tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'last_tick_s', ARGV[1], 'last_run_ms', ARGV[3])
end
return 1
