-- Raise a numeric schedule-state field (and set the fields that go with it) unless the stored value
-- is larger, so that schedulers running at slightly different times never move the state backwards.
-- KEYS: schedule state hash; ARGV: field, value, then more field, value pairs
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]))
if current and current > tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
