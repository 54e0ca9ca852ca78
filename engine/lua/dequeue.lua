-- Take the next job a worker may start, from several queues, atomically on the server clock.
-- For each queue: promote due scheduled jobs, then skip it when paused, back-pressured or at its
-- rate limit, else pop high > normal > low into the active set with a lease.
-- K: per queue 8 keys: high, normal, low, scheduled, active, rate, control, pressure
-- A: token, lease_ms, job_prefix, n_queues, worker hash key, then per queue 4: name, limit, window_ms, minute-metrics prefix
-- Returns {queue, job_id, now_ms, runs, wait_ms, data, priority, enqueued_at} or {'', wake_in_ms, held}
-- where held is 1 when jobs wait only for the rate limit or provider back-pressure (not a pause).
local function dequeue_next(K, A, now)
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

  for i = 0, nq - 1 do
    local high, normal, low, sched, active, rate, ctl, pres =
      K[i*8+1], K[i*8+2], K[i*8+3], K[i*8+4], K[i*8+5], K[i*8+6], K[i*8+7], K[i*8+8]
    local a = 6 + i * 4
    local qname = A[a]
    local prefixes = A[a+3]
    promote(high, normal, low, sched)
    local ctlv = redis.call('HMGET', ctl, 'paused', 'limit', 'window_ms')
    local blocked = ctlv[1] == '1'
    local waiting = 1
    if not blocked then
      local pttl = redis.call('PTTL', pres)
      if pttl > 0 then
        blocked = true
        if pttl < wake then wake = pttl end
        if redis.call('LLEN', high) + redis.call('LLEN', normal) + redis.call('LLEN', low) > 0 then held = 1 end
      end
    end
    if not blocked then
      local limit = tonumber(ctlv[2]) or tonumber(A[a+1])
      local window = tonumber(ctlv[3]) or tonumber(A[a+2])
      redis.call('ZREMRANGEBYSCORE', rate, '-inf', now - window)
      if redis.call('ZCARD', rate) >= limit then
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
        local id = redis.call('LPOP', list)
        while id do
          local jk = job_prefix .. id
          local f = redis.call('HMGET', jk, 'data', 'jq_priority', 'enqueued_at', 'jq_ready_ms')
          if f[1] then
            local runs = redis.call('HINCRBY', jk, 'jq_runs', 1)
            local wait = now - (tonumber(f[4]) or now)
            if wait < 0 then wait = 0 end
            redis.call('HSET', jk, 'status', 'started', 'jq_started_ms', now, 'started_at', rq_utc(now), 'worker_name', token)
            redis.call('ZADD', rate, now, id .. ':' .. now .. ':' .. runs)
            redis.call('ZADD', active, now + lease, id .. '|' .. token)
            redis.call('HSET', A[5], 'current_job', id)
            add_metrics(prefixes, now, {'started', 1, 'wait:' .. hist_bucket(wait), 1})
            return {qname, id, now, runs, wait, f[1], f[2] or 'normal', f[3] or ''}
          end
          id = redis.call('LPOP', list)
        end
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
