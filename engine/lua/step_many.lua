-- The batched hot path: complete the finished runs of several slots and take the next job for each
-- of them that is not stopping, in one round trip. Each completion and each take is exactly the
-- single-job step (complete_run, dequeue_next), in order, so priorities, rate limits, pacing, leases
-- and metrics stay per job (the metric counts are summed over the batch and written once).
-- KEYS: n x the 5 keys of complete_run, then the keys of dequeue_next (the slots serve the same queues)
-- ARGV: n, then n x the 7 args of complete_run, then n x (token, worker hash key, take 0/1), then the
--       args of dequeue_next (its token and worker hash key are replaced per slot)
-- Returns {n completed flags (0/1)..., n dequeue results (or {'', 0, 0} when not taking)...}
local n = tonumber(ARGV[1])
local dk = {unpack(KEYS, n * 5 + 1)}
local da = {unpack(ARGV, 2 + n * 10)}
local out = {}
local now = server_now_ms()  -- one instant for the whole call, as for one step
local memo = {}
metrics_hold()
for i = 0, n - 1 do
  out[#out + 1] = complete_run({unpack(KEYS, i * 5 + 1, i * 5 + 5)}, {unpack(ARGV, 2 + i * 7, 8 + i * 7)}, now)
end
local empty = nil  -- once nothing is runnable, the other slots get the same answer
for i = 0, n - 1 do
  local base = 2 + n * 7 + i * 3
  if ARGV[base + 2] ~= '1' then
    out[#out + 1] = {'', 0, 0}
  elseif empty then
    out[#out + 1] = empty
  else
    da[1], da[5] = ARGV[base], ARGV[base + 1]
    local r = dequeue_next(dk, da, now, memo)
    if r[1] == '' then empty = r end
    out[#out + 1] = r
  end
end
metrics_flush()
return out
