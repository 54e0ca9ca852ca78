-- Fold closed minute buckets of one queue into its hour and day buckets, once each.
-- KEYS: rolled-up marker (string: the last minute folded, in s)
-- ARGV: minute prefix, hour prefix, day prefix, upto_s (fold minutes that start before it), hour ttl_s,
--       first_s (where to start when there is no marker yet), day ttl_s
-- Returns the number of minutes folded.
local last = tonumber(redis.call('GET', KEYS[1]) or '') or (tonumber(ARGV[6]) - 60)
local upto, hour_ttl, day_ttl = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[7])
local folded = 0
local m = last + 60
while m + 60 <= upto and folded < 2880 do
  local raw = redis.call('HGETALL', ARGV[1] .. m)
  if #raw > 0 then
    local hour_key = ARGV[2] .. (m - m % 3600)
    local day_key = ARGV[3] .. (m - m % 86400)
    for i = 1, #raw, 2 do
      redis.call('HINCRBY', hour_key, raw[i], raw[i + 1])
      redis.call('HINCRBY', day_key, raw[i], raw[i + 1])
    end
    redis.call('EXPIRE', hour_key, hour_ttl)
    redis.call('EXPIRE', day_key, day_ttl)
  end
  last = m
  m = m + 60
  folded = folded + 1
end
redis.call('SET', KEYS[1], last)
return folded
