-- Claim one tick unless the schedule is paused: 1 claimed, 0 claimed by another scheduler, -1 paused.
-- KEYS: schedule state hash, tick claim key; ARGV: claim ttl_s
if redis.call('HGET', KEYS[1], 'enabled') == '0' then return -1 end
if redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[1]) then return 1 end
return 0
