"""Fixed log-scale duration buckets, shared by the Lua writers and the Python readers.

Bucket 0 holds durations under 1 ms; bucket b >= 1 holds [BASE**(b-1), BASE**b) ms. With
BASE 1.2 a percentile read from buckets is within 10% of the true value.
"""
from __future__ import annotations

import math
from typing import Mapping

BASE = 1.2
KEEP_MINUTES_S = 49 * 3600  # minute buckets: 48 hours (+1 h margin)
KEEP_HOURS_S = 91 * 24 * 3600  # hour buckets: 90 days (+1 day margin)
KEEP_DAYS_S = 400 * 24 * 3600  # day buckets: a year and a month, so a year-on-year window still reads


def bucket_of(ms: float) -> int:
    if ms < 1:
        return 0
    return math.floor(math.log(ms) / math.log(BASE)) + 1


def bucket_value(bucket: int) -> float:
    """A representative value for a bucket: the geometric middle of its bounds."""
    if bucket <= 0:
        return 0.5
    return BASE ** (bucket - 0.5)


def percentile(counts: Mapping[int, int], q: float) -> float | None:
    """The q-th percentile (0..100) of the durations summarised by bucket counts."""
    total = sum(counts.values())
    if total == 0:
        return None
    rank = q / 100 * total
    seen = 0
    for bucket in sorted(counts):
        seen += counts[bucket]
        if seen >= rank:
            return bucket_value(bucket)
    return bucket_value(max(counts))
