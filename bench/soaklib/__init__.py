"""The soak scenario library: processes, the job plan and producer, faults, ticks, the outbox, checks, report."""
