return dequeue_next(KEYS, ARGV)
