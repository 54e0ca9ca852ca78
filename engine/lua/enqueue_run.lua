return enqueue_job(KEYS, ARGV)
