"""A small library for bench scenarios: server and worker processes, load drivers, reports.

- processes: child processes in their own groups, their environment, stopping them;
- servers: a restartable durable Valkey, short direct connections, polling;
- sentinel: a primary, a replica and three Sentinels on loopback;
- load: a paced producer and supervised worker processes;
- report: a report's pass/fail checks and its text table.
"""
