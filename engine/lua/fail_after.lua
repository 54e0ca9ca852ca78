-- A finished job whose effect failed afterwards (a provider reported the accepted message undeliverable):
-- it joins the one failure ladder as a dead letter. Runs before fail.lua with the same KEYS and ARGV,
-- plus KEYS[16] = the finished registry. Only a finished job: 0 otherwise (already failed, retried, gone).
if redis.call('HGET', KEYS[2], 'status') ~= 'finished' then return 0 end
redis.call('ZREM', KEYS[16], ARGV[2])
redis.call('ZADD', KEYS[1], 0, ARGV[1])  -- fail.lua takes the job out of the active set it holds
