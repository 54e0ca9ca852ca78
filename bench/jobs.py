"""Job functions for the benchmarks (importable by worker processes)."""


def noop(**data):
    return None


def fail(**data):
    raise RuntimeError("benchmark failure")


def sleep(seconds: float = 60.0, **data):
    import time

    time.sleep(seconds)
