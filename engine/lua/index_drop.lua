-- Drop index entries whose job is gone: neither a job hash nor a dead-letter entry exists.
-- KEYS: index keys. ARGV: job key prefix, dead-letter entry key prefix, then per key: n, id_1 .. id_n
-- Returns the number of entries removed.
local removed, at = 0, 3
for _, key in ipairs(KEYS) do
  local n = tonumber(ARGV[at])
  for j = at + 1, at + n do
    local id = ARGV[j]
    if redis.call('EXISTS', ARGV[1] .. id) == 0 and redis.call('EXISTS', ARGV[2] .. id) == 0 then
      removed = removed + redis.call('ZREM', key, id)
    end
  end
  at = at + n + 1
end
return removed
