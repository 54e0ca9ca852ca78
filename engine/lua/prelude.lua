-- Shared by every script. The __NAMES__ are filled in from engine/histogram.py.
local function server_now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local HIST_BASE = __HIST_BASE__
local RESOLUTIONS = { {60, __KEEP_MINUTES_S__}, {3600, __KEEP_HOURS_S__}, {86400, 0} }

-- Histogram bucket of a duration in ms: 0 for < 1 ms, else 1 + floor(log_base(ms)).
local function hist_bucket(ms)
  if ms < 1 then return 0 end
  return math.floor(math.log(ms) / math.log(HIST_BASE)) + 1
end

-- Add counters to the minute, hour and day buckets of one queue.
-- prefixes = {minute_prefix, hour_prefix, day_prefix}; incr = {field, n, field, n, ...}
local function add_metrics(prefixes, now_ms, incr)
  local now_s = math.floor(now_ms / 1000)
  for i, res in ipairs(RESOLUTIONS) do
    local key = prefixes[i] .. (now_s - now_s % res[1])
    for j = 1, #incr, 2 do
      redis.call('HINCRBY', key, incr[j], incr[j + 1])
    end
    if res[2] > 0 then redis.call('EXPIRE', key, res[2]) end
  end
end
