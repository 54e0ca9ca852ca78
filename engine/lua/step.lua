-- Complete the finished run and take the next job in one round trip.
-- KEYS: the 5 keys of complete_run, then the keys of dequeue_next
-- ARGV: the 6 args of complete_run, then the args of dequeue_next
-- Returns {completed (0/1), dequeue result...}
local done, now = complete_run({unpack(KEYS, 1, 5)}, {unpack(ARGV, 1, 6)})
local out = dequeue_next({unpack(KEYS, 6)}, {unpack(ARGV, 7)}, now)
table.insert(out, 1, done)
return out
