#!lua flags=allow-oom
-- Cluster mode's half of the heartbeat (heartbeat.lua writes the registry, in its own slot): extend the
-- running job's lease and read its cancel-request time. Allowed on a full server, like the heartbeat.
-- KEYS: active, the running job. ARGV: member, lease_ms, cancel-request field
-- Returns {now_ms, cancel_ms or false}
local now = server_now_ms()
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), ARGV[1])
return {now, redis.call('HGET', KEYS[2], ARGV[3])}
