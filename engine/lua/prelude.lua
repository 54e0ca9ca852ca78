-- Shared by every script. The __NAMES__ are filled in from engine/histogram.py.
local function server_now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- RQ's utcformat text ('%Y-%m-%dT%H:%M:%S.%fZ') of a time in ms: RQ's tools parse the job hash's
-- started_at / ended_at and the worker hash's last_heartbeat with it (engine/clock.py ms_to_rq is the
-- Python twin). Civil date from the day count: H. Hinnant's days-to-civil algorithm.
local function rq_utc_text(ms)
  local s = math.floor(ms / 1000)
  local days = math.floor(s / 86400)
  local secs = s - days * 86400
  local z = days + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local d = doy - math.floor((153 * mp + 2) / 5) + 1
  local m = mp + 3
  if mp >= 10 then m = mp - 9 end
  local y = yoe + era * 400
  if m <= 2 then y = y + 1 end
  return string.format('%04d-%02d-%02dT%02d:%02d:%02d.%06dZ', y, m, d, math.floor(secs / 3600),
    math.floor(secs % 3600 / 60), secs % 60, (ms - s * 1000) * 1000)
end

local last_utc_ms, last_utc = nil, nil  -- a batched step writes one instant many times

local function rq_utc(ms)
  if ms ~= last_utc_ms then
    last_utc_ms, last_utc = ms, rq_utc_text(ms)
  end
  return last_utc
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
-- incr = {field, n, field, n, ...}. Between metrics_hold() and metrics_flush() (a batched step) the
-- counts are summed and written once per bucket and field: the same totals, fewer calls.
local metrics_buf = nil

-- One counter of a minute bucket. The bucket gets its TTL once, when created: a field whose total is
-- just its (non-zero) increment may be the bucket's first (an extra EXPIRE then is harmless); a bucket
-- that existed already had its TTL. `fresh`: the TTL was set by this caller already. A zero (run_ms of
-- a sub-ms run) says nothing; every call adds at least one count of 1 or more.
local function bucket_write(key, field, n, fresh)
  if redis.call('HINCRBY', key, field, n) == n and n ~= 0 and not fresh then
    redis.call('EXPIRE', key, MINUTE_TTL)
    return true
  end
  return fresh
end

local function metrics_hold()
  metrics_buf = {}
end

local function add_metrics(prefix, now_ms, incr)
  local now_s = math.floor(now_ms / 1000)
  local key = prefix .. (now_s - now_s % 60)
  if metrics_buf then
    local fields = metrics_buf[key]
    if not fields then
      fields = {}
      metrics_buf[key] = fields
    end
    for j = 1, #incr, 2 do
      fields[incr[j]] = (fields[incr[j]] or 0) + incr[j + 1]
    end
    return
  end
  local fresh = false
  for j = 1, #incr, 2 do
    fresh = bucket_write(key, incr[j], incr[j + 1], fresh)
  end
end

local function metrics_flush()
  local buf = metrics_buf
  metrics_buf = nil
  for key, fields in pairs(buf) do
    local fresh = false
    for field, n in pairs(fields) do
      fresh = bucket_write(key, field, n, fresh)
    end
  end
end
