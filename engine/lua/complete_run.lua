return complete_run(KEYS, ARGV)
