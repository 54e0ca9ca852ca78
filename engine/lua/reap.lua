-- Runs whose lease ran out (their worker died or hung): returns {queue_index, member, ...}.
-- The caller fails each through the normal failure ladder, which re-checks ownership.
-- KEYS: active key per queue
local now = server_now_ms()
local out = {}
for i, key in ipairs(KEYS) do
  for _, member in ipairs(redis.call('ZRANGEBYSCORE', key, '-inf', now, 'LIMIT', 0, 100)) do
    out[#out + 1] = i
    out[#out + 1] = member
  end
end
return out
