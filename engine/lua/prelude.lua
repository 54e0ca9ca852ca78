-- Shared by every script. The __NAMES__ are filled in from engine/histogram.py.
local function server_now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local HIST_BASE = __HIST_BASE__
local MINUTE_TTL = __KEEP_MINUTES_S__

-- Histogram bucket of a duration in ms: 0 for < 1 ms, else 1 + floor(log_base(ms)).
local function hist_bucket(ms)
  if ms < 1 then return 0 end
  return math.floor(math.log(ms) / math.log(HIST_BASE)) + 1
end

-- Add counters to the queue's current minute bucket; engine/lua/rollup.lua later folds closed
-- minutes into hour and day buckets. prefix = the queue's minute-bucket key prefix;
-- incr = {field, n, field, n, ...}
local function add_metrics(prefix, now_ms, incr)
  local now_s = math.floor(now_ms / 1000)
  local key = prefix .. (now_s - now_s % 60)
  for j = 1, #incr, 2 do
    redis.call('HINCRBY', key, incr[j], incr[j + 1])
  end
  redis.call('EXPIRE', key, MINUTE_TTL)
end
