-- Complete the finished run and take the next job in one round trip.
-- KEYS: the 5 keys of complete_run, then the keys of dequeue_next
-- ARGV: the 7 args of complete_run, then the args of dequeue_next
-- Returns {completed (0/1), dequeue result...}
local done, now = complete_run({unpack(KEYS, 1, 5)}, {unpack(ARGV, 1, 7)})
local out = dequeue_next({unpack(KEYS, 6)}, {unpack(ARGV, 8)}, now)
table.insert(out, 1, done)
return out
