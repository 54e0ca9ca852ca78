-- Take the next job a worker may start, from several queues, atomically on the server clock.
-- For each queue: promote due scheduled jobs, then skip it when paused, back-pressured or at its
-- rate limit, else pop high > normal > low into the active set with a lease.
-- K: per queue 8 keys: high, normal, low, scheduled, active, rate, control, pressure
-- A: token, lease_ms, job_prefix, n_queues, worker hash key ('' = none: cluster mode), then per queue 6: name, limit, window_ms,
--    minute-metrics prefix, pace_ms (0 = no per-key limit), pace key prefix
-- Per-key pacing (QueuePolicy.key_limit): at most one start per key (the job's jq_pace_key) every pace_ms.
-- <prefix><key> holds the key's next allowed start (PX), <prefix><key>:wait its held jobs in order. A held
-- job goes to the scheduled set without a run counted, so the jobs behind it (other keys) are not held up.
-- Returns {queue, job_id, now_ms, runs, wait_ms, data, priority, enqueued_at, trail} or {'', wake_in_ms, held}
-- where held is 1 when jobs wait only for the rate limit or provider back-pressure (not a pause).
-- memo (step_many only): what earlier takes of the same call learned of each queue (promoted, control
-- fields, back-pressure, rate-log count, emptied lists); nothing else changes them inside one call.
local function dequeue_next(K, A, now, memo)
  now = now or server_now_ms()
  local token, lease, job_prefix, nq = A[1], tonumber(A[2]), A[3], tonumber(A[4])
  local wake = 1000
  local held = 0

  local function promote(high, normal, low, sched)
    local due = redis.call('ZRANGEBYSCORE', sched, '-inf', now / 1000, 'LIMIT', 0, 200)
    for _, id in ipairs(due) do
      redis.call('ZREM', sched, id)
      local jk = job_prefix .. id
      local prio = redis.call('HGET', jk, 'jq_priority')
      if prio then
        local list = normal
        if prio == 'high' then list = high elseif prio == 'low' then list = low end
        redis.call('RPUSH', list, id)
        redis.call('HSET', jk, 'status', 'queued', 'jq_ready_ms', now)
      end
    end
  end

  -- true when job `id` (key `key`) may start now; otherwise it is held, in order, and false. Every held
  -- job waits in the scheduled set (never lost, always visible), at its estimated turn; <prefix><key>:wait
  -- lists the held jobs in order, and only its head may start, once the key's interval has passed.
  local WAIT_SLACK_MS = 3600000  -- a wait list outlives its last held job's turn by an hour (workers down)
  local function still_held(id)
    local status = redis.call('HGET', job_prefix .. id, 'status')
    return status == 'scheduled' or status == 'queued'  -- held, or promoted and about to be gated again
  end

  local function pace_gate(id, key, pace_ms, pace_prefix, sched, prefixes)
    local base, wait = pace_prefix .. key, pace_prefix .. key .. ':wait'
    local nxt = tonumber(redis.call('GET', base) or '0')
    local head = redis.call('LINDEX', wait, 0)
    -- a head that is no longer held (removed, cancelled, dead-lettered while held) gives up its turn
    while head and head ~= id and not still_held(head) do
      redis.call('LPOP', wait)
      head = redis.call('LINDEX', wait, 0)
    end
    local pos = redis.call('LPOS', wait, id)
    if nxt <= now and (head == false or head == id) then
      if pos then redis.call('LPOP', wait) end
      redis.call('SET', base, now + pace_ms, 'PX', pace_ms)
      return true
    end
    if not pos then
      pos = redis.call('RPUSH', wait, id) - 1
    end
    local at = math.max(nxt, now) + pos * pace_ms
    if at <= now then at = now + 1 end
    redis.call('PEXPIRE', wait, at - now + WAIT_SLACK_MS)  -- so a list whose jobs all went away does not stay
    redis.call('ZADD', sched, at / 1000, id)
    redis.call('HSET', job_prefix .. id, 'status', 'scheduled', 'jq_due_ms', at)
    add_metrics(prefixes, now, {'paced', 1})
    return false
  end

  for i = 0, nq - 1 do
    local high, normal, low, sched, active, rate, ctl, pres =
      K[i*8+1], K[i*8+2], K[i*8+3], K[i*8+4], K[i*8+5], K[i*8+6], K[i*8+7], K[i*8+8]
    local a = 6 + i * 6
    local qname = A[a]
    local prefixes = A[a+3]
    local pace_ms, pace_prefix = tonumber(A[a+4]), A[a+5]
    local holds = 0
    local q = memo and memo[i]
    if not q then
      promote(high, normal, low, sched)
      q = {ctl = redis.call('HMGET', ctl, 'paused', 'limit', 'window_ms'), emptied = {}}
      if memo then memo[i] = q end
    end
    local ctlv = q.ctl
    local blocked = ctlv[1] == '1'
    local waiting = 1
    if not blocked then
      if q.pttl == nil then q.pttl = redis.call('PTTL', pres) end
      local pttl = q.pttl
      if pttl > 0 then
        blocked = true
        if pttl < wake then wake = pttl end
        if redis.call('LLEN', high) + redis.call('LLEN', normal) + redis.call('LLEN', low) > 0 then held = 1 end
      end
    end
    if not blocked then
      local limit = tonumber(ctlv[2]) or tonumber(A[a+1])
      local window = tonumber(ctlv[3]) or tonumber(A[a+2])
      if q.rate_n == nil then
        redis.call('ZREMRANGEBYSCORE', rate, '-inf', now - window)
        q.rate_n = redis.call('ZCARD', rate)
      end
      if q.rate_n >= limit then
        blocked = true
        -- only a job that is actually held back counts as a wait and sets the wake-up
        if redis.call('LLEN', high) + redis.call('LLEN', normal) + redis.call('LLEN', low) > 0 then
          local oldest = redis.call('ZRANGE', rate, 0, 0, 'WITHSCORES')
          local free_in = tonumber(oldest[2]) + window - now + 1
          if free_in < wake then wake = free_in end
          held = 1
          add_metrics(prefixes, now, {'rate_limited', 1})
        else
          waiting = 0
        end
      end
    end
    if not blocked then
      for _, list in ipairs({high, normal, low}) do
        local id = not q.emptied[list] and redis.call('LPOP', list)
        while id do
          local jk = job_prefix .. id
          local f = redis.call('HMGET', jk, 'data', 'jq_priority', 'enqueued_at', 'jq_ready_ms', 'jq_pace_key',
            'jq_trail', 'jq_runs')
          local go = f[1] ~= false
          if go and pace_ms > 0 and f[5] then
            go = pace_gate(id, f[5], pace_ms, pace_prefix, sched, prefixes)
            if not go then holds = holds + 1 end
          end
          if go then
            local runs = (tonumber(f[7]) or 0) + 1
            local wait = now - (tonumber(f[4]) or now)
            if wait < 0 then wait = 0 end
            redis.call('HSET', jk, 'status', 'started', 'jq_started_ms', now, 'started_at', rq_utc(now), 'worker_name', token,
              'jq_runs', runs)
            redis.call('ZADD', rate, now, id .. ':' .. now .. ':' .. runs)
            q.rate_n = q.rate_n + 1
            redis.call('ZADD', active, now + lease, id .. '|' .. token)
            if A[5] ~= '' then redis.call('HSET', A[5], 'current_job', id) end  -- '': cluster mode
            add_metrics(prefixes, now, {'started', 1, 'wait:' .. hist_bucket(wait), 1})
            return {qname, id, now, runs, wait, f[1], f[2] or 'normal', f[3] or '', f[6] or '0'}
          end
          if holds >= 200 then return {'', 1, 0} end  -- bounded work per call: come back at once
          id = redis.call('LPOP', list)
        end
        q.emptied[list] = true
      end
      waiting = 0
    end
    if waiting == 0 then
      local nxt = redis.call('ZRANGE', sched, 0, 0, 'WITHSCORES')
      if nxt[2] then
        local due_in = math.ceil(tonumber(nxt[2]) * 1000 - now)
        if due_in < 1 then due_in = 1 end
        if due_in < wake then wake = due_in end
      end
    end
  end
  return {'', wake, held}
end
