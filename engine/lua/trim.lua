-- Remove what has outlived its retention, at most `budget` members per structure per call, so a
-- call stays short however much is due. Every removal is decided here, atomically, so any number
-- of workers and schedulers may run it at once.
-- KEYS: per queue 4: finished registry, failed registry, rate log, control hash;
--       then workers, failure-group index, failure-group cursor, audit stream
-- ARGV: n_queues, budget, job prefix, attempts prefix, log prefix, failure-group prefix,
--       dead-letter group prefix, worker stale ms, failure-group keep ms, audit keep ms,
--       then per queue: rate window ms (unless its control hash sets one)
-- Returns {removed, more}: more = 1 when a structure had a full batch (call again).
local now = server_now_ms()
local nq, budget = tonumber(ARGV[1]), tonumber(ARGV[2])
local job_p, att_p, log_p, fg_p, dlqg_p = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local removed, more = 0, 0

local function due(key, max)
  local ids = redis.call('ZRANGEBYSCORE', key, '-inf', max, 'LIMIT', 0, budget)
  if #ids == budget then more = 1 end
  return ids
end

for i = 0, nq - 1 do
  -- RQ registries, score = expiry (s): the job hash expires by its own TTL at the same time; its
  -- attempts and log lists go with the member if they somehow outlived it. A dead letter's job
  -- hash stays (the dead-letter queue keeps it), only its registry membership ends.
  for k = 1, 2 do
    local reg = KEYS[i * 4 + k]
    for _, id in ipairs(due(reg, now / 1000)) do
      redis.call('ZREM', reg, id)
      if redis.call('EXISTS', job_p .. id) == 0 then
        redis.call('DEL', att_p .. id, log_p .. id)
      end
      removed = removed + 1
    end
  end
  -- rate log: starts older than the window (a paused or idle queue's dequeue never trims it)
  local window = tonumber(redis.call('HGET', KEYS[i * 4 + 4], 'window_ms')) or tonumber(ARGV[11 + i])
  removed = removed + redis.call('ZREMRANGEBYSCORE', KEYS[i * 4 + 3], '-inf', now - window)
end

local base = nq * 4
-- workers that stopped heartbeating without unregistering (killed); their hash expired by TTL
for _, name in ipairs(due(KEYS[base + 1], now - tonumber(ARGV[8]))) do
  redis.call('ZREM', KEYS[base + 1], name)
  removed = removed + 1
end

-- failure groups not seen within the retention, unless dead letters still belong to them. A cursor
-- walks past the kept ones, so they never hide newer expired groups; it wraps around at the end.
local cursor = redis.call('GET', KEYS[base + 3])
local low = cursor and ('(' .. cursor) or '-inf'
local groups = redis.call('ZRANGEBYSCORE', KEYS[base + 2], low, now - tonumber(ARGV[9]), 'WITHSCORES',
  'LIMIT', 0, budget)
for j = 1, #groups, 2 do
  local sig = groups[j]
  if redis.call('EXISTS', dlqg_p .. sig) == 0 then
    redis.call('ZREM', KEYS[base + 2], sig)
    redis.call('DEL', fg_p .. sig)
    removed = removed + 1
  end
end
if #groups == budget * 2 then
  redis.call('SET', KEYS[base + 3], groups[#groups])
  more = 1
else
  redis.call('DEL', KEYS[base + 3])
end

-- audit entries past their retention (whole stream nodes, bounded work)
removed = removed + redis.call('XTRIM', KEYS[base + 4], 'MINID', '~', now - tonumber(ARGV[10]), 'LIMIT',
  budget)
return {removed, more}
